package dev.loupe.sdk.probe;

/**
 * Limited-memory BFGS minimiser for smooth objectives, with a line search meeting the strong Wolfe
 * conditions, and its orthant-wise variant (OWL-QN) for an added weighted L1 term. Used by the probes
 * in this package; plain double arrays, single-threaded control (the objective may be parallel).
 */
final class Lbfgs {
  /** Fills {@code gradient} at {@code x} and returns the objective value. */
  interface Objective {
    double evaluate(double[] x, double[] gradient);
  }

  /** Why the minimiser stopped. */
  enum Stop {
    GRADIENT_TOLERANCE, NO_PROGRESS, MAX_ITERATIONS, LINE_SEARCH_FAILED
  }

  record Result(double[] x, double value, double gradientNorm, int iterations, int evaluations, Stop stop) {
  }

  private static final double C1 = 1e-4;
  private static final double C2 = 0.9;
  private static final int MAX_LINE_SEARCH = 50;
  // scipy's L-BFGS-B, as sklearn calls it, stops on a relative decrease below 64 machine epsilons.
  private static final double FTOL = 64 * Math.ulp(1.0);

  private final int memory;
  private final int maxIterations;
  private final double gradientTolerance;

  Lbfgs(int memory, int maxIterations, double gradientTolerance) {
    this.memory = memory;
    this.maxIterations = maxIterations;
    this.gradientTolerance = gradientTolerance;
  }

  /** Minimises {@code f} from {@code x0} (not changed); stops when the gradient's max-norm is at most the tolerance. */
  Result minimize(Objective f, double[] x0) {
    return run(f, x0, null);
  }

  /**
   * Minimises {@code f(x) + sum_i l1[i] * |x_i|} by OWL-QN (Andrew and Gao 2007): quasi-Newton steps on
   * the pseudo-gradient, kept inside the current orthant, with a backtracking line search.
   */
  Result minimizeL1(Objective f, double[] x0, double[] l1) {
    return run(f, x0, l1);
  }

  private Result run(Objective f, double[] x0, double[] l1) {
    int n = x0.length;
    double[] x = x0.clone();
    double[] g = new double[n];
    double value = f.evaluate(x, g) + l1Norm(x, l1);
    int evaluations = 1;
    History history = new History(memory, n);
    double[] pg = new double[n];
    double[] d = new double[n];
    double[] xNew = new double[n];
    double[] gNew = new double[n];
    int iteration = 0;
    while (true) {
      pseudoGradient(x, g, l1, pg);
      double gradNorm = maxAbs(pg);
      if (gradNorm <= gradientTolerance) {
        return new Result(x, value, gradNorm, iteration, evaluations, Stop.GRADIENT_TOLERANCE);
      }
      if (iteration >= maxIterations) {
        return new Result(x, value, gradNorm, iteration, evaluations, Stop.MAX_ITERATIONS);
      }
      iteration++;
      history.direction(pg, d);
      if (l1 != null) {
        for (int i = 0; i < n; i++) {
          if (d[i] * pg[i] >= 0) {
            d[i] = 0;
          }
        }
      }
      double slope = dot(pg, d);
      if (!(slope < 0)) {
        // The curvature pairs no longer give a descent direction: fall back to steepest descent.
        history.clear();
        for (int i = 0; i < n; i++) {
          d[i] = -pg[i];
        }
        slope = dot(pg, d);
      }
      double step = history.isEmpty() ? Math.min(1.0, 1.0 / norm2(pg)) : 1.0;
      LineSearch ls = l1 == null
          ? wolfe(f, x, value, g, d, slope, step, xNew, gNew)
          : orthantBacktrack(f, x, value, pg, d, l1, step, xNew, gNew);
      evaluations += ls.evaluations;
      if (!ls.ok) {
        if (!history.isEmpty()) {
          history.clear();
          iteration--;
          continue;
        }
        return new Result(x, value, gradNorm, iteration, evaluations, Stop.LINE_SEARCH_FAILED);
      }
      history.add(x, xNew, g, gNew);
      double previous = value;
      value = ls.value;
      System.arraycopy(xNew, 0, x, 0, n);
      System.arraycopy(gNew, 0, g, 0, n);
      if ((previous - value) <= FTOL * Math.max(Math.max(Math.abs(previous), Math.abs(value)), 1.0)) {
        pseudoGradient(x, g, l1, pg);
        double norm = maxAbs(pg);
        return new Result(x, value, norm, iteration, evaluations,
            norm <= gradientTolerance ? Stop.GRADIENT_TOLERANCE : Stop.NO_PROGRESS);
      }
    }
  }

