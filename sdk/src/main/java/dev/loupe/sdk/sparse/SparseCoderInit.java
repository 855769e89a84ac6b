package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Data-dependent initialisation of a sparse coder from a sample of its inputs: the input
 * normalisation factor (so that the mean squared norm of scaled inputs is d_in, as SAELens'
 * {@code expected_average_only_in} does) and the decoder bias at the sample's geometric median
 * (Bricken et al. 2023, "Towards Monosemanticity", computed with Weiszfeld's algorithm).
 *
 * <p>Static and thread-safe; rows holding NaN or infinity are ignored.
 */
public final class SparseCoderInit {
  private SparseCoderInit() {
  }

  /**
   * The factor {@code s} with {@code mean ||s x||^2 = d_in} over the sample's finite rows.
   *
   * @throws IllegalArgumentException when the sample has no finite row or only zero rows
   */
  public static float inputScale(NDArray sample) {
    try (NDManager m = sample.getManager().newSubManager()) {
      m.tempAttachAll(sample);
      NDArray x = finite(sample);
      long d = x.getShape().get(1);
      double meanSq = x.toType(DataType.FLOAT64, false).square().sum(new int[] {1}).mean().getDouble();
      if (!(meanSq > 0)) {
        throw new IllegalArgumentException("cannot normalise inputs: every finite sample row is zero");
      }
      return (float) Math.sqrt(d / meanSq);
    }
  }

  /**
   * One factor per source for a crosscoder's input, the sample's columns split into
   * {@code sources} equal blocks: block b's factor makes its mean squared norm its width, so every
   * source weighs the same in the loss whatever its raw scale.
   *
   * @throws IllegalArgumentException when the width does not split into {@code sources} blocks,
   *     the sample has no finite row, or a block is zero on every finite row
   */
  public static float[] sourceScales(NDArray sample, int sources) {
    long width = sample.getShape().get(sample.getShape().dimension() - 1);
    if (sources < 1 || width % sources != 0) {
      throw new IllegalArgumentException("a sample of width " + width + " does not split into " + sources + " sources");
    }
    int d = (int) (width / sources);
    float[] out = new float[sources];
    try (NDManager m = sample.getManager().newSubManager()) {
      m.tempAttachAll(sample);
      NDArray x = finite(sample);
      for (int b = 0; b < sources; b++) {
        NDArray block = x.get(new ai.djl.ndarray.index.NDIndex(":, " + (b * d) + ":" + ((b + 1) * d)));
        try {
          out[b] = inputScale(block);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("source " + b + ": " + e.getMessage(), e);
        }
      }
    }
    return out;
  }

  /**
   * The geometric median of the sample's finite rows (the point minimising the summed Euclidean
   * distance), by Weiszfeld iterations started at the mean.
   *
   * @param maxIterations at most this many iterations
   * @param tolerance stop when the estimate moves less than this (relative to its norm + 1)
   */
  public static float[] geometricMedian(NDArray sample, int maxIterations, double tolerance) {
    if (maxIterations < 1) {
      throw new IllegalArgumentException("maxIterations must be at least 1, got " + maxIterations);
    }
    try (NDManager m = sample.getManager().newSubManager()) {
      m.tempAttachAll(sample);
      NDArray x = finite(sample).toType(DataType.FLOAT64, false);
      NDArray y = x.mean(new int[] {0});
      for (int it = 0; it < maxIterations; it++) {
        NDArray dist = x.sub(y).norm(new int[] {1}).maximum(1e-12);
        NDArray w = dist.pow(-1);
        NDArray next = x.mul(w.expandDims(1)).sum(new int[] {0}).div(w.sum());
        double moved = next.sub(y).norm().getDouble();
        double scale = y.norm().getDouble() + 1;
        y = next;
        if (moved <= tolerance * scale) {
          break;
        }
      }
      return y.toType(DataType.FLOAT32, false).toFloatArray();
    }
  }

  /**
   * Sets an autoencoder's input scale from the sample (for a crosscoder one scale per source, see
   * {@link #sourceScales}) and its decoder bias to the geometric median of the scaled sample.
   *
   * @throws IllegalArgumentException when the sample's width is not the coder's d_in, or the coder
   *     is a transcoder, whose decoder bias and output scale live in its target space (scale its
   *     inputs and targets with {@link #inputScale} instead)
   */
  public static void fromSample(SparseCoder coder, NDArray sample) {
    if (!coder.layout().autoencoder()) {
      throw new IllegalArgumentException("fromSample initialises an autoencoder from its inputs, but a "
          + coder.layout().kind() + "'s b_dec lives in its output space; use setInputScale(inputScale(inputs)) and"
          + " setOutputScale(inputScale(targets)) instead");
    }
    if (sample.getShape().dimension() != 2 || sample.getShape().get(1) != coder.dIn()) {
      throw new IllegalArgumentException("sample must have shape [n, d_in = " + coder.dIn() + "], got " + sample.getShape());
    }
    if (coder.sources() > 1) {
      coder.setInputScales(sourceScales(sample, coder.sources()));
    } else {
      coder.setInputScale(inputScale(sample));
    }
    try (NDManager m = sample.getManager().newSubManager()) {
      m.tempAttachAll(sample);
      NDArray scaled = coder.normalize(sample);
      float[] median = geometricMedian(scaled, 100, 1e-6);
      coder.bDec().set(median);
    }
  }

  /** The finite rows; temporaries go to the sample's (temporary) manager. */
  private static NDArray finite(NDArray sample) {
    Shape s = sample.getShape();
    if (s.dimension() != 2 || s.get(0) < 1) {
      throw new IllegalArgumentException("sample must have shape [n >= 1, d], got " + s);
    }
    NDArray x = SparseMetrics.dropNonFiniteRows(sample);
    if (x.getShape().get(0) == 0) {
      throw new IllegalArgumentException("sample has no finite row (all " + s.get(0) + " rows hold NaN or infinity)");
    }
    return x;
  }
}
