package dev.loupe.sdk.probe;

import java.util.stream.IntStream;

/**
 * The penalised logistic-regression objective of scikit-learn, {@code penalty(w) + C * sum_i logloss_i},
 * and its gradient, evaluated in parallel over row blocks. Binary problems have one weight vector
 * (sigmoid), K > 2 classes have K (softmax). Optional standardisation is folded into the weights so
 * the features are never copied.
 *
 * <p>Parameter layout: weights {@code theta[o * d + j]} for output o and feature j, then one intercept
 * per output when fitted.
 */
final class LogisticObjective implements Lbfgs.Objective {
  private final float[] x;
  private final int n;
  private final int d;
  private final int[] y;
  private final int outputs;
  private final boolean intercept;
  private final double[] mean;
  private final double[] scale;
  private final double c;
  private final boolean l2;
  private final int tasks;
  private static final int ROWS = 4;

  LogisticObjective(FeatureMatrix features, int[] labels, int classes, boolean intercept, double[] mean,
      double[] scale, double c, boolean l2, int threads) {
    this.x = features.values();
    this.n = features.rows();
    this.d = features.cols();
    this.y = labels;
    this.outputs = classes == 2 ? 1 : classes;
    this.intercept = intercept;
    this.mean = mean;
    this.scale = scale;
    this.c = c;
    this.l2 = l2;
    // Blocks of at least 512 rows: smaller ones cost more in scheduling than they save.
    this.tasks = Math.max(1, Math.min(threads, n / 512));
  }

  int outputs() {
    return outputs;
  }

  int parameterCount() {
    return outputs * d + (intercept ? outputs : 0);
  }

  /** L1 weights for OWL-QN: 1 on every weight, 0 on intercepts (which are never penalised). */
  double[] l1Weights() {
    double[] w = new double[parameterCount()];
    java.util.Arrays.fill(w, 0, outputs * d, 1.0);
    return w;
  }

  @Override
  public double evaluate(double[] theta, double[] grad) {
    // Effective weights in raw feature units (standardisation folded in), output-major like theta.
    double[] we = new double[outputs * d];
    double[] b = new double[outputs];
    for (int o = 0; o < outputs; o++) {
      double shift = intercept ? theta[outputs * d + o] : 0;
      for (int j = 0; j < d; j++) {
        double w = theta[o * d + j] / scale[j];
        we[o * d + j] = w;
        shift -= w * mean[j];
      }
      b[o] = shift;
    }
    double[][] partialGrad = new double[tasks][];
    double[] partialLoss = new double[tasks];
    double[][] partialResidual = new double[tasks][];
    IntStream range = IntStream.range(0, tasks);
    (tasks > 1 ? range.parallel() : range).forEach(t -> {
      int from = (int) ((long) n * t / tasks);
      int to = (int) ((long) n * (t + 1) / tasks);
      double[] g = new double[outputs * d];
      double[] r = new double[outputs];
      partialLoss[t] = block(from, to, we, b, g, r);
      partialGrad[t] = g;
      partialResidual[t] = r;
    });
    double loss = 0;
    double[] g = new double[outputs * d];
    double[] r = new double[outputs];
    for (int t = 0; t < tasks; t++) {
      loss += partialLoss[t];
      double[] pg = partialGrad[t];
      for (int i = 0; i < pg.length; i++) {
        g[i] += pg[i];
      }
      for (int o = 0; o < outputs; o++) {
        r[o] += partialResidual[t][o];
      }
    }
    double value = c * loss;
    for (int o = 0; o < outputs; o++) {
      for (int j = 0; j < d; j++) {
        double w = theta[o * d + j];
        double gj = c * (g[o * d + j] - mean[j] * r[o]) / scale[j];
        if (l2) {
          value += 0.5 * w * w;
          gj += w;
        }
        grad[o * d + j] = gj;
      }
      if (intercept) {
        grad[outputs * d + o] = c * r[o];
      }
    }
    return value;
  }

