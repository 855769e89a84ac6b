package dev.loupe.sdk.probe;

/**
 * Logistic-regression probe trainer: binary (sigmoid) or multinomial (softmax) with an L2 or L1
 * penalty, solved to convergence by L-BFGS with a strong Wolfe line search (OWL-QN for L1). The
 * objective is scikit-learn's, {@code 0.5 * ||w||^2 + C * sum_i logloss_i} (or {@code ||w||_1 + C *
 * sum_i logloss_i}), intercepts unpenalised, so a fit with the same C is comparable with
 * {@code sklearn.linear_model.LogisticRegression(C=C)}. Immutable and thread-safe; build with
 * {@link #builder()}.
 */
public final class LogisticRegression {
  /** The penalty on the weights (never on intercepts). */
  public enum Penalty {
    L2, L1
  }

  private final double c;
  private final Penalty penalty;
  private final boolean fitIntercept;
  private final boolean standardize;
  private final double tolerance;
  private final int maxIterations;
  private final int memory;
  private final int threads;

  private LogisticRegression(Builder b) {
    this.c = b.c;
    this.penalty = b.penalty;
    this.fitIntercept = b.fitIntercept;
    this.standardize = b.standardize;
    this.tolerance = b.tolerance;
    this.maxIterations = b.maxIterations;
    this.memory = b.memory;
    this.threads = b.threads;
  }

  /** C = 1, L2, intercept, no standardisation, tolerance 1e-6, 1000 iterations, all processors. */
  public static LogisticRegression defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public double c() {
    return c;
  }

  public Penalty penalty() {
    return penalty;
  }

  public boolean fitIntercept() {
    return fitIntercept;
  }

  public boolean standardize() {
    return standardize;
  }

  public double tolerance() {
    return tolerance;
  }

  public int maxIterations() {
    return maxIterations;
  }

  /** A builder holding these options, to derive a variant. */
  public Builder toBuilder() {
    return new Builder().c(c).penalty(penalty).fitIntercept(fitIntercept).standardize(standardize)
        .tolerance(tolerance).maxIterations(maxIterations).memory(memory).threads(threads);
  }

  /**
   * Fits a probe on every row of {@code features}; {@code labels[i]} is the class (0..K-1) of row i.
   * Two classes give a binary model, more a multinomial one.
   *
   * @throws IllegalArgumentException when features or labels are null, their lengths differ, there
   *     are no examples, only one class, or a class index in 0..K-1 that never occurs
   */
  public LogisticModel fit(FeatureMatrix features, int[] labels) {
    return fit(features, labels, null);
  }

  /** As {@link #fit(FeatureMatrix, int[])}, fitted on the given rows only. */
  public LogisticModel fit(FeatureMatrix features, int[] labels, int[] rows) {
    ProbeInputs.requireFeatures(features);
    if (rows != null) {
      ProbeInputs.classes(features, labels);
      ProbeInputs.rows("rows", rows, features.rows());
      return fitFrom(features.select(rows, null), ProbeInputs.pick(labels, rows), null);
    }
    return fitFrom(features, labels, null);
  }

  /**
   * Fits starting from {@code start} (parameters in the standardised layout of
   * {@link LogisticModel#parameters()}, or null for zeros); used to warm-start nested refits.
   */
  LogisticModel fitFrom(FeatureMatrix features, int[] labels, double[] start) {
    long t0 = System.nanoTime();
    int classes = ProbeInputs.classes(features, labels);
    int n = features.rows();
    int d = features.cols();
    double[] mean = new double[d];
    double[] scale = new double[d];
    java.util.Arrays.fill(scale, 1.0);
    if (standardize) {
      columnMoments(features, mean, scale);
      if (!fitIntercept) {
        // Without an intercept, centring would change the model family, so only scale.
        java.util.Arrays.fill(mean, 0.0);
      }
    }
    LogisticObjective objective = new LogisticObjective(features, labels, classes, fitIntercept, mean, scale,
        c, penalty == Penalty.L2, threads);
    double[] x0 = start != null ? start.clone() : new double[objective.parameterCount()];
    if (x0.length != objective.parameterCount()) {
      throw new IllegalArgumentException("start: expected " + objective.parameterCount() + " parameters, got "
          + x0.length);
    }
    // The same stopping rule as scikit-learn's lbfgs (max |gradient| of the mean-scaled objective <= tol).
    Lbfgs solver = new Lbfgs(memory, maxIterations, tolerance * c * n);
    Lbfgs.Result result = penalty == Penalty.L2
        ? solver.minimize(objective, x0)
        : solver.minimizeL1(objective, x0, objective.l1Weights());
    double[] theta = result.x();
    int outputs = objective.outputs();
    if (outputs > 1 && fitIntercept) {
      // Softmax intercepts are defined up to a shared constant; centre them as scikit-learn's stay centred.
      double s = 0;
      for (int o = 0; o < outputs; o++) {
        s += theta[outputs * d + o];
      }
      for (int o = 0; o < outputs; o++) {
        theta[outputs * d + o] -= s / outputs;
      }
    }
    FitReport report = new FitReport(result.iterations(), result.evaluations(), result.value(),
        result.gradientNorm(), result.stop() == Lbfgs.Stop.GRADIENT_TOLERANCE || result.stop() == Lbfgs.Stop.NO_PROGRESS,
        FitReport.Stop.valueOf(result.stop().name()), (System.nanoTime() - t0) / 1e9);
    return new LogisticModel(classes, d, outputs, fitIntercept, theta, mean, scale, report);
  }

