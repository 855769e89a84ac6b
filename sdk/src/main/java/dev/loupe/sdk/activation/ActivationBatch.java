package dev.loupe.sdk.activation;

import java.util.Arrays;
import java.util.Objects;

/**
 * A block of activation vectors from one hook point of one model, one row per token position,
 * with the provenance of every row.
 *
 * <p>Values are float32, row-major {@code [rows, width]}. Per-row metadata says which token the
 * row belongs to ({@code tokenIds}), which document ({@code docIds}) and at which position in
 * that document's context ({@code positions}); {@code labels} is optional (null) and carries a
 * per-row class label for supervised methods such as probes.
 *
 * <p>Batches are immutable by contract: producers hand the same instance to every local consumer
 * without copying, so consumers must not write into {@link #values()} or the metadata arrays.
 * Instances are safe to share between threads once published.
 */
public final class ActivationBatch {
  private final String modelId;
  private final String hookName;
  private final long sequence;
  private final int rows;
  private final int width;
  private final float[] values;
  private final int[] tokenIds;
  private final int[] docIds;
  private final int[] positions;
  private final int[] labels;

  /**
   * Creates a batch; every array is taken by reference, not copied.
   *
   * @param sequence the batch's index within its stream or store (0-based)
   * @param labels per-row labels, or null when the batch is unlabelled
   * @throws IllegalArgumentException naming the array whose length disagrees with rows/width
   * @throws NullPointerException if any argument other than labels is null
   */
  public ActivationBatch(String modelId, String hookName, long sequence, int rows, int width,
      float[] values, int[] tokenIds, int[] docIds, int[] positions, int[] labels) {
    this.modelId = Objects.requireNonNull(modelId, "modelId");
    this.hookName = Objects.requireNonNull(hookName, "hookName");
    Objects.requireNonNull(values, "values");
    Objects.requireNonNull(tokenIds, "tokenIds");
    Objects.requireNonNull(docIds, "docIds");
    Objects.requireNonNull(positions, "positions");
    if (rows < 0 || width <= 0) {
      throw new IllegalArgumentException("rows must be >= 0 and width > 0, got rows=" + rows + " width=" + width);
    }
    if ((long) rows * width != values.length) {
      throw new IllegalArgumentException("values has " + values.length + " floats, expected rows*width = "
          + rows + "*" + width + " = " + ((long) rows * width));
    }
    check("tokenIds", tokenIds, rows);
    check("docIds", docIds, rows);
    check("positions", positions, rows);
    if (labels != null) {
      check("labels", labels, rows);
    }
    this.sequence = sequence;
    this.rows = rows;
    this.width = width;
    this.values = values;
    this.tokenIds = tokenIds;
    this.docIds = docIds;
    this.positions = positions;
    this.labels = labels;
  }

  private static void check(String name, int[] a, int rows) {
    if (a.length != rows) {
      throw new IllegalArgumentException(name + " has " + a.length + " entries, expected one per row (" + rows + ")");
    }
  }

  /** An unlabelled batch with no provenance beyond row order: token, doc and position ids are 0..rows-1 / 0. */
  public static ActivationBatch ofValues(String modelId, String hookName, long sequence, int rows, int width, float[] values) {
    int[] pos = new int[rows];
    for (int i = 0; i < rows; i++) {
      pos[i] = i;
    }
    return new ActivationBatch(modelId, hookName, sequence, rows, width, values, new int[rows], new int[rows], pos, null);
  }

  public String modelId() { return modelId; }
  public String hookName() { return hookName; }
  public long sequence() { return sequence; }
  public int rows() { return rows; }
  public int width() { return width; }
  /** The backing values, row-major [rows, width]; do not modify. */
  public float[] values() { return values; }
  public int[] tokenIds() { return tokenIds; }
  public int[] docIds() { return docIds; }
  public int[] positions() { return positions; }
  /** Per-row labels, or null when unlabelled. */
  public int[] labels() { return labels; }
  public boolean hasLabels() { return labels != null; }

  /** The value at (row, col). */
  public float get(int row, int col) {
    return values[row * width + col];
  }

  /** A copy of one row. */
  public float[] row(int row) {
    return Arrays.copyOfRange(values, row * width, (row + 1) * width);
  }

  /** Bytes of float32 payload (what bounds memory and what the wire carries). */
  public long payloadBytes() {
    return 4L * values.length;
  }

  /** Bytes held on the heap by this batch, values and metadata together. */
  public long sizeBytes() {
    return payloadBytes() + 4L * rows * (labels == null ? 3 : 4) + 64;
  }

  /** A new batch with the rows [from, to) of this one (arrays copied), keeping the sequence number. */
  public ActivationBatch slice(int from, int to) {
    if (from < 0 || to > rows || from > to) {
      throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of a batch with " + rows + " rows");
    }
    return new ActivationBatch(modelId, hookName, sequence, to - from, width,
        Arrays.copyOfRange(values, from * width, to * width),
        Arrays.copyOfRange(tokenIds, from, to), Arrays.copyOfRange(docIds, from, to),
        Arrays.copyOfRange(positions, from, to), labels == null ? null : Arrays.copyOfRange(labels, from, to));
  }

  /** The same rows under a new sequence number (arrays shared). */
  public ActivationBatch withSequence(long newSequence) {
    return new ActivationBatch(modelId, hookName, newSequence, rows, width, values, tokenIds, docIds, positions, labels);
  }

  @Override
  public String toString() {
    return "ActivationBatch[" + modelId + " " + hookName + " #" + sequence + " " + rows + "x" + width + "]";
  }
}
