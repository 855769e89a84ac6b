package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.regex.Pattern;

/**
 * The tokens a feature's decoder direction promotes and suppresses most when written into the
 * residual stream: the "top logits" / "bottom logits" tables of a Neuronpedia or SAEDashboard
 * feature page, computed as W_dec W_U through the linear part of the final norm
 * ({@link ModelSession#unembedDirections}).
 */
public final class LogitEffects {
  /** Hooks whose activations are added to (or are) the residual stream, so a direction there has a direct effect. */
  private static final Pattern RESIDUAL_WRITERS = Pattern.compile(
      "(blocks\\.\\d+\\.(hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|hook_mlp_out)|hook_embed)");
  private static final int CHUNK = 64;

  private LogitEffects() {
  }

  /** One token and its logit effect. */
  public record TokenEffect(int tokenId, String token, double effect) {
  }

  /** A direction's strongest promoted tokens (largest first) and suppressed tokens (most negative first). */
  public record Effects(List<TokenEffect> positive, List<TokenEffect> negative) {
  }

  /**
   * Whether directions at {@code hook} have direct logit effects in this model: a causal model and
   * a hook that writes into the residual stream.
   */
  public static boolean applies(ModelInfo info, String hook) {
    return info.causal() && RESIDUAL_WRITERS.matcher(hook).matches() && info.hookWidths().containsKey(hook)
        && info.hookWidth(hook) == info.dModel();
  }

  /**
   * The top {@code n} positive and negative effects of each row of {@code directions}
   * {@code [rows, d_model]}, computed {@value #CHUNK} rows at a time so a 50k-token vocabulary
   * never needs a full [rows, vocab] matrix.
   *
   * @throws IllegalArgumentException when n is not positive or the width is not d_model
   */
  public static List<Effects> of(ModelSession session, NDArray directions, int n) {
    if (n < 1) {
      throw new IllegalArgumentException("number of logit effects per direction must be >= 1, got " + n);
    }
    Shape s = directions.getShape();
    if (s.dimension() != 2 || s.get(1) != session.info().dModel()) {
      throw new IllegalArgumentException("directions must have shape [rows, d_model = " + session.info().dModel()
          + "], got " + s);
    }
    int rows = (int) s.get(0);
    List<Effects> out = new ArrayList<>(rows);
    for (int from = 0; from < rows; from += CHUNK) {
      int to = Math.min(rows, from + CHUNK);
      try (NDManager m = NDManager.newBaseManager()) {
        NDArray chunk = directions.get(from + ":" + to);
        chunk.attach(m);
        NDArray logits = session.unembedDirections(chunk);
        logits.attach(m);
        float[] v = logits.toType(DataType.FLOAT32, false).toFloatArray();
        int vocab = (int) logits.getShape().get(1);
        for (int r = 0; r < to - from; r++) {
          out.add(new Effects(extreme(session, v, r * vocab, vocab, n, true),
              extreme(session, v, r * vocab, vocab, n, false)));
        }
      }
    }
    return out;
  }

  private static List<TokenEffect> extreme(ModelSession session, float[] v, int base, int vocab, int n, boolean top) {
    // a min-heap of the best n seen so far (by sign-adjusted value)
    PriorityQueue<Integer> heap = new PriorityQueue<>(n + 1, (a, b) -> Float.compare(sign(v[base + a], top),
        sign(v[base + b], top)));
    for (int t = 0; t < vocab; t++) {
      heap.add(t);
      if (heap.size() > n) {
        heap.poll();
      }
    }
    List<TokenEffect> list = new ArrayList<>(heap.size());
    while (!heap.isEmpty()) {
      int t = heap.poll();
      list.add(0, new TokenEffect(t, session.tokenText(t), v[base + t]));
    }
    return list;
  }

  private static float sign(float x, boolean top) {
    return top ? x : -x;
  }

  /**
   * The residual-stream direction of each token's logit: the vector {@code d_t} with
   * {@code d_t . x = } the direct effect of {@code x} on the logit of token t through the final
   * norm's linear part (gain and centring; {@link ModelSession#unembedDirections}), i.e.
   * {@code centre(gain * W_U[:, t])}. Differences of these are the mechanistic probes of Gurnee
   * et al. 2023 (directions read from the weights, no training data). Rows in {@code tokenIds} order,
   * row-major [tokens, d_model].
   *
   * @throws UnsupportedOperationException for models without an unembedding
   * @throws IllegalArgumentException when a token id is outside the vocabulary
   */
  public static float[] tokenDirections(ModelSession session, int[] tokenIds) {
    int d = session.info().dModel();
    int vocab = session.info().vocabSize();
    for (int t : tokenIds) {
      if (t < 0 || t >= vocab) {
        throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocab + ")");
      }
    }
    float[] out = new float[tokenIds.length * d];
    try (NDManager m = NDManager.newBaseManager()) {
      // the effect of each basis direction on every logit is the matrix whose columns are the d_t
      for (int from = 0; from < d; from += CHUNK) {
        int n = Math.min(CHUNK, d - from);
        float[] eye = new float[n * d];
        for (int i = 0; i < n; i++) {
          eye[i * d + from + i] = 1;
        }
        float[] logits = session.unembedDirections(m.create(eye, new Shape(n, d))).toType(DataType.FLOAT32, false)
            .toFloatArray();
        for (int i = 0; i < n; i++) {
          for (int k = 0; k < tokenIds.length; k++) {
            out[k * d + from + i] = logits[i * vocab + tokenIds[k]];
          }
        }
      }
    }
    return out;
  }
}
