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
    // Effective weights in raw feature units, stored feature-major (d x outputs) so the inner loops
    // run over outputs contiguously.
    double[] wt = new double[d * outputs];
    double[] b = new double[outputs];
    for (int o = 0; o < outputs; o++) {
      double shift = intercept ? theta[outputs * d + o] : 0;
      for (int j = 0; j < d; j++) {
        double w = theta[o * d + j] / scale[j];
        wt[j * outputs + o] = w;
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
      double[] g = new double[d * outputs];
      double[] r = new double[outputs];
      partialLoss[t] = outputs == 1
          ? binaryBlock(from, to, wt, b[0], g, r)
          : softmaxBlock(from, to, wt, b, g, r);
      partialGrad[t] = g;
      partialResidual[t] = r;
    });
    double loss = 0;
    double[] g = new double[d * outputs];
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
        double gj = c * (g[j * outputs + o] - mean[j] * r[o]) / scale[j];
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

  private double binaryBlock(int from, int to, double[] w, double b, double[] g, double[] r) {
    double loss = 0;
    double rSum = 0;
    for (int i = from; i < to; i++) {
      int off = i * d;
      double z = b + dot(w, off);
      double m = y[i] == 1 ? -z : z;
      // log(1 + exp(m)) without overflow
      loss += m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
      double p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
      double res = p - y[i];
      rSum += res;
      for (int j = 0; j < d; j++) {
        g[j] += res * x[off + j];
      }
    }
    r[0] = rSum;
    return loss;
  }

  private double dot(double[] w, int off) {
    double s0 = 0;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    int j = 0;
    for (; j + 3 < d; j += 4) {
      s0 += w[j] * x[off + j];
      s1 += w[j + 1] * x[off + j + 1];
      s2 += w[j + 2] * x[off + j + 2];
      s3 += w[j + 3] * x[off + j + 3];
    }
    for (; j < d; j++) {
      s0 += w[j] * x[off + j];
    }
    return (s0 + s1) + (s2 + s3);
  }

  private double softmaxBlock(int from, int to, double[] wt, double[] b, double[] g, double[] r) {
    int k = outputs;
    double[] z = new double[k];
    double loss = 0;
    for (int i = from; i < to; i++) {
      int off = i * d;
      System.arraycopy(b, 0, z, 0, k);
      for (int j = 0; j < d; j++) {
        double xj = x[off + j];
        int base = j * k;
        for (int o = 0; o < k; o++) {
          z[o] += xj * wt[base + o];
        }
      }
      double max = Double.NEGATIVE_INFINITY;
      for (int o = 0; o < k; o++) {
        max = Math.max(max, z[o]);
      }
      int yi = y[i];
      double shiftedTrue = z[yi] - max;
      double sum = 0;
      for (int o = 0; o < k; o++) {
        z[o] = Math.exp(z[o] - max);
        sum += z[o];
      }
      loss += Math.log(sum) - shiftedTrue;
      for (int o = 0; o < k; o++) {
        z[o] = z[o] / sum - (o == yi ? 1 : 0);
        r[o] += z[o];
      }
      for (int j = 0; j < d; j++) {
        double xj = x[off + j];
        int base = j * k;
        for (int o = 0; o < k; o++) {
          g[base + o] += xj * z[o];
        }
      }
    }
    return loss;
  }
}
