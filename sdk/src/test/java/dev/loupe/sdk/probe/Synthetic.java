package dev.loupe.sdk.probe;

import java.util.Random;

/** Seeded synthetic probing data for the tests. */
final class Synthetic {
  final FeatureMatrix x;
  final int[] y;

  Synthetic(FeatureMatrix x, int[] y) {
    this.x = x;
    this.y = y;
  }

  /** Labels from a noisy linear rule over {@code d} Gaussian features (overlapping classes when noise > 0). */
  static Synthetic linear(int n, int d, double noise, long seed) {
    Random r = new Random(seed);
    double[] w = new double[d];
    for (int j = 0; j < d; j++) {
      w[j] = r.nextGaussian();
    }
    float[] x = new float[n * d];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      double z = 0.3;
      for (int j = 0; j < d; j++) {
        float v = (float) r.nextGaussian();
        x[i * d + j] = v;
        z += w[j] * v;
      }
      y[i] = z + noise * r.nextGaussian() > 0 ? 1 : 0;
    }
    return new Synthetic(FeatureMatrix.of(x, n, d), y);
  }

  /** K Gaussian clusters with random centres at distance ~{@code spread} in d dimensions. */
  static Synthetic clusters(int n, int d, int k, double spread, long seed) {
    Random r = new Random(seed);
    double[][] centres = new double[k][d];
    for (double[] c : centres) {
      for (int j = 0; j < d; j++) {
        c[j] = spread * r.nextGaussian() / Math.sqrt(d);
      }
    }
    float[] x = new float[n * d];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % k;
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (float) (centres[y[i]][j] + r.nextGaussian());
      }
    }
    return new Synthetic(FeatureMatrix.of(x, n, d), y);
  }

  static int[] range(int from, int to) {
    int[] out = new int[to - from];
    for (int i = from; i < to; i++) {
      out[i - from] = i;
    }
    return out;
  }
}
