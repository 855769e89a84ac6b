package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Evaluation measures for sparse coders, as the SAE literature reports them: reconstruction MSE,
 * fraction of variance explained, L0, dead and dense latent fractions and the log10 feature
 * density histogram. Static and thread-safe; array arguments are not modified.
 */
public final class SparseMetrics {
  private SparseMetrics() {
  }

  /**
   * Boolean mask [n]: true for rows of a 2-D array that hold no NaN and no infinity. The mask and
   * its temporaries belong to {@code x}'s manager.
   */
  public static NDArray finiteRows(NDArray x) {
    NDArray bad = x.isNaN().logicalOr(x.isInfinite()).toType(DataType.INT32, false).sum(new int[] {1});
    return bad.eq(0);
  }

  /**
   * Whether every value of {@code x} is finite, from one summation: a NaN or an infinity makes the
   * sum NaN or infinite, so a finite sum proves them absent (a sum that overflows only sends the
   * caller to the exact row scan). One read of the array instead of the scan's four passes.
   */
  public static boolean allFinite(NDArray x) {
    try (NDManager m = x.getManager().newSubManager()) {
      m.tempAttachAll(x);
      return Double.isFinite(x.sum().toType(DataType.FLOAT64, false).getDouble());
    }
  }

  /**
   * The rows of a 2-D array that hold no NaN and no infinity (the array itself when all do); the
   * result belongs to {@code x}'s manager.
   */
  public static NDArray dropNonFiniteRows(NDArray x) {
    if (allFinite(x)) {
      return x;
    }
    boolean[] keep = finiteRows(x).toBooleanArray();
    int good = 0;
    for (boolean k : keep) {
      good += k ? 1 : 0;
    }
    if (good == keep.length) {
      return x;
    }
    long[] idx = new long[good];
    for (int i = 0, j = 0; i < keep.length; i++) {
      if (keep[i]) {
        idx[j++] = i;
      }
    }
    if (good == 0) {
      return x.getManager().zeros(new ai.djl.ndarray.types.Shape(0, x.getShape().get(1)), x.getDataType());
    }
    return x.get(x.getManager().create(idx));
  }

  /**
   * What a coder does on held-out raw inputs [n, d_in] (rows with NaN or infinity are skipped and
   * counted): MSE per element and FVE in raw units, mean L0 of the inference code, and how many
   * rows each latent fired on. Temporaries are freed before returning.
   */
  public static Evaluation evaluate(SparseCoder coder, NDArray x) {
    try (NDManager m = x.getManager().newSubManager()) {
      m.tempAttachAll(x);
      NDArray good = dropNonFiniteRows(x);
      int rows = (int) good.getShape().get(0);
      int skipped = (int) x.getShape().get(0) - rows;
      if (rows == 0) {
        return new Evaluation(0, skipped, Double.NaN, Double.NaN, Double.NaN, new long[coder.dSae()]);
      }
      ai.djl.ndarray.NDList out = coder.forward(good);
      long[] fired = out.get(0).gt(0).toType(DataType.INT64, false).sum(new int[] {0}).toLongArray();
      return new Evaluation(rows, skipped, mse(good, out.get(1)), fractionOfVarianceExplained(good, out.get(1)),
          l0(out.get(0)), fired);
    }
  }

  /**
   * What a transcoder does on held-out raw inputs [n, d_in] and targets [n, d_out] (rows where
   * either holds NaN or infinity are skipped and counted): MSE and FVE of its output against the
   * targets in raw units, mean L0, and how many rows each latent fired on. With {@code targets}
   * null this is {@link #evaluate(SparseCoder, NDArray)}.
   */
  public static Evaluation evaluate(SparseCoder coder, NDArray x, NDArray targets) {
    if (targets == null) {
      return evaluate(coder, x);
    }
    if (x.getShape().get(0) != targets.getShape().get(0)) {
      throw new IllegalArgumentException("inputs have " + x.getShape().get(0) + " rows but targets "
          + targets.getShape().get(0));
    }
    try (NDManager m = x.getManager().newSubManager()) {
      m.tempAttachAll(x, targets);
      NDArray keep = finiteRows(x).logicalAnd(finiteRows(targets));
      NDArray gx = x.get(keep);
      NDArray gy = targets.get(keep);
      int rows = (int) gx.getShape().get(0);
      int skipped = (int) x.getShape().get(0) - rows;
      if (rows == 0) {
        return new Evaluation(0, skipped, Double.NaN, Double.NaN, Double.NaN, new long[coder.dSae()]);
      }
      ai.djl.ndarray.NDList out = coder.forward(gx);
      long[] fired = out.get(0).gt(0).toType(DataType.INT64, false).sum(new int[] {0}).toLongArray();
      return new Evaluation(rows, skipped, mse(gy, out.get(1)), fractionOfVarianceExplained(gy, out.get(1)),
          l0(out.get(0)), fired);
    }
  }

  /**
   * A held-out evaluation (see {@link #evaluate}).
   *
   * @param firedCounts rows on which each latent fired; divide by rows for densities
   */
  public record Evaluation(int rows, int skippedRows, double mse, double fve, double l0, long[] firedCounts) {
    public Evaluation {
      firedCounts = firedCounts.clone();
    }

