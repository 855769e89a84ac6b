package dev.loupe.samples.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.model.ModelSession;

/**
 * The tensor part of the logit lens: for a chunk of rows and every layer, the residual stream
 * through the model's final norm and unembedding ({@link ModelSession#unembed}), then the
 * vocabulary-wide reductions that turn {@code [rows, vocab]} logits into a few numbers per row.
 *
 * <p>Why tensors here and plain Java elsewhere: a row's logits have one entry per vocabulary token
 * (256 for the byte-level demo models, 50,000 for GPT-2), and log-softmax, argmax, KL and ranks
 * over all of them are what costs; the engine (libtorch, supplied by the host) does them in
 * native code. Only per-row results come back to the JVM.
 *
 * <p>Memory: every DJL array lives in an {@link NDManager} and is freed when that manager
 * closes. Each chunk gets its own manager, and each layer a sub-manager inside it, so at most a
 * few {@code [rows, vocab]} arrays exist at once; the chunk size bounds them.
 */
final class LensScorer {
  /** One layer's per-row results for a chunk. */
  record LayerScores(long[] top1, float[] kl, long[] nextRank, float[] nextLogProb) {
  }

  /** A chunk's results: the model's own top token per row, and every layer's scores. */
  record Chunk(long[] finalTop1, LayerScores[] layers) {
  }

  private final ModelSession session;
  private final int dModel;

  LensScorer(ModelSession session) {
    this.session = session;
    this.dModel = session.info().dModel();
  }

  /**
   * Scores one chunk.
   *
   * @param residuals per layer, the chunk's residual-stream rows, row-major {@code [rows, d_model]}
   * @param rows rows in the chunk
   * @param finalLayer the index in {@code residuals} of the last layer, whose lens is the model's
   *     own prediction
   * @param next the actual next token per row, or {@link NextTokens#NONE}
   */
  Chunk score(float[][] residuals, int rows, int finalLayer, int[] next) {
    try (NDManager m = NDManager.newBaseManager()) {
      // The reference: the model's own next-token distribution. The final norm and unembedding of
      // the last layer's residual stream is exactly what the model computes for its logits.
      NDArray finalLogits = logits(m, residuals[finalLayer], rows);
      NDArray finalLogProbs = finalLogits.logSoftmax(1);
      NDArray finalProbs = finalLogProbs.exp();
      long[] finalTop1 = finalLogits.argMax(1).toLongArray();

      // torch.gather wants int64 indices shaped like the output: [rows, 1]. Rows without a next
      // token look up token 0; LayerStats ignores their results.
      long[] idx = new long[rows];
      for (int r = 0; r < rows; r++) {
        idx[r] = next[r] == NextTokens.NONE ? 0 : next[r];
      }
      NDArray nextIdx = m.create(idx, new Shape(rows, 1));

      LayerScores[] layers = new LayerScores[residuals.length];
      for (int i = 0; i < residuals.length; i++) {
        // A sub-manager per layer: this layer's [rows, vocab] arrays are freed before the next.
        try (NDManager lm = m.newSubManager()) {
          NDArray logits = i == finalLayer ? finalLogits : logits(lm, residuals[i], rows);
          NDArray logProbs = i == finalLayer ? finalLogProbs : logits.logSoftmax(1);
          long[] top1 = logits.argMax(1).toLongArray();
          // KL(final || lens) = sum_v p_final(v) * (log p_final(v) - log p_lens(v)): how many nats
          // the lens's distribution loses against the model's own. Written with the lens's array
          // first so the intermediate [rows, vocab] arrays land in the layer's manager.
          float[] kl = logProbs.neg().add(finalLogProbs).mul(finalProbs).sum(new int[] {1})
              .toType(DataType.FLOAT32, false).toFloatArray();
          // The rank of the actual next token: one plus how many tokens the lens scores higher.
          NDArray nextLogit = logits.gather(nextIdx, 1);
          long[] rank = logits.gt(nextLogit).countNonzero(1).add(1).toType(DataType.INT64, false).toLongArray();
          float[] nextLogProb = logProbs.gather(nextIdx, 1).toType(DataType.FLOAT32, false).toFloatArray();
          layers[i] = new LayerScores(top1, kl, rank, nextLogProb);
        }
      }
      return new Chunk(finalTop1, layers);
    }
  }

  /** {@code [rows, vocab]} float32 logits of residual rows, owned by {@code m}. */
  private NDArray logits(NDManager m, float[] residual, int rows) {
    NDArray x = m.create(residual, new Shape(rows, dModel));
    NDArray logits = session.unembed(x);
    // The session creates its result where it likes; attaching it here makes the manager we
    // close free it.
    logits.attach(m);
    return logits.toType(DataType.FLOAT32, false);
  }
}
