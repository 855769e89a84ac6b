package dev.loupe.sdk.sparse;

import java.util.SplittableRandom;

/**
 * Synthetic ground truth for sparse coders: {@code count} random unit directions in d_in
 * dimensions (more directions than dimensions, so in superposition), each present in a row with
 * probability {@code p} at a magnitude drawn from [0.5, 1.5).
 */
final class PlantedFeatures {
  final int dIn;
  final int count;
  final double p;
  final float[] directions;
  private final SplittableRandom random;

  PlantedFeatures(int dIn, int count, double p, long seed) {
    this.dIn = dIn;
    this.count = count;
    this.p = p;
    this.random = new SplittableRandom(seed);
    this.directions = new float[count * dIn];
    for (int f = 0; f < count; f++) {
      double sq = 0;
      double[] v = new double[dIn];
      for (int i = 0; i < dIn; i++) {
        v[i] = gaussian();
        sq += v[i] * v[i];
      }
      for (int i = 0; i < dIn; i++) {
        directions[f * dIn + i] = (float) (v[i] / Math.sqrt(sq));
      }
    }
  }

  private double gaussian() {
    double u = random.nextDouble();
    double w = random.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w);
  }

  /** {@code rows} rows of d_in values, row-major. */
  float[] batch(int rows) {
    float[] x = new float[rows * dIn];
    for (int r = 0; r < rows; r++) {
      for (int f = 0; f < count; f++) {
        if (random.nextDouble() < p) {
          float mag = (float) (0.5 + random.nextDouble());
          for (int i = 0; i < dIn; i++) {
            x[r * dIn + i] += mag * directions[f * dIn + i];
          }
        }
      }
    }
    return x;
  }

  /** Like {@link #batch} but every row holds at least one planted feature. */
  float[] batchWithAtLeastOneFeature(int rows) {
    float[] x = new float[rows * dIn];
    int r = 0;
    while (r < rows) {
      float[] one = batch(1);
      boolean any = false;
      for (float v : one) {
        any |= v != 0;
      }
      if (any) {
        System.arraycopy(one, 0, x, r * dIn, dIn);
        r++;
      }
    }
    return x;
  }

  /** For each planted direction the best cosine similarity with any decoder row, averaged. */
  double meanMaxCosine(float[] wDec, int dSae) {
    double total = 0;
    for (int f = 0; f < count; f++) {
      double best = -1;
      for (int j = 0; j < dSae; j++) {
        double dot = 0;
        double norm = 0;
        for (int i = 0; i < dIn; i++) {
          dot += (double) directions[f * dIn + i] * wDec[j * dIn + i];
          norm += (double) wDec[j * dIn + i] * wDec[j * dIn + i];
        }
        best = Math.max(best, norm > 0 ? dot / Math.sqrt(norm) : -1);
      }
      total += best;
    }
    return total / count;
  }
}
