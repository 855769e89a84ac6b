package dev.loupe.sdk.model;

import ai.djl.ndarray.NDArray;
import java.util.Set;

/**
 * A loaded model, as plugins see it: tokenize, run forward passes with capture, trace with
 * interventions, unembed. Implementations serialise access to the model, so it is safe to call
 * from several threads (calls queue).
 */
public interface ModelSession {

  /** The model's shape and hook points. */
  ModelInfo info();

  /** Token ids of {@code text} (no special tokens added for causal models). */
  int[] encode(String text);

  /** Text of token ids. */
  String decode(int[] tokenIds);

  /** The text of one token, for display (e.g. {@code " the"} or a byte such as {@code "\\x0a"}). */
  String tokenText(int tokenId);

  /**
   * One forward pass over a batch of token sequences (ragged: shorter ones are padded and
   * masked), capturing the named hooks.
   *
   * @throws IllegalArgumentException naming the hook or the sequence when a hook is unknown, a
   *     sequence is empty, longer than the context or holds an id outside the vocabulary
   */
  RunResult run(int[][] tokens, Set<String> capture);

  /**
   * One forward pass with token type (segment) ids, as BERT-style encoders take for text pairs:
   * {@code tokenTypes[i][j]} is the type of {@code tokens[i][j]}. Null, or all zeros, is the same
   * as {@link #run(int[][], Set)}.
   *
   * <p>The default serves models without token types: it accepts null or all-zero types and
   * delegates to {@link #run(int[][], Set)}.
   *
   * @throws IllegalArgumentException as {@link #run(int[][], Set)}, naming the sequence and
   *     position when the types do not match the tokens in shape or hold an id the model lacks,
   *     and naming the model when it takes no token types but some are non-zero
   */
  default RunResult run(int[][] tokens, int[][] tokenTypes, Set<String> capture) {
    if (tokenTypes != null) {
      for (int i = 0; i < tokenTypes.length; i++) {
        int[] row = tokenTypes[i];
        for (int j = 0; row != null && j < row.length; j++) {
          if (row[j] != 0) {
            throw new IllegalArgumentException("model " + info().id() + " (" + info().architecture()
                + ") takes no token types, but tokenTypes[" + i + "][" + j + "] = " + row[j]
                + "; pass null or zeros");
          }
        }
      }
    }
    return run(tokens, capture);
  }

  /**
   * Encodes a text pair as the model takes one (BERT: [CLS] first [SEP] second [SEP], types 0 for
   * the first part, 1 for the second), for {@link #run(int[][], int[][], Set)}.
   *
   * @throws UnsupportedOperationException naming the model when it has no pair encoding (the
   *     default)
   */
  default EncodedPair encodePair(String first, String second) {
    throw new UnsupportedOperationException("model " + info().id() + " (" + info().architecture()
        + ") has no text-pair encoding");
  }

  /** A trace over a batch of token sequences; see {@link Trace}. */
  Trace trace(int[][] tokens);

  /**
   * Logit lens: applies the final normalisation and the unembedding to a residual activation
   * {@code [..., d_model]}, giving {@code [..., vocab]} logits (causal models only).
   *
   * @throws UnsupportedOperationException for encoders without an unembedding
   */
  NDArray unembed(NDArray residual);

  /**
   * Direct logit effect of residual-stream directions {@code [..., d_model] -> [..., vocab]}: the
   * linear part of the final norm (centring and gain for LayerNorm, gain for RMSNorm; no per-token
   * scale, no bias, as after TransformerLens's {@code fold_ln}) then the unembedding. For an SAE's
   * decoder rows this is the "top logits" table of a feature dashboard.
   *
   * @throws UnsupportedOperationException for encoders without an unembedding (the default)
   */
  default NDArray unembedDirections(NDArray directions) {
    throw new UnsupportedOperationException("model " + info().id() + " (" + info().architecture()
        + ") has no direct logit effects");
  }

  /**
   * How a normalisation hook ({@code blocks.L.ln1.hook_normalized},
   * {@code blocks.L.ln2.hook_normalized}, {@code ln_final.hook_normalized}: those of
   * {@link ModelInfo#hookNames()} the model has) is computed from the activation it normalises:
   * which hook that is, the norm's gain and bias as they enter the hook, whether it centres
   * (LayerNorm) or not (RMSNorm), and its epsilon. See {@link Normalization}; freezing its per-token
   * scale linearises the norm, as transcoder attribution needs.
   *
   * <p>The input hook and the gain depend on the architecture: a sequential pre-norm block's ln2
   * reads {@code hook_resid_mid}, a parallel one's reads {@code hook_resid_pre}; a post-norm
   * encoder's norms read the residual sums; a hook before the norm's weight has gain ones and bias
   * zeros.
   *
   * @throws IllegalArgumentException naming the hook, and listing the valid ones, when the model
   *     has no such hook or the hook is not a normalisation's output
   * @throws UnsupportedOperationException naming the model when it does not describe its
   *     normalisations (the default)
   */
  default Normalization normalization(String normalizedHook) {
    throw new UnsupportedOperationException("model " + info().id() + " (" + info().architecture()
        + ") does not describe its normalisations");
  }
}
