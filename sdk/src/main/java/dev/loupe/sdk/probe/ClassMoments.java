package dev.loupe.sdk.probe;

/** Per-class column sums and within-class squared deviations (two passes, no cancellation). */
final class ClassMoments {
  final int cols;
  final double n;
  final double[] count;
  final double[][] sum;
  final double[] total;
  final double[] withinSquares;

  private ClassMoments(int rows, int cols, int k) {
    this.cols = cols;
    this.n = rows;
    this.count = new double[k];
    this.sum = new double[k][cols];
    this.total = new double[cols];
    this.withinSquares = new double[cols];
  }

  static ClassMoments of(FeatureMatrix features, int[] labels, int k) {
    int d = features.cols();
    int n = features.rows();
    float[] x = features.values();
    ClassMoments m = new ClassMoments(n, d, k);
    for (int i = 0; i < n; i++) {
      int off = i * d;
      double[] s = m.sum[labels[i]];
      m.count[labels[i]]++;
      for (int j = 0; j < d; j++) {
        s[j] += x[off + j];
      }
    }
    double[][] mean = new double[k][d];
    for (int c = 0; c < k; c++) {
      for (int j = 0; j < d; j++) {
        m.total[j] += m.sum[c][j];
        mean[c][j] = m.sum[c][j] / m.count[c];
      }
    }
    for (int i = 0; i < n; i++) {
      int off = i * d;
      double[] mu = mean[labels[i]];
      for (int j = 0; j < d; j++) {
        double v = x[off + j] - mu[j];
        m.withinSquares[j] += v * v;
      }
    }
    return m;
  }

  static double sd(FeatureMatrix features, int column) {
    double mean = 0;
    double sq = 0;
    int n = features.rows();
    for (int i = 0; i < n; i++) {
      mean += features.get(i, column);
    }
    mean /= n;
    for (int i = 0; i < n; i++) {
      double v = features.get(i, column) - mean;
      sq += v * v;
    }
    return Math.sqrt(sq / n);
  }
}
