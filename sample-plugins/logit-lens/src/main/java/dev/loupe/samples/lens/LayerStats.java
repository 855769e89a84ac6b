package dev.loupe.samples.lens;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Running totals of one layer's logit lens over the corpus, kept as sums (in double) so the
 * means can be read at any time for metrics and at the end for the summary. Plain Java, no
 * tensors: the vocabulary-wide work is done by {@link LensScorer}, which hands over a few numbers
 * per row.
 */
final class LayerStats {
  private long rows;
  private long agreeing;
  private double klSum;
  private long rowsWithNext;
  private long correct;
  private double rankSum;
  private double lossSum;

  /**
   * Adds the rows of one chunk.
   *
   * @param lensTop1 the lens's most likely token per row
   * @param finalTop1 the model's own most likely token per row (the last layer's)
   * @param kl KL(final || lens) per row, in nats
   * @param next the actual next token per row, or {@link NextTokens#NONE}
   * @param nextRank the 1-based rank of the actual next token in the lens's logits (1: its top
   *     token); ignored where there is no next token
   * @param nextLogProb the lens's log-probability of the actual next token; ignored likewise
   */
  void add(long[] lensTop1, long[] finalTop1, float[] kl, int[] next, long[] nextRank, float[] nextLogProb) {
    for (int r = 0; r < lensTop1.length; r++) {
      rows++;
      if (lensTop1[r] == finalTop1[r]) {
        agreeing++;
      }
      klSum += kl[r];
      if (next[r] != NextTokens.NONE) {
        rowsWithNext++;
        if (lensTop1[r] == next[r]) {
          correct++;
        }
        rankSum += nextRank[r];
        lossSum -= nextLogProb[r];
      }
    }
  }

  long rows() {
    return rows;
  }

  long rowsWithNext() {
    return rowsWithNext;
  }

  /** Fraction of rows where the lens's top token is the model's own top token. */
  double top1Agreement() {
    return rows == 0 ? Double.NaN : (double) agreeing / rows;
  }

  /** Mean KL divergence of the lens's distribution from the model's, in nats. */
  double meanKl() {
    return rows == 0 ? Double.NaN : klSum / rows;
  }

  /** Fraction of rows with a next token whose next token is the lens's top token. */
  double accuracy() {
    return rowsWithNext == 0 ? Double.NaN : (double) correct / rowsWithNext;
  }

  /** Mean 1-based rank of the actual next token among the lens's logits. */
  double meanRank() {
    return rowsWithNext == 0 ? Double.NaN : rankSum / rowsWithNext;
  }

  /** Mean cross-entropy of the actual next token under the lens, in nats. */
  double loss() {
    return rowsWithNext == 0 ? Double.NaN : lossSum / rowsWithNext;
  }

  /**
   * The layer's numbers as a result document entry. NaN (no row had a next token) becomes null,
   * since JSON has no NaN.
   */
  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rows", rows);
    m.put("rows_with_next", rowsWithNext);
    m.put("top1_agreement", finite(top1Agreement()));
    m.put("kl_mean", finite(meanKl()));
    m.put("accuracy", finite(accuracy()));
    m.put("mean_rank", finite(meanRank()));
    m.put("loss", finite(loss()));
    return m;
  }

  private static Double finite(double x) {
    return Double.isFinite(x) ? x : null;
  }
}
