package dev.loupe.plugins.sae;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;

/**
 * Synthetic activations with known sparse structure: {@code count} random unit directions (more
 * than d_in, so in superposition), each present in a row with probability {@code p} at a magnitude
 * in [0.5, 1.5). Rows are delivered as documents of {@code docLength} tokens whose token id is
 * the row index, so tests can check provenance.
 */
final class PlantedData {
  final int dIn;
  final int count;
  final double p;
  final float[] directions;
  private final long seed;

  PlantedData(int dIn, int count, double p, long seed) {
    this.dIn = dIn;
    this.count = count;
    this.p = p;
    this.seed = seed;
    SplittableRandom random = new SplittableRandom(seed);
    directions = new float[count * dIn];
    for (int f = 0; f < count; f++) {
      double[] v = new double[dIn];
      double sq = 0;
      for (int i = 0; i < dIn; i++) {
        v[i] = gaussian(random);
        sq += v[i] * v[i];
      }
      for (int i = 0; i < dIn; i++) {
        directions[f * dIn + i] = (float) (v[i] / Math.sqrt(sq));
      }
    }
  }

  private static double gaussian(SplittableRandom random) {
    double u = random.nextDouble();
    double w = random.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w);
  }

  /** Fills row {@code r} of {@code x} with a random sparse combination of the directions. */
  void row(SplittableRandom random, float[] x, int r) {
    for (int f = 0; f < count; f++) {
      if (random.nextDouble() < p) {
        float mag = (float) (0.5 + random.nextDouble());
        for (int i = 0; i < dIn; i++) {
          x[r * dIn + i] += mag * directions[f * dIn + i];
        }
      }
    }
  }

  /** A fresh source of {@code rows} rows in batches of {@code batchRows}; the same rows every time. */
  Source source(long rows, int batchRows, int docLength) {
    return new Source(rows, batchRows, docLength, r -> false, null);
  }

  /**
   * Like {@link #source} but rows for which {@code nan} holds carry a NaN, and rows for which
   * {@code replace} is not null are overwritten by it (given the random stream and the row).
   */
  Source source(long rows, int batchRows, int docLength, IntPredicate nan, RowFiller replace) {
    return new Source(rows, batchRows, docLength, nan, replace);
  }

  /** Writes a replacement row. */
  interface RowFiller {
    /** Returns true when it filled row {@code r} of {@code x} (global row index {@code index}). */
    boolean fill(SplittableRandom random, float[] x, int r, long index);
  }

  /** For each planted direction the best cosine with any decoder row [d_sae, d_in], averaged. */
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

  /** A deterministic activation source over the planted data. */
  final class Source implements ActivationSource {
    private final long rows;
    private final int batchRows;
    private final int docLength;
    private final IntPredicate nan;
    private final RowFiller replace;
    private final SplittableRandom random = new SplittableRandom(seed + 1);
    private long next;
    private long sequence;

    private Source(long rows, int batchRows, int docLength, IntPredicate nan, RowFiller replace) {
      this.rows = rows;
      this.batchRows = batchRows;
      this.docLength = docLength;
      this.nan = nan;
      this.replace = replace;
    }

    @Override
    public ActivationBatch next() {
      if (next >= rows) {
        return null;
      }
      int n = (int) Math.min(batchRows, rows - next);
      float[] x = new float[n * dIn];
      int[] tokens = new int[n];
      int[] docs = new int[n];
      int[] positions = new int[n];
      for (int r = 0; r < n; r++) {
        long index = next + r;
        if (replace == null || !replace.fill(random, x, r, index)) {
          row(random, x, r);
        }
        if (nan.test((int) index)) {
          x[r * dIn + r % dIn] = Float.NaN;
        }
        tokens[r] = (int) index;
        docs[r] = (int) (index / docLength);
        positions[r] = (int) (index % docLength);
      }
      next += n;
      return new ActivationBatch("planted", hookName(), sequence++, n, dIn, x, tokens, docs, positions, null);
    }

    @Override
    public String hookName() {
      return "blocks.0.hook_resid_post";
    }

    @Override
    public int width() {
      return dIn;
    }

    @Override
    public long totalRows() {
      return rows;
    }

    @Override
    public void close() {
    }
  }
}
