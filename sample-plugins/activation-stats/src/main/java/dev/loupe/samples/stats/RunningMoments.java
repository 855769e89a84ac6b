package dev.loupe.samples.stats;

/**
 * Per-dimension mean and variance of a stream of rows in one pass, with Welford's update.
 *
 * <p>Why Welford and not sums of x and x squared: activations often have a large mean and a
 * small spread (e.g. a residual-stream dimension sitting at 40 +- 0.1), and the textbook
 * {@code E[x^2] - E[x]^2} then subtracts two nearly equal large numbers and loses every
 * significant digit. Welford keeps the running mean and the sum of squared deviations from it,
 * which stays accurate; the accumulators are doubles even though rows are float32.
 *
 * <p>Not thread-safe: one job thread feeds it.
 */
public final class RunningMoments {
  private final int width;
  private final double[] mean;
  private final double[] m2;
  private long count;

  /** @throws IllegalArgumentException if {@code width <= 0} */
  public RunningMoments(int width) {
    if (width <= 0) {
      throw new IllegalArgumentException("width must be > 0, got " + width);
    }
    this.width = width;
    this.mean = new double[width];
    this.m2 = new double[width];
  }

  /**
   * Adds {@code rows} rows of {@code width} values, row-major, starting at {@code values[0]}.
   *
   * @throws IllegalArgumentException if {@code values} is shorter than {@code rows * width}
   */
  public void addRows(float[] values, int rows) {
    if ((long) rows * width > values.length) {
      throw new IllegalArgumentException("values has " + values.length + " floats, fewer than rows*width = "
          + rows + "*" + width);
    }
    for (int r = 0; r < rows; r++) {
      count++;
      int base = r * width;
      for (int d = 0; d < width; d++) {
        double x = values[base + d];
        double delta = x - mean[d];
        mean[d] += delta / count;
        m2[d] += delta * (x - mean[d]);
      }
    }
  }

  public int width() {
    return width;
  }

  /** Rows seen so far. */
  public long count() {
    return count;
  }

  /** A copy of the per-dimension means (zeros before the first row). */
  public double[] mean() {
    return mean.clone();
  }

  /**
   * The per-dimension population variance (divided by n, not n-1: we describe the activations
   * seen, not estimate a wider population); zeros before the first row.
   */
  public double[] variance() {
    double[] v = new double[width];
    if (count > 0) {
      for (int d = 0; d < width; d++) {
        v[d] = m2[d] / count;
      }
    }
    return v;
  }
}
