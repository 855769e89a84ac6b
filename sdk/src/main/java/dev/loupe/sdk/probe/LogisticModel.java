package dev.loupe.sdk.probe;

/**
 * A fitted logistic-regression probe: coefficients and intercepts in raw feature units, predictions
 * and how the fit converged. Binary models have one weight vector (class 1 versus 0, as in
 * scikit-learn), multinomial models one per class. Immutable and thread-safe.
 */
public final class LogisticModel {
  private final int classes;
  private final int features;
  private final int outputs;
  private final boolean intercept;
  private final double[] parameters;
  private final double[][] weights;
  private final double[] bias;
  private final FitReport report;

  LogisticModel(int classes, int features, int outputs, boolean intercept, double[] parameters, double[] mean,
      double[] scale, FitReport report) {
    this.classes = classes;
    this.features = features;
    this.outputs = outputs;
    this.intercept = intercept;
    this.parameters = parameters;
    this.report = report;
    this.weights = new double[outputs][features];
    this.bias = new double[outputs];
    for (int o = 0; o < outputs; o++) {
      double b = intercept ? parameters[outputs * features + o] : 0;
      for (int j = 0; j < features; j++) {
        weights[o][j] = parameters[o * features + j] / scale[j];
        b -= weights[o][j] * mean[j];
      }
      bias[o] = b;
    }
  }

  public int classes() {
    return classes;
  }

  /** Number of feature columns the model reads. */
  public int features() {
    return features;
  }

  /** One row for a binary model (class 1's log-odds), K rows for K > 2 classes; a copy, raw units. */
  public double[][] coefficients() {
    double[][] out = new double[outputs][];
    for (int o = 0; o < outputs; o++) {
      out[o] = weights[o].clone();
    }
    return out;
  }

  /** One value per coefficient row; zeros when fitted without intercept; a copy. */
  public double[] intercepts() {
    return bias.clone();
  }

  public FitReport report() {
    return report;
  }

  /** The solver's parameters (standardised units), to warm-start a related fit. */
  double[] parameters() {
    return parameters.clone();
  }

  boolean hasIntercept() {
    return intercept;
  }

  /**
   * Linear scores per row: {@code n x 1} (log-odds of class 1) for binary models, {@code n x K} for
   * multinomial ones.
   *
   * @throws IllegalArgumentException when the column count differs from {@link #features()}
   */
  public double[][] scores(FeatureMatrix x) {
    requireShape(x);
    int n = x.rows();
    float[] v = x.values();
    double[][] out = new double[n][outputs];
    for (int i = 0; i < n; i++) {
      int off = i * features;
      for (int o = 0; o < outputs; o++) {
        double[] w = weights[o];
        double s = bias[o];
        for (int j = 0; j < features; j++) {
          s += w[j] * v[off + j];
        }
        out[i][o] = s;
      }
    }
    return out;
  }

  /** Binary models only: the log-odds of class 1 per row (for ROC AUC). */
  public double[] positiveScores(FeatureMatrix x) {
    if (outputs != 1) {
      throw new IllegalStateException("positiveScores: the model has " + classes + " classes; expected a binary model");
    }
    double[][] s = scores(x);
    double[] out = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      out[i] = s[i][0];
    }
    return out;
  }

  /** Class probabilities per row, {@code n x classes}. */
  public double[][] probabilities(FeatureMatrix x) {
    double[][] s = scores(x);
    double[][] out = new double[s.length][classes];
    for (int i = 0; i < s.length; i++) {
      if (outputs == 1) {
        double z = s[i][0];
        double p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
        out[i][0] = 1 - p;
        out[i][1] = p;
      } else {
        double max = Double.NEGATIVE_INFINITY;
        for (double z : s[i]) {
          max = Math.max(max, z);
        }
        double sum = 0;
        for (int k = 0; k < classes; k++) {
          out[i][k] = Math.exp(s[i][k] - max);
          sum += out[i][k];
        }
        for (int k = 0; k < classes; k++) {
          out[i][k] /= sum;
        }
      }
    }
    return out;
  }

  /** The most probable class per row (class 1 when its log-odds are positive, ties to the lower class). */
  public int[] predict(FeatureMatrix x) {
    double[][] s = scores(x);
    int[] out = new int[s.length];
    for (int i = 0; i < s.length; i++) {
      if (outputs == 1) {
        out[i] = s[i][0] > 0 ? 1 : 0;
      } else {
        int best = 0;
        for (int k = 1; k < classes; k++) {
          if (s[i][k] > s[i][best]) {
            best = k;
          }
        }
        out[i] = best;
      }
    }
    return out;
  }

  private void requireShape(FeatureMatrix x) {
    ProbeInputs.requireFeatures(x);
    if (x.cols() != features) {
      throw new IllegalArgumentException("features: got " + x.cols() + " columns; expected " + features
          + " as in the training data");
    }
  }

  @Override
  public String toString() {
    return "LogisticModel[classes=" + classes + ", features=" + features + ", " + report + "]";
  }
}
