package dev.loupe.samples.lens;

import dev.loupe.sdk.activation.ActivationBatch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * A few rows kept to show in the report what each layer predicts: a uniform sample (reservoir
 * sampling, seeded, so a job reproduces its examples) of the rows that have a next token, each
 * with the tokens leading up to it, the actual next token, the model's own top token and every
 * layer's lens top token. The same rows serve all layers, so the report can show a prediction
 * forming layer by layer.
 *
 * <p>Reservoir sampling keeps memory to {@code capacity} rows without knowing the input's length:
 * the n-th candidate replaces a random kept row with probability capacity / n.
 */
final class Examples {
  /** One kept row. */
  record Example(long row, int doc, int position, int[] context, int next, long finalTop1, long[] lensTop1) {
  }

  private final int capacity;
  private final int contextTokens;
  private final Random random;
  private final List<Example> kept = new ArrayList<>();
  // The tokens of the current run of consecutive rows (same document, positions one apart).
  private final ArrayDeque<Integer> recent = new ArrayDeque<>();
  private long candidates;
  private long row;
  private int lastDoc = Integer.MIN_VALUE;
  private int lastPosition = Integer.MIN_VALUE;

  Examples(int capacity, int contextTokens, long seed) {
    this.capacity = capacity;
    this.contextTokens = contextTokens;
    this.random = new Random(seed);
  }

  /**
   * Offers rows {@code [from, to)} of {@code batch}, which must come in stream order; {@code next}
   * and the chunk's scores are indexed from {@code from}.
   */
  void offer(ActivationBatch batch, int from, int to, int[] next, LensScorer.Chunk chunk) {
    for (int r = from; r < to; r++, row++) {
      int doc = batch.docIds()[r];
      int pos = batch.positions()[r];
      if (doc != lastDoc || pos != lastPosition + 1) {
        recent.clear();
      }
      lastDoc = doc;
      lastPosition = pos;
      recent.addLast(batch.tokenIds()[r]);
      if (recent.size() > contextTokens) {
        recent.removeFirst();
      }
      int i = r - from;
      if (capacity == 0 || next[i] == NextTokens.NONE) {
        continue;
      }
      candidates++;
      int slot = kept.size() < capacity ? kept.size() : (int) random.nextLong(candidates);
      if (slot < capacity) {
        long[] lens = new long[chunk.layers().length];
        for (int l = 0; l < lens.length; l++) {
          lens[l] = chunk.layers()[l].top1()[i];
        }
        Example e = new Example(row, doc, pos, recent.stream().mapToInt(Integer::intValue).toArray(), next[i],
            chunk.finalTop1()[i], lens);
        if (slot == kept.size()) {
          kept.add(e);
        } else {
          kept.set(slot, e);
        }
      }
    }
  }

  /** The kept rows in stream order. */
  List<Example> examples() {
    List<Example> out = new ArrayList<>(kept);
    out.sort(Comparator.comparingLong(Example::row));
    return out;
  }
}
