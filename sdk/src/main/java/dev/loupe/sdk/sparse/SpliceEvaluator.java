package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Evaluates a sparse coder by splicing its reconstruction into the model's forward pass and
 * measuring what next-token prediction loses: the clean loss, the loss with the coder spliced in,
 * the loss with the hook zero-ablated, the fraction of the ablation's damage the coder recovers,
 * and the KL divergence of the spliced next-token distribution from the clean one. These are the
 * "CE loss recovered" and KL metrics of SAELens and of Bricken et al. 2023 ("Towards
 * Monosemanticity"), and, with a read hook before the write hook, the "MLP replaced by a
 * transcoder" evaluation of Dunefsky et al. 2024.
 */
public final class SpliceEvaluator {
  private SpliceEvaluator() {
  }

  /**
   * What to splice: the activation at {@code readHook} is mapped by {@code replacement} to what is
   * written at {@code writeHook} in the same forward pass. For an SAE both hooks are the same; for a
   * transcoder the read hook is the MLP's input ({@code blocks.L.ln2.hook_normalized}) and the
   * write hook its output ({@code blocks.L.hook_mlp_out}). The read hook must run before (or be)
   * the write hook. The replacement receives {@code [batch, pos, width]} and must return the write
   * hook's shape.
   */
  public record Splice(String readHook, String writeHook, UnaryOperator<NDArray> replacement) {
    public Splice {
      Objects.requireNonNull(readHook, "readHook");
      Objects.requireNonNull(writeHook, "writeHook");
      Objects.requireNonNull(replacement, "replacement");
    }

    /** Replaces the activation at {@code hook} by {@code replacement} of itself (an SAE). */
    public static Splice at(String hook, UnaryOperator<NDArray> replacement) {
      return new Splice(hook, hook, replacement);
    }
  }

  /**
   * Mean next-token cross-entropy losses in nats over {@code predictions} predicted positions.
   *
   * @param lossRecovered {@code (ablated - spliced) / (ablated - clean)}: 1 when splicing costs
   *     nothing, 0 when it is as bad as zero-ablation; NaN when ablation changes nothing
   * @param klDivergence mean over positions of KL(clean || spliced) in nats
   */
  public record Result(double cleanLoss, double splicedLoss, double ablatedLoss, double lossRecovered,
      double klDivergence, long predictions, int sequences) {

    /** The increase of the loss caused by splicing, in nats. */
    public double lossIncrease() {
      return splicedLoss - cleanLoss;
    }
  }

  /**
   * Runs {@code sequences} three times (clean, spliced, zero-ablated) in batches of
   * {@code batchSize} and compares the next-token losses. Sequences with fewer than 2 tokens
   * predict nothing and are skipped.
   *
   * @throws IllegalArgumentException when the model is not causal, a hook is unknown, no
   *     sequence has two tokens, or the replacement returns the wrong shape
   * @throws IllegalStateException when the write hook ran before the read hook
   */
  public static Result evaluate(ModelSession session, List<int[]> sequences, Splice splice, int batchSize) {
    Objects.requireNonNull(session, "session");
    Objects.requireNonNull(splice, "splice");
    if (!session.info().causal()) {
      throw new IllegalArgumentException("splice evaluation needs next-token logits, but model '" + session.info().id()
          + "' (" + session.info().architecture() + ") is an encoder");
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }
    session.info().hookWidth(splice.readHook());
    session.info().hookWidth(splice.writeHook());
    List<int[]> usable = new ArrayList<>();
    for (int[] s : sequences) {
      if (s != null && s.length >= 2) {
        usable.add(s);
      }
    }
    if (usable.isEmpty()) {
      throw new IllegalArgumentException("splice evaluation needs at least one sequence of 2 or more tokens, got "
          + sequences.size() + " sequences");
    }
    double clean = 0;
    double spliced = 0;
    double ablated = 0;
    double kl = 0;
    long predictions = 0;
    for (int from = 0; from < usable.size(); from += batchSize) {
      int[][] batch = usable.subList(from, Math.min(usable.size(), from + batchSize)).toArray(new int[0][]);
      try (NDManager m = NDManager.newBaseManager()) {
        NDArray cleanLogProbs;
        try (RunResult r = session.run(batch, Set.of())) {
          cleanLogProbs = r.output().toType(DataType.FLOAT32, false).logSoftmax(-1);
          cleanLogProbs.attach(m);
        }
        NDArray splicedLogProbs;
        try (Trace t = session.trace(batch)) {
          NDArray[] stash = new NDArray[1];
          if (splice.readHook().equals(splice.writeHook())) {
            t.hook(splice.writeHook(), (a, h) -> checked(splice, a, splice.replacement().apply(a)));
          } else {
            t.hook(splice.readHook(), (a, h) -> {
              stash[0] = splice.replacement().apply(a);
              return a;
            });
            t.hook(splice.writeHook(), (a, h) -> {
              if (stash[0] == null) {
                throw new IllegalStateException("splice writes '" + splice.writeHook() + "' before its read hook '"
                    + splice.readHook() + "' has run; the read hook must come earlier in the forward pass");
              }
              return checked(splice, a, stash[0]);
            });
          }
          splicedLogProbs = t.run().output().toType(DataType.FLOAT32, false).logSoftmax(-1);
          splicedLogProbs.attach(m);
        }
        NDArray ablatedLogProbs;
        try (Trace t = session.trace(batch)) {
          t.zero(splice.writeHook());
          ablatedLogProbs = t.run().output().toType(DataType.FLOAT32, false).logSoftmax(-1);
          ablatedLogProbs.attach(m);
        }
        int seq = (int) cleanLogProbs.getShape().get(1);
        long[] next = new long[batch.length * seq];
        float[] mask = new float[batch.length * seq];
        for (int b = 0; b < batch.length; b++) {
          for (int p = 0; p + 1 < batch[b].length; p++) {
            next[b * seq + p] = batch[b][p + 1];
            mask[b * seq + p] = 1;
            predictions++;
          }
        }
        // only the target's log-probability and the KL per position come back to Java: the full
        // [batch, pos, vocab] arrays stay native (50k-token vocabularies make them large)
        NDArray index = m.create(next, new ai.djl.ndarray.types.Shape(batch.length, seq, 1));
        NDArray weight = m.create(mask, new ai.djl.ndarray.types.Shape(batch.length, seq));
        clean -= sumMasked(cleanLogProbs.gather(index, 2).squeeze(2), weight);
        spliced -= sumMasked(splicedLogProbs.gather(index, 2).squeeze(2), weight);
        ablated -= sumMasked(ablatedLogProbs.gather(index, 2).squeeze(2), weight);
        NDArray klPerPosition = cleanLogProbs.exp().mul(cleanLogProbs.sub(splicedLogProbs)).sum(new int[] {2});
        kl += sumMasked(klPerPosition, weight);
      }
    }
    double c = clean / predictions;
    double s = spliced / predictions;
    double a = ablated / predictions;
    double recovered = a == c ? Double.NaN : (a - s) / (a - c);
    return new Result(c, s, a, recovered, kl / predictions, predictions, usable.size());
  }

  private static double sumMasked(NDArray values, NDArray weight) {
    return values.mul(weight).sum().toType(DataType.FLOAT64, false).getDouble();
  }

  private static NDArray checked(Splice splice, NDArray original, NDArray replacement) {
    if (!original.getShape().equals(replacement.getShape())) {
      throw new IllegalArgumentException("splice replacement for '" + splice.writeHook() + "' has shape "
          + replacement.getShape() + ", expected " + original.getShape());
    }
    return replacement;
  }

  /**
   * Cuts rows streamed in document order (token id, document id and position in the document per
   * row) back into the model's input windows: a new sequence starts at a new document, a gap in
   * positions, or a multiple of {@code context} (windows are cut at multiples of the context).
   * Sequences shorter than 2 tokens are dropped.
   */
  public static List<int[]> sequences(int[] tokenIds, int[] docIds, int[] positions, int rows, int context) {
    if (context < 1) {
      throw new IllegalArgumentException("context must be >= 1, got " + context);
    }
    List<int[]> out = new ArrayList<>();
    int start = 0;
    for (int i = 1; i <= rows; i++) {
      boolean cut = i == rows || docIds[i] != docIds[i - 1] || positions[i] != positions[i - 1] + 1
          || positions[i] % context == 0;
      if (cut) {
        if (i - start >= 2) {
          out.add(java.util.Arrays.copyOfRange(tokenIds, start, i));
        }
        start = i;
      }
    }
    return out;
  }
}