  private static void columnMoments(FeatureMatrix features, double[] mean, double[] scale) {
    int n = features.rows();
    int d = features.cols();
    float[] x = features.values();
    double[] sq = new double[d];
    for (int i = 0; i < n; i++) {
      int off = i * d;
      for (int j = 0; j < d; j++) {
        mean[j] += x[off + j];
      }
    }
    for (int j = 0; j < d; j++) {
      mean[j] /= n;
    }
    for (int i = 0; i < n; i++) {
      int off = i * d;
      for (int j = 0; j < d; j++) {
        double v = x[off + j] - mean[j];
        sq[j] += v * v;
      }
    }
    for (int j = 0; j < d; j++) {
      double sd = Math.sqrt(sq[j] / n);
      // A constant column carries no signal; scale 1 keeps its weight at zero instead of dividing by 0.
      scale[j] = sd > 0 ? sd : 1.0;
    }
  }

  @Override
  public String toString() {
    return "LogisticRegression[C=" + c + ", penalty=" + penalty + ", intercept=" + fitIntercept + ", standardize="
        + standardize + ", tol=" + tolerance + ", maxIterations=" + maxIterations + "]";
  }

  /** Options, validated as they are set. */
  public static final class Builder {
    private double c = 1.0;
    private Penalty penalty = Penalty.L2;
    private boolean fitIntercept = true;
    private boolean standardize;
    private double tolerance = 1e-6;
    private int maxIterations = 1000;
    private int memory = 10;
    private int threads = Runtime.getRuntime().availableProcessors();

    private Builder() {
    }

    /** Inverse penalty strength C = 1 / lambda, as in scikit-learn; must be positive and finite. */
    public Builder c(double c) {
      if (!(c > 0) || !Double.isFinite(c)) {
        throw new IllegalArgumentException("c: expected a positive finite inverse penalty strength, got " + c);
      }
      this.c = c;
      return this;
    }

    public Builder penalty(Penalty penalty) {
      if (penalty == null) {
        throw new IllegalArgumentException("penalty: expected L2 or L1, got null");
      }
      this.penalty = penalty;
      return this;
    }

    public Builder fitIntercept(boolean fitIntercept) {
      this.fitIntercept = fitIntercept;
      return this;
    }

    /**
     * Fit on features centred and scaled to unit variance (computed on the training rows); the model's
     * {@link LogisticModel#coefficients()} are still in raw feature units. Changes what the penalty
     * means, so scikit-learn agreement then needs a StandardScaler in front of it.
     */
    public Builder standardize(boolean standardize) {
      this.standardize = standardize;
      return this;
    }

    /** Stop when max |gradient| of the objective divided by C * n is at most this (scikit-learn's tol). */
    public Builder tolerance(double tolerance) {
      if (!(tolerance > 0) || !Double.isFinite(tolerance)) {
        throw new IllegalArgumentException("tolerance: expected a positive finite number, got " + tolerance);
      }
      this.tolerance = tolerance;
      return this;
    }

    public Builder maxIterations(int maxIterations) {
      if (maxIterations < 1) {
        throw new IllegalArgumentException("maxIterations: expected at least 1, got " + maxIterations);
      }
      this.maxIterations = maxIterations;
      return this;
    }

    /** Number of L-BFGS curvature pairs kept (default 10, like scikit-learn's). */
    public Builder memory(int memory) {
      if (memory < 1) {
        throw new IllegalArgumentException("memory: expected at least 1 curvature pair, got " + memory);
      }
      this.memory = memory;
      return this;
    }

    /** Parallel row blocks per objective evaluation (run on the common fork-join pool); 1 = this thread only. */
    public Builder threads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("threads: expected at least 1, got " + threads);
      }
      this.threads = threads;
      return this;
    }

    public LogisticRegression build() {
      return new LogisticRegression(this);
    }
  }
}