  private record LineSearch(boolean ok, double value, int evaluations) {
  }

  /** Strong Wolfe line search (Nocedal and Wright, algorithms 3.5 and 3.6) with cubic interpolation. */
  private static LineSearch wolfe(Objective f, double[] x, double f0, double[] g0, double[] d, double slope0,
      double initialStep, double[] xOut, double[] gOut) {
    int evals = 0;
    double prevStep = 0;
    double prevValue = f0;
    double prevSlope = slope0;
    double step = initialStep;
    for (int i = 0; i < MAX_LINE_SEARCH; i++) {
      double value = probe(f, x, d, step, xOut, gOut);
      evals++;
      double slope = dot(gOut, d);
      if (!Double.isFinite(value)) {
        // Overflowed: shrink towards the last good point instead of bracketing on infinity.
        step = prevStep + 0.1 * (step - prevStep);
        continue;
      }
      if (value > f0 + C1 * step * slope0 || (i > 0 && value >= prevValue)) {
        return zoom(f, x, f0, slope0, d, prevStep, prevValue, prevSlope, step, value, slope, xOut, gOut, evals);
      }
      if (Math.abs(slope) <= -C2 * slope0) {
        return new LineSearch(true, value, evals);
      }
      if (slope >= 0) {
        return zoom(f, x, f0, slope0, d, step, value, slope, prevStep, prevValue, prevSlope, xOut, gOut, evals);
      }
      double next = cubicMinimizer(prevStep, prevValue, prevSlope, step, value, slope);
      // Extrapolate by at least 2x and at most 10x so the bracket grows quickly but safely.
      if (!Double.isFinite(next) || next < 2 * step || next > 10 * step) {
        next = 2 * step;
      }
      prevStep = step;
      prevValue = value;
      prevSlope = slope;
      step = next;
    }
    return new LineSearch(false, f0, evals);
  }

  private static LineSearch zoom(Objective f, double[] x, double f0, double slope0, double[] d,
      double lo, double fLo, double sLo, double hi, double fHi, double sHi,
      double[] xOut, double[] gOut, int evals) {
    double bestStep = lo;
    for (int i = 0; i < MAX_LINE_SEARCH; i++) {
      double width = hi - lo;
      double step = cubicMinimizer(lo, fLo, sLo, hi, fHi, sHi);
      double a = Math.min(lo, hi);
      double b = Math.max(lo, hi);
      double margin = 0.1 * Math.abs(width);
      if (!Double.isFinite(step) || step < a + margin || step > b - margin) {
        step = lo + 0.5 * width;
      }
      if (Math.abs(width) <= 1e-16 * Math.max(1, Math.abs(lo))) {
        break;
      }
      double value = probe(f, x, d, step, xOut, gOut);
      evals++;
      double slope = dot(gOut, d);
      if (!Double.isFinite(value) || value > f0 + C1 * step * slope0 || value >= fLo) {
        hi = step;
        fHi = Double.isFinite(value) ? value : Double.MAX_VALUE;
        sHi = Double.isFinite(slope) ? slope : 0;
      } else {
        if (Math.abs(slope) <= -C2 * slope0) {
          return new LineSearch(true, value, evals);
        }
        if (slope * (hi - lo) >= 0) {
          hi = lo;
          fHi = fLo;
          sHi = sLo;
        }
        lo = step;
        fLo = value;
        sLo = slope;
        bestStep = lo;
      }
    }
    // The interval collapsed (rounding-level progress): accept the best sufficient-decrease point if any.
    if (bestStep > 0 && fLo < f0) {
      double value = probe(f, x, d, bestStep, xOut, gOut);
      return new LineSearch(true, value, evals + 1);
    }
    return new LineSearch(false, f0, evals);
  }

  /** Minimiser of the cubic through two points with their values and slopes, or NaN when it has none. */
  private static double cubicMinimizer(double a, double fa, double sa, double b, double fb, double sb) {
    double d1 = sa + sb - 3 * (fa - fb) / (a - b);
    double disc = d1 * d1 - sa * sb;
    if (disc < 0 || a == b) {
      return Double.NaN;
    }
    double d2 = Math.signum(b - a) * Math.sqrt(disc);
    return b - (b - a) * (sb + d2 - d1) / (sb - sa + 2 * d2);
  }

  private static double probe(Objective f, double[] x, double[] d, double step, double[] xOut, double[] gOut) {
    for (int i = 0; i < x.length; i++) {
      xOut[i] = x[i] + step * d[i];
    }
    return f.evaluate(xOut, gOut);
  }