    @Override
    public long[] firedCounts() {
      return firedCounts.clone();
    }

    /** Each latent's firing frequency on the evaluated rows. */
    public double[] density() {
      double[] d = new double[firedCounts.length];
      for (int j = 0; j < d.length; j++) {
        d[j] = rows == 0 ? 0 : (double) firedCounts[j] / rows;
      }
      return d;
    }
  }

  /** Mean squared error per element between inputs and reconstructions [n, d]. */
  public static double mse(NDArray x, NDArray reconstruction) {
    checkSame(x, reconstruction);
    try (NDManager m = x.getManager().newSubManager()) {
      m.tempAttachAll(x, reconstruction);
      NDArray xd = x.toType(DataType.FLOAT64, true);
      return xd.sub(reconstruction.toType(DataType.FLOAT64, false)).square().mean().getDouble();
    }
  }

  /**
   * Fraction of variance explained: {@code 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2} over
   * the rows; 1 is perfect, 0 is no better than predicting the mean.
   */
  public static double fractionOfVarianceExplained(NDArray x, NDArray reconstruction) {
    checkSame(x, reconstruction);
    try (NDManager m = x.getManager().newSubManager()) {
      m.tempAttachAll(x, reconstruction);
      NDArray xd = x.toType(DataType.FLOAT64, true);
      double residual = xd.sub(reconstruction.toType(DataType.FLOAT64, false)).square().sum().getDouble();
      double total = xd.sub(xd.mean(new int[] {0})).square().sum().getDouble();
      return total > 0 ? 1 - residual / total : (residual == 0 ? 1 : Double.NEGATIVE_INFINITY);
    }
  }

  /** Mean number of non-zero latents per row of a code [n, d_sae]. */
  public static double l0(NDArray code) {
    try (NDManager m = code.getManager().newSubManager()) {
      m.tempAttachAll(code);
      NDArray nz = code.neq(0).toType(DataType.FLOAT64, false);
      return nz.sum().getDouble() / code.getShape().get(0);
    }
  }

  /** Number of non-zero latents in each row of a code [n, d_sae]. */
  public static int[] l0PerRow(NDArray code) {
    try (NDManager m = code.getManager().newSubManager()) {
      m.tempAttachAll(code);
      NDArray nz = code.neq(0).toType(DataType.INT32, false);
      return nz.sum(new int[] {1}).toType(DataType.INT32, false).toIntArray();
    }
  }

  /** Fraction of latents whose density (firing frequency) is 0. */
  public static double deadFraction(double[] density) {
    long dead = 0;
    for (double d : density) {
      if (d <= 0) {
        dead++;
      }
    }
    return density.length == 0 ? 0 : (double) dead / density.length;
  }

  /** Fraction of latents firing on more than {@code threshold} of tokens (Gao et al. use 0.1 as "dense"). */
  public static double denseFraction(double[] density, double threshold) {
    long dense = 0;
    for (double d : density) {
      if (d > threshold) {
        dense++;
      }
    }
    return density.length == 0 ? 0 : (double) dense / density.length;
  }

  /**
   * The histogram of log10 feature density over {@code bins} equal bins in [{@code lo}, {@code hi}]
   * (SAELens plots it over [-10, 0]); latents that never fired are counted apart as
   * {@link DensityHistogram#dead()} rather than put at -infinity.
   */
  public static DensityHistogram densityHistogram(double[] density, int bins, double lo, double hi) {
    if (bins < 1 || !(hi > lo)) {
      throw new IllegalArgumentException("need bins >= 1 and hi > lo, got bins = " + bins + ", lo = " + lo + ", hi = " + hi);
    }
    long[] counts = new long[bins];
    long dead = 0;
    for (double d : density) {
      if (d <= 0) {
        dead++;
        continue;
      }
      double l = Math.log10(d);
      int b = (int) Math.floor((l - lo) / (hi - lo) * bins);
      counts[Math.max(0, Math.min(bins - 1, b))]++;
    }
    double[] edges = new double[bins + 1];
    for (int i = 0; i <= bins; i++) {
      edges[i] = lo + (hi - lo) * i / bins;
    }
    return new DensityHistogram(edges, counts, dead);
  }

  /**
   * The log10 feature density histogram: {@code counts[i]} latents have log10 density in
   * [{@code edges[i]}, {@code edges[i+1]}) (values outside the range go to the end bins);
   * {@code dead} latents never fired.
   */
  public record DensityHistogram(double[] edges, long[] counts, long dead) {
    public DensityHistogram {
      edges = edges.clone();
      counts = counts.clone();
    }

    @Override
    public double[] edges() {
      return edges.clone();
    }

    @Override
    public long[] counts() {
      return counts.clone();
    }
  }

  private static void checkSame(NDArray x, NDArray y) {
    if (!x.getShape().equals(y.getShape())) {
      throw new IllegalArgumentException("inputs " + x.getShape() + " and reconstruction " + y.getShape()
          + " must have the same shape");
    }
  }
}
