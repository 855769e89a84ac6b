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

  /** A trace over a batch of token sequences; see {@link Trace}. */
  Trace trace(int[][] tokens);

  /**
   * Logit lens: applies the final normalisation and the unembedding to a residual activation
   * {@code [..., d_model]}, giving {@code [..., vocab]} logits (causal models only).
   *
   * @throws UnsupportedOperationException for encoders without an unembedding
   */
  NDArray unembed(NDArray residual);
}
