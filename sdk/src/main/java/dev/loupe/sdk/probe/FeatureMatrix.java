package dev.loupe.sdk.probe;

import java.util.Arrays;

/**
 * A dense row-major matrix of finite float features (one row per example, one column per neuron or
 * latent), the input to every probe in this package. Validated once on construction so the fitters
 * need not re-check it.
 */
public final class FeatureMatrix {
  private final float[] values;
  private final int rows;
  private final int cols;

  private FeatureMatrix(float[] values, int rows, int cols) {
    this.values = values;
    this.rows = rows;
    this.cols = cols;
  }

  /**
   * Wraps {@code values} (row-major, {@code rows x cols}) without copying; the caller must not change
   * it afterwards.
   *
   * @throws IllegalArgumentException when values is null, the shape does not match its length, or a
   *     value is NaN or infinite (naming the row and column)
   */
  public static FeatureMatrix of(float[] values, int rows, int cols) {
    if (values == null) {
      throw new IllegalArgumentException("features: expected a float array, got null");
    }
    if (rows < 0 || cols < 0) {
      throw new IllegalArgumentException("features: expected a non-negative shape, got " + rows + " x " + cols);
    }
    if ((long) rows * cols != values.length) {
      throw new IllegalArgumentException("features: shape " + rows + " x " + cols + " needs "
          + (long) rows * cols + " values, got " + values.length);
    }
    for (int i = 0; i < values.length; i++) {
      if (!Float.isFinite(values[i])) {
        throw new IllegalArgumentException("features: row " + (i / Math.max(cols, 1)) + ", column "
            + (i % Math.max(cols, 1)) + " is " + values[i] + "; expected finite values");
      }
    }
    return new FeatureMatrix(values, rows, cols);
  }

  /**
   * Copies an array of equally long rows.
   *
   * @throws IllegalArgumentException when rows are null or ragged or a value is not finite
   */
  public static FeatureMatrix of(float[][] rowArrays) {
    if (rowArrays == null) {
      throw new IllegalArgumentException("features: expected rows, got null");
    }
    int cols = rowArrays.length == 0 ? 0 : lengthOf(rowArrays[0], 0);
    float[] flat = new float[Math.multiplyExact(rowArrays.length, cols)];
    for (int r = 0; r < rowArrays.length; r++) {
      if (lengthOf(rowArrays[r], r) != cols) {
        throw new IllegalArgumentException("features: row " + r + " has " + rowArrays[r].length
            + " values; expected " + cols + " like row 0");
      }
      System.arraycopy(rowArrays[r], 0, flat, r * cols, cols);
    }
    return of(flat, rowArrays.length, cols);
  }

  /** Copies an array of equally long double rows, narrowing to float. */
  public static FeatureMatrix of(double[][] rowArrays) {
    if (rowArrays == null) {
      throw new IllegalArgumentException("features: expected rows, got null");
    }
    float[][] f = new float[rowArrays.length][];
    for (int r = 0; r < rowArrays.length; r++) {
      if (rowArrays[r] == null) {
        throw new IllegalArgumentException("features: row " + r + " is null");
      }
      f[r] = new float[rowArrays[r].length];
      for (int c = 0; c < f[r].length; c++) {
        f[r][c] = (float) rowArrays[r][c];
      }
    }
    return of(f);
  }

  private static int lengthOf(float[] row, int r) {
    if (row == null) {
      throw new IllegalArgumentException("features: row " + r + " is null");
    }
    return row.length;
  }

  public int rows() {
    return rows;
  }

  public int cols() {
    return cols;
  }

  public float get(int row, int col) {
    return values[row * cols + col];
  }

  /** The backing row-major array (not a copy): read it, do not change it. */
  public float[] values() {
    return values;
  }

  /** A copy of one column. */
  public float[] column(int col) {
    checkIndex("column", col, cols);
    float[] out = new float[rows];
    for (int r = 0; r < rows; r++) {
      out[r] = values[r * cols + col];
    }
    return out;
  }

  /**
   * A compact copy holding {@code rowIndices} (in that order) and {@code colIndices} (in that order);
   * null selects all rows or all columns.
   *
   * @throws IllegalArgumentException when an index is out of range
   */
  public FeatureMatrix select(int[] rowIndices, int[] colIndices) {
    int[] rs = rowIndices == null ? identity(rows) : rowIndices;
    int[] cs = colIndices == null ? identity(cols) : colIndices;
    for (int r : rs) {
      checkIndex("row index", r, rows);
    }
    for (int c : cs) {
      checkIndex("column index", c, cols);
    }
    float[] out = new float[Math.multiplyExact(rs.length, cs.length)];
    int o = 0;
    for (int r : rs) {
      int base = r * cols;
      for (int c : cs) {
        out[o++] = values[base + c];
      }
    }
    return new FeatureMatrix(out, rs.length, cs.length);
  }

  static int[] identity(int n) {
    int[] ids = new int[n];
    Arrays.setAll(ids, i -> i);
    return ids;
  }

  private static void checkIndex(String what, int i, int bound) {
    if (i < 0 || i >= bound) {
      throw new IllegalArgumentException("features: " + what + " " + i + " is out of range; expected 0.." + (bound - 1));
    }
  }

  @Override
  public String toString() {
    return "FeatureMatrix[" + rows + " x " + cols + "]";
  }
}
