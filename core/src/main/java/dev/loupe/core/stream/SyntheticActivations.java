package dev.loupe.core.stream;

import dev.loupe.sdk.activation.ActivationBatch;

/**
 * Deterministic synthetic activation batches: the same (seed, sequence, shape) always gives the
 * same bits on any JVM, so a receiver can check what a producer on another node sent without the
 * data travelling twice. Used by the cluster demo producer, the stream benchmark and tests.
 */
public final class SyntheticActivations {
  public static final String MODEL_ID = "synthetic";
  public static final String HOOK_NAME = "blocks.0.hook_resid_post";

  private SyntheticActivations() {
  }

  /**
   * Batch number {@code sequence} of a synthetic stream: values in [-1, 1) from a 64-bit mix of
   * (seed, sequence, index); token ids, doc ids and positions derived from the row; labels on odd
   * sequence numbers only, so both labelled and unlabelled batches occur.
   *
   * @throws IllegalArgumentException if rows &lt; 0 or width &lt;= 0
   */
  public static ActivationBatch batch(long seed, long sequence, int rows, int width) {
    if (rows < 0 || width <= 0) {
      throw new IllegalArgumentException("rows must be >= 0 and width > 0, got rows=" + rows + " width=" + width);
    }
    float[] values = new float[Math.multiplyExact(rows, width)];
    long base = mix(seed * 0x9E3779B97F4A7C15L + sequence);
    for (int i = 0; i < values.length; i++) {
      // 24 random bits scaled to [-1, 1): exactly representable, so the bits are reproducible.
      values[i] = ((int) (mix(base + i) >>> 40) - (1 << 23)) * (1.0f / (1 << 23));
    }
    int[] tokenIds = new int[rows];
    int[] docIds = new int[rows];
    int[] positions = new int[rows];
    int[] labels = (sequence & 1) == 1 ? new int[rows] : null;
    for (int r = 0; r < rows; r++) {
      tokenIds[r] = (int) (mix(base ^ r) & 0xFFFF);
      docIds[r] = (int) (sequence * 1000 + r / 128);
      positions[r] = r % 128;
      if (labels != null) {
        labels[r] = r % 3;
      }
    }
    return new ActivationBatch(MODEL_ID, HOOK_NAME, sequence, rows, width, values, tokenIds, docIds, positions, labels);
  }

  /** SplitMix64's finaliser: a cheap, well-spread 64-bit hash. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
