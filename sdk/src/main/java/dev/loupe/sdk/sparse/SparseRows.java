package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.stream.IntStream;

/**
 * A TopK code held as its non-zero entries (row, latent, value) instead of a dense [n, d_sae]
 * matrix, with the three products a training step needs: decoding {@code f W_dec}, the decoder
 * gradient {@code f^T G} and the code gradient at the active entries {@code (G W_dec^T)[r, j]}.
 * Each costs n x k x d_in instead of n x d_sae x d_in, which is the point of TopK codes (Gao et al.
 * 2024, "Scaling and evaluating sparse autoencoders", sparse decoder kernels); the products run in
 * Java, in parallel over output rows.
 */
final class SparseRows {
  final int n;
  final int width;
  final int[] rows;
  final int[] cols;
  final float[] vals;

  private SparseRows(int n, int width, int[] rows, int[] cols, float[] vals) {
    this.n = n;
    this.width = width;
    this.rows = rows;
    this.cols = cols;
    this.vals = vals;
  }

  /** The positive entries among the k largest of each row of {@code pre} [n, width] (TopK then ReLU). */
  static SparseRows topK(NDArray pre, int k) {
    int n = (int) pre.getShape().get(0);
    int width = (int) pre.getShape().get(1);
    NDList top = pre.topK(k, 1, true, false);
    float[] v = top.get(0).toType(DataType.FLOAT32, false).toFloatArray();
    long[] c = top.get(1).toLongArray();
    top.close();
    int nnz = 0;
    for (float x : v) {
      if (x > 0) {
        nnz++;
      }
    }
    int[] rows = new int[nnz];
    int[] cols = new int[nnz];
    float[] vals = new float[nnz];
    int at = 0;
    for (int i = 0; i < v.length; i++) {
      if (v[i] > 0) {
        rows[at] = i / k;
        cols[at] = (int) c[i];
        vals[at] = v[i];
        at++;
      }
    }
    return new SparseRows(n, width, rows, cols, vals);
  }

  /** These entries with other values (same positions), e.g. gradients at the active entries. */
  SparseRows withValues(float[] values) {
    if (values.length != vals.length) {
      throw new IllegalArgumentException("expected " + vals.length + " values, got " + values.length);
    }
    return new SparseRows(n, width, rows, cols, values);
  }

  /** The entries of this and {@code other} (same shape); coinciding positions add up in every product. */
  SparseRows plus(SparseRows other) {
    if (other.n != n || other.width != width) {
      throw new IllegalArgumentException("shapes differ: [" + n + ", " + width + "] and [" + other.n + ", "
          + other.width + "]");
    }
    return new SparseRows(n, width, concat(rows, other.rows), concat(cols, other.cols), concat(vals, other.vals));
  }

  int nnz() {
    return vals.length;
  }

  /** {@code this [n, width] x dense [width, d]}. */
  NDArray times(NDArray dense, NDManager m) {
    int d = (int) dense.getShape().get(1);
    float[] out = new float[Math.multiplyExact(n, d)];
    if (nnz() > 0) {
      scatterAdd(out, rows, n, cols, dense.toType(DataType.FLOAT32, false).toFloatArray(), d);
    }
    return m.create(out, new Shape(n, d)).toType(dense.getDataType(), false);
  }

  /** {@code this^T [width, n] x dense [n, d]}. */
  NDArray transposeTimes(NDArray dense, NDManager m) {
    int d = (int) dense.getShape().get(1);
    float[] out = new float[Math.multiplyExact(width, d)];
    if (nnz() > 0) {
      scatterAdd(out, cols, width, rows, dense.toType(DataType.FLOAT32, false).toFloatArray(), d);
    }
    return m.create(out, new Shape(width, d)).toType(dense.getDataType(), false);
  }

  /**
   * {@code out[target[e]] += vals[e] * source[from[e]]} for every entry, rows of d values. Done in
   * Java rather than with a libtorch sparse tensor: DJL's COO constructor lets native memory of
   * its index array go while the sparse tensor still points at it (seen as garbage indices in a
   * long run). Entries are grouped by target first so threads never write the same row.
   */
  private void scatterAdd(float[] out, int[] target, int targets, int[] from, float[] source, int d) {
    int nnz = nnz();
    int[] start = new int[targets + 1];
    for (int e = 0; e < nnz; e++) {
      start[target[e] + 1]++;
    }
    for (int t = 0; t < targets; t++) {
      start[t + 1] += start[t];
    }
    int[] order = new int[nnz];
    int[] fill = java.util.Arrays.copyOf(start, targets);
    for (int e = 0; e < nnz; e++) {
      order[fill[target[e]]++] = e;
    }
    IntStream.range(0, (targets + 63) / 64).parallel().forEach(chunk -> {
      int end = Math.min(targets, (chunk + 1) * 64);
      for (int t = chunk * 64; t < end; t++) {
        int ob = t * d;
        for (int q = start[t]; q < start[t + 1]; q++) {
          int e = order[q];
          float v = vals[e];
          int sb = from[e] * d;
          for (int i = 0; i < d; i++) {
            out[ob + i] += v * source[sb + i];
          }
        }
      }
    });
  }

  /**
   * For every entry (r, j): the dot product of row r of {@code left} [n, d] with row j of
   * {@code right} [width, d], both row-major; e.g. {@code (G W_dec^T)[r, j]}.
   */
  float[] rowDots(float[] left, float[] right, int d) {
    float[] out = new float[nnz()];
    // entries are grouped by row in topK order, so parallel chunks of entries touch few rows each
    IntStream.range(0, (nnz() + 1023) / 1024).parallel().forEach(chunk -> {
      int end = Math.min(nnz(), (chunk + 1) * 1024);
      for (int e = chunk * 1024; e < end; e++) {
        int lb = rows[e] * d;
        int rb = cols[e] * d;
        float acc = 0;
        for (int i = 0; i < d; i++) {
          acc += left[lb + i] * right[rb + i];
        }
        out[e] = acc;
      }
    });
    return out;
  }

  /** Column sums [width]. */
  float[] columnSums() {
    float[] out = new float[width];
    for (int e = 0; e < nnz(); e++) {
      out[cols[e]] += vals[e];
    }
    return out;
  }

  /** Entries per column [width]. */
  long[] columnCounts() {
    long[] out = new long[width];
    for (int c : cols) {
      out[c]++;
    }
    return out;
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static float[] concat(float[] a, float[] b) {
    float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
