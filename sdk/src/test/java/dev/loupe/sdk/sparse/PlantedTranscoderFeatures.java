package dev.loupe.sdk.sparse;

import java.util.SplittableRandom;

/**
 * Synthetic ground truth for transcoders: {@code count} sparse features, each with a random unit
 * input direction {@code u_i} in d_in dimensions and its own random unit output direction
 * {@code v_i} in d_out dimensions, present in a row with probability {@code p} at a magnitude
 * drawn from [0.5, 1.5): {@code x = sum f_i u_i}, {@code y = sum f_i v_i}, plus, when a dense
 * linear map {@code A [d_in, d_out]} is planted, {@code y += x A} (what a skip connection is for).
 */
final class PlantedTranscoderFeatures {
  final int dIn;
  final int dOut;
  final int count;
  final double p;
  /** The input directions u_i. */
  final PlantedFeatures in;
  /** The output directions v_i. */
  final PlantedFeatures out;
  /** The dense linear part A [d_in, d_out] row-major, or null. */
  final float[] linear;
  private final SplittableRandom random;

  /** A pair of rows: inputs [rows, d_in] and targets [rows, d_out], row-major. */
  record Batch(float[] x, float[] y, int rows) {
  }

  /**
   * @param linearGain scale of the planted dense map's Gaussian entries, times 1/sqrt(d_in) (0: none)
   */
  PlantedTranscoderFeatures(int dIn, int dOut, int count, double p, double linearGain, long seed) {
    this.dIn = dIn;
    this.dOut = dOut;
    this.count = count;
    this.p = p;
    this.in = new PlantedFeatures(dIn, count, p, seed);
    this.out = new PlantedFeatures(dOut, count, p, seed + 7919);
    this.random = new SplittableRandom(seed + 104729);
    if (linearGain > 0) {
      linear = new float[dIn * dOut];
      SplittableRandom r = new SplittableRandom(seed + 1299709);
      for (int i = 0; i < linear.length; i++) {
        double u = r.nextDouble();
        double w = r.nextDouble();
        double g = Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w);
        linear[i] = (float) (g * linearGain / Math.sqrt(dIn));
      }
    } else {
      linear = null;
    }
  }

  Batch batch(int rows) {
    float[] x = new float[rows * dIn];
    float[] y = new float[rows * dOut];
    for (int r = 0; r < rows; r++) {
      for (int f = 0; f < count; f++) {
        if (random.nextDouble() < p) {
          float mag = (float) (0.5 + random.nextDouble());
          for (int i = 0; i < dIn; i++) {
            x[r * dIn + i] += mag * in.directions[f * dIn + i];
          }
          for (int o = 0; o < dOut; o++) {
            y[r * dOut + o] += mag * out.directions[f * dOut + o];
          }
        }
      }
      if (linear != null) {
        for (int o = 0; o < dOut; o++) {
          double acc = 0;
          for (int i = 0; i < dIn; i++) {
            acc += (double) x[r * dIn + i] * linear[i * dOut + o];
          }
          y[r * dOut + o] += (float) acc;
        }
      }
    }
    return new Batch(x, y, rows);
  }

  /** For each planted output direction the best cosine similarity with any decoder row [d_sae, d_out], averaged. */
  double meanMaxCosine(float[] wDec, int dSae) {
    return out.meanMaxCosine(wDec, dSae);
  }

  /**
   * The output directions the sparse code must still write once a learned skip map
   * {@code Â [d_in, d_out]} (raw units) takes its share: {@code y - x Â = sum f_i (v_i + u_i (A - Â))},
   * so feature i's direction is {@code w_i = v_i + u_i (A - Â)} (A = 0 without a planted linear
   * part), normalised. A skip connection makes a transcoder's decoder identifiable only up to
   * such a linear share: any map C can move from the decoder rows (v_i - u_i C) into the skip
   * (A + C) without changing the output.
   */
  PlantedFeatures outputDirectionsGivenSkip(float[] skip) {
    PlantedFeatures w = new PlantedFeatures(dOut, count, p, 0);
    for (int f = 0; f < count; f++) {
      double[] v = new double[dOut];
      double sq = 0;
      for (int o = 0; o < dOut; o++) {
        double acc = out.directions[f * dOut + o];
        for (int i = 0; i < dIn; i++) {
          double a = (linear == null ? 0 : linear[i * dOut + o]) - skip[i * dOut + o];
          acc += in.directions[f * dIn + i] * a;
        }
        v[o] = acc;
        sq += acc * acc;
      }
      for (int o = 0; o < dOut; o++) {
        w.directions[f * dOut + o] = (float) (v[o] / Math.sqrt(sq));
      }
    }
    return w;
  }
}