  /** OWL-QN's projected backtracking: the new point keeps the orthant of x (or of -pg where x is 0). */
  private static LineSearch orthantBacktrack(Objective f, double[] x, double f0, double[] pg, double[] d,
      double[] l1, double initialStep, double[] xOut, double[] gOut) {
    int n = x.length;
    double step = initialStep;
    for (int i = 0; i < MAX_LINE_SEARCH; i++) {
      for (int j = 0; j < n; j++) {
        double orthant = x[j] != 0 ? Math.signum(x[j]) : -Math.signum(pg[j]);
        double v = x[j] + step * d[j];
        xOut[j] = v * orthant > 0 ? v : 0;
      }
      double value = f.evaluate(xOut, gOut) + l1Norm(xOut, l1);
      double decrease = 0;
      for (int j = 0; j < n; j++) {
        decrease += pg[j] * (xOut[j] - x[j]);
      }
      if (Double.isFinite(value) && value <= f0 + C1 * decrease) {
        return new LineSearch(true, value, i + 1);
      }
      step *= 0.5;
    }
    return new LineSearch(false, f0, MAX_LINE_SEARCH);
  }

  private static void pseudoGradient(double[] x, double[] g, double[] l1, double[] pg) {
    if (l1 == null) {
      System.arraycopy(g, 0, pg, 0, g.length);
      return;
    }
    for (int i = 0; i < x.length; i++) {
      double lam = l1[i];
      if (x[i] > 0) {
        pg[i] = g[i] + lam;
      } else if (x[i] < 0) {
        pg[i] = g[i] - lam;
      } else if (g[i] + lam < 0) {
        pg[i] = g[i] + lam;
      } else if (g[i] - lam > 0) {
        pg[i] = g[i] - lam;
      } else {
        pg[i] = 0;
      }
    }
  }

  private static double l1Norm(double[] x, double[] l1) {
    if (l1 == null) {
      return 0;
    }
    double s = 0;
    for (int i = 0; i < x.length; i++) {
      s += l1[i] * Math.abs(x[i]);
    }
    return s;
  }

  static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  private static double norm2(double[] a) {
    return Math.sqrt(dot(a, a));
  }

  static double maxAbs(double[] a) {
    double m = 0;
    for (double v : a) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  /** The last m curvature pairs (s, y) and the two-loop recursion that applies the inverse Hessian estimate. */
  private static final class History {
    private final double[][] s;
    private final double[][] y;
    private final double[] rho;
    private final double[] alpha;
    private int count;
    private int head;

    History(int m, int n) {
      s = new double[m][n];
      y = new double[m][n];
      rho = new double[m];
      alpha = new double[m];
    }

    boolean isEmpty() {
      return count == 0;
    }

    void clear() {
      count = 0;
      head = 0;
    }

    void add(double[] x, double[] xNew, double[] g, double[] gNew) {
      int m = s.length;
      double[] si = s[head];
      double[] yi = y[head];
      double sy = 0;
      double ss = 0;
      double yy = 0;
      for (int i = 0; i < x.length; i++) {
        si[i] = xNew[i] - x[i];
        yi[i] = gNew[i] - g[i];
        sy += si[i] * yi[i];
        ss += si[i] * si[i];
        yy += yi[i] * yi[i];
      }
      // Skip pairs without positive curvature: they would make the estimate indefinite.
      if (sy <= 1e-10 * Math.sqrt(ss * yy)) {
        return;
      }
      rho[head] = 1 / sy;
      head = (head + 1) % m;
      count = Math.min(count + 1, m);
    }

    void direction(double[] grad, double[] d) {
      int n = grad.length;
      int m = s.length;
      for (int i = 0; i < n; i++) {
        d[i] = -grad[i];
      }
      if (count == 0) {
        return;
      }
      for (int k = 0; k < count; k++) {
        int i = Math.floorMod(head - 1 - k, m);
        alpha[i] = rho[i] * dot(s[i], d);
        double a = alpha[i];
        double[] yi = y[i];
        for (int j = 0; j < n; j++) {
          d[j] -= a * yi[j];
        }
      }
      int last = Math.floorMod(head - 1, m);
      double gamma = 1 / (rho[last] * dot(y[last], y[last]));
      for (int j = 0; j < n; j++) {
        d[j] *= gamma;
      }
      for (int k = count - 1; k >= 0; k--) {
        int i = Math.floorMod(head - 1 - k, m);
        double beta = rho[i] * dot(y[i], d);
        double c = alpha[i] - beta;
        double[] si = s[i];
        for (int j = 0; j < n; j++) {
          d[j] += c * si[j];
        }
      }
    }
  }
}