  /**
   * Loss over rows [from, to) and the sums {@code g[o*d+j] += r_io * x_ij}, {@code r[o] += r_io} of the
   * residuals r = p - onehot(y). Rows go four at a time so each weight load feeds four independent
   * accumulators and each gradient update folds four rows (the loops are memory-bound otherwise).
   */
  private double block(int from, int to, double[] we, double[] b, double[] g, double[] r) {
    int k = outputs;
    double[] z = new double[ROWS * k];
    // The block's rows widened to double once, instead of once per output in each loop below.
    double[] xs = new double[ROWS * d];
    double loss = 0;
    int i = from;
    for (; i + ROWS <= to; i += ROWS) {
      for (int q = 0; q < ROWS * d; q++) {
        xs[q] = x[i * d + q];
      }
      int o1 = d;
      int o2 = 2 * d;
      int o3 = 3 * d;
      for (int o = 0; o < k; o++) {
        int wo = o * d;
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        for (int j = 0; j < d; j++) {
          double w = we[wo + j];
          s0 = Math.fma(w, xs[j], s0);
          s1 = Math.fma(w, xs[o1 + j], s1);
          s2 = Math.fma(w, xs[o2 + j], s2);
          s3 = Math.fma(w, xs[o3 + j], s3);
        }
        z[o] = s0 + b[o];
        z[k + o] = s1 + b[o];
        z[2 * k + o] = s2 + b[o];
        z[3 * k + o] = s3 + b[o];
      }
      for (int q = 0; q < ROWS; q++) {
        loss += residuals(z, q * k, y[i + q], r);
      }
      for (int o = 0; o < k; o++) {
        double r0 = z[o];
        double r1 = z[k + o];
        double r2 = z[2 * k + o];
        double r3 = z[3 * k + o];
        int go = o * d;
        for (int j = 0; j < d; j++) {
          g[go + j] += r0 * xs[j] + r1 * xs[o1 + j] + r2 * xs[o2 + j] + r3 * xs[o3 + j];
        }
      }
    }
    for (; i < to; i++) {
      int off = i * d;
      for (int o = 0; o < k; o++) {
        double s = b[o];
        for (int j = 0; j < d; j++) {
          s += we[o * d + j] * x[off + j];
        }
        z[o] = s;
      }
      loss += residuals(z, 0, y[i], r);
      for (int o = 0; o < k; o++) {
        double ro = z[o];
        int go = o * d;
        for (int j = 0; j < d; j++) {
          g[go + j] += ro * x[off + j];
        }
      }
    }
    return loss;
  }

  /**
   * Turns one row's scores {@code z[at .. at+outputs)} into residuals p - onehot(y) in place, adds them
   * to {@code r} and returns the row's log-loss.
   */
  private double residuals(double[] z, int at, int label, double[] r) {
    if (outputs == 1) {
      double s = z[at];
      double m = label == 1 ? -s : s;
      // log(1 + exp(m)) without overflow
      double loss = m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
      double p = s >= 0 ? 1 / (1 + Math.exp(-s)) : Math.exp(s) / (1 + Math.exp(s));
      z[at] = p - label;
      r[0] += z[at];
      return loss;
    }
    double max = Double.NEGATIVE_INFINITY;
    for (int o = 0; o < outputs; o++) {
      max = Math.max(max, z[at + o]);
    }
    double shiftedTrue = z[at + label] - max;
    double sum = 0;
    for (int o = 0; o < outputs; o++) {
      double e = Math.exp(z[at + o] - max);
      z[at + o] = e;
      sum += e;
    }
    for (int o = 0; o < outputs; o++) {
      double res = z[at + o] / sum - (o == label ? 1 : 0);
      z[at + o] = res;
      r[o] += res;
    }
    return Math.log(sum) - shiftedTrue;
  }
}
