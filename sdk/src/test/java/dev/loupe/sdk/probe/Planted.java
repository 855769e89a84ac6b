package dev.loupe.sdk.probe;

import java.util.Random;

/**
 * Synthetic "activations" with a binary feature planted either in one dedicated neuron or spread
 * over four neurons, among pure-noise neurons: the two cases of Gurnee et al. that a probe suite
 * must tell apart.
 */
final class Planted {
  static final int DEDICATED = 7;
  static final int[] SPREAD = {3, 11, 19, 28};

  /** Neuron 7 alone separates the classes (mean shift of 4 standard deviations). */
  static Synthetic dedicated(int n, int d, long seed) {
    Random r = new Random(seed);
    float[] x = noise(r, n, d);
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
      x[i * d + DEDICATED] += 4 * y[i];
    }
    return of(x, y, n, d);
  }

  /** The label is the sign of the sum of four neurons; each alone predicts it only weakly. */
  static Synthetic spread(int n, int d, long seed) {
    Random r = new Random(seed);
    float[] x = noise(r, n, d);
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j : SPREAD) {
        s += x[i * d + j];
      }
      y[i] = s > 0 ? 1 : 0;
    }
    return of(x, y, n, d);
  }

  private static float[] noise(Random r, int n, int d) {
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    return x;
  }

  private static Synthetic of(float[] x, int[] y, int n, int d) {
    return new Synthetic(FeatureMatrix.of(x, n, d), y);
  }
}
