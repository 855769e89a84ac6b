package dev.loupe.sdk.sparse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Per-latent firing statistics and top activating examples, gathered row by row with bounded
 * memory: a latent gets a heap of at most {@code topK} entries only once it fires.
 *
 * <p>Not thread-safe: one job thread feeds it.
 */
public final class FeatureExamples {
  /** One activating example: the activation, the row it came from and that row's token context. */
  public record Example(float activation, long row, int tokenId, int docId, int position, int[] context) {
  }

  private final int dSae;
  private final int topK;
  private final long[] fired;
  private final double[] activationSum;
  private final float[] max;
  private final Map<Integer, PriorityQueue<Example>> heaps = new HashMap<>();
  private long rows;

  /**
   * @param topK examples kept per latent (0: none, only densities and mean activations)
   */
  public FeatureExamples(int dSae, int topK) {
    if (dSae < 1 || topK < 0) {
      throw new IllegalArgumentException("need dSae >= 1 and topK >= 0, got " + dSae + ", " + topK);
    }
    this.dSae = dSae;
    this.topK = topK;
    this.fired = new long[dSae];
    this.activationSum = new double[dSae];
    this.max = new float[dSae];
  }

  /**
   * Adds {@code n} rows of codes [n, d_sae] (row-major).
   *
   * @param firstRow the running row number of the first row (kept with each example)
   * @param tokenIds token id per row, indexed from {@code offset}; so are docIds, positions and context
   * @param context per row the token ids before it in the same document (oldest first)
   */
  public void add(float[] codes, int n, long firstRow, int[] tokenIds, int[] docIds, int[] positions, int[][] context,
      int offset) {
    for (int r = 0; r < n; r++) {
      int base = r * dSae;
      for (int j = 0; j < dSae; j++) {
        float a = codes[base + j];
        if (a > 0) {
          fired[j]++;
          activationSum[j] += a;
          max[j] = Math.max(max[j], a);
          if (topK > 0) {
            offer(j, a, firstRow + r, offset + r, tokenIds, docIds, positions, context);
          }
        }
      }
    }
    rows += n;
  }

  private void offer(int j, float a, long row, int i, int[] tokenIds, int[] docIds, int[] positions, int[][] context) {
    PriorityQueue<Example> heap = heaps.computeIfAbsent(j,
        x -> new PriorityQueue<>(topK, (p, q) -> Float.compare(p.activation(), q.activation())));
    if (heap.size() < topK) {
      heap.add(new Example(a, row, tokenIds[i], docIds[i], positions[i], context[i]));
    } else if (a > heap.peek().activation()) {
      heap.poll();
      heap.add(new Example(a, row, tokenIds[i], docIds[i], positions[i], context[i]));
    }
  }

  public long rows() {
    return rows;
  }

  /** Each latent's firing frequency over the rows seen. */
  public double[] density() {
    double[] d = new double[dSae];
    for (int j = 0; j < dSae; j++) {
      d[j] = rows == 0 ? 0 : (double) fired[j] / rows;
    }
    return d;
  }

  /** The mean activation of latent {@code j} over the rows where it fired (0 if it never did). */
  public double meanActivation(int j) {
    return fired[j] == 0 ? 0 : activationSum[j] / fired[j];
  }

  /** The largest activation of latent {@code j} over the rows seen (0 if it never fired). */
  public float maxActivation(int j) {
    return max[j];
  }

  /** Latent {@code j}'s top examples, highest activation first. */
  public List<Example> top(int j) {
    PriorityQueue<Example> heap = heaps.get(j);
    if (heap == null) {
      return List.of();
    }
    List<Example> out = new ArrayList<>(heap);
    out.sort((p, q) -> p.activation() != q.activation() ? Float.compare(q.activation(), p.activation())
        : Long.compare(p.row(), q.row()));
    return out;
  }
}
