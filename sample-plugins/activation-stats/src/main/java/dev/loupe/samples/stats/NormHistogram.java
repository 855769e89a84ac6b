package dev.loupe.samples.stats;

import java.util.Arrays;

/**
 * A histogram of row L2 norms with equal-width bins.
 *
 * <p>Two modes, because a job reads its input once and cannot go back for a second pass:
 * with a fixed upper bound the rows are binned over {@code [0, max]} as they arrive (constant
 * memory; norms above {@code max} are counted as overflow); without one every norm is kept (four
 * bytes per row) and binned over the observed {@code [min, max]} when {@link #finish()} is
 * called. Not thread-safe.
 */
public final class NormHistogram {
  private final int bins;
  private final double fixedMax;
  private final long[] counts;
  private float[] kept;
  private int keptSize;
  private long overflow;
  private long rows;
  private double sum;
  private double min = Double.POSITIVE_INFINITY;
  private double max = Double.NEGATIVE_INFINITY;

  /**
   * @param bins number of bins, at least 1
   * @param fixedMax upper bound of a fixed range {@code [0, fixedMax]}, or 0 to bin over the
   *     observed range
   */
  public NormHistogram(int bins, double fixedMax) {
    if (bins < 1) {
      throw new IllegalArgumentException("bins must be >= 1, got " + bins);
    }
    if (fixedMax < 0 || Double.isNaN(fixedMax) || Double.isInfinite(fixedMax)) {
      throw new IllegalArgumentException("fixedMax must be 0 (automatic) or a positive number, got " + fixedMax);
    }
    this.bins = bins;
    this.fixedMax = fixedMax;
    this.counts = new long[bins];
    this.kept = fixedMax > 0 ? null : new float[1024];
  }

  /** Adds the L2 norm of each of {@code rows} rows of {@code width} values. */
  public void addRows(float[] values, int rows, int width) {
    for (int r = 0; r < rows; r++) {
      double ss = 0;
      int base = r * width;
      for (int d = 0; d < width; d++) {
        double x = values[base + d];
        ss += x * x;
      }
      add(Math.sqrt(ss));
    }
  }

  /** Adds one norm. */
  public void add(double norm) {
    rows++;
    sum += norm;
    min = Math.min(min, norm);
    max = Math.max(max, norm);
    if (fixedMax > 0) {
      if (norm > fixedMax) {
        overflow++;
      } else {
        counts[binOf(norm, 0, fixedMax)]++;
      }
    } else {
      if (keptSize == kept.length) {
        if (kept.length == Integer.MAX_VALUE - 8) {
          throw new IllegalStateException("too many rows to keep their norms; set a fixed norm range");
        }
        kept = Arrays.copyOf(kept, (int) Math.min(Integer.MAX_VALUE - 8L, 2L * kept.length));
      }
      kept[keptSize++] = (float) norm;
    }
  }

  private int binOf(double x, double lo, double hi) {
    if (hi <= lo) {
      return 0;
    }
    int b = (int) ((x - lo) / (hi - lo) * bins);
    // The top edge belongs to the last bin, so the maximum is counted.
    return Math.min(Math.max(b, 0), bins - 1);
  }

  /** The finished histogram; in automatic mode this bins every kept norm, so call it once. */
  public Result finish() {
    double lo;
    double hi;
    if (fixedMax > 0) {
      lo = 0;
      hi = fixedMax;
    } else {
      lo = rows == 0 ? 0 : min;
      hi = rows == 0 ? 0 : max;
      Arrays.fill(counts, 0);
      for (int i = 0; i < keptSize; i++) {
        counts[binOf(kept[i], lo, hi)]++;
      }
    }
    double[] edges = new double[bins + 1];
    for (int i = 0; i <= bins; i++) {
      edges[i] = lo + (hi - lo) * i / bins;
    }
    return new Result(edges, counts.clone(), overflow, rows, rows == 0 ? 0 : sum / rows,
        rows == 0 ? 0 : min, rows == 0 ? 0 : max);
  }

  /**
   * A finished histogram.
   *
   * @param edges bin edges, {@code bins + 1} of them; bin i is {@code [edges[i], edges[i+1])},
   *     the last one closed
   * @param counts rows per bin
   * @param overflow rows whose norm exceeded a fixed range (always 0 in automatic mode)
   */
  public record Result(double[] edges, long[] counts, long overflow, long rows, double meanNorm,
      double minNorm, double maxNorm) {}
}
