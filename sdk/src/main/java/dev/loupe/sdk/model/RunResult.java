package dev.loupe.sdk.model;

import ai.djl.ndarray.NDArray;
import java.util.Set;

/**
 * The outputs of one forward pass: logits (or the last hidden state for encoders) and the
 * activations captured at the requested hooks. Owns native memory: close it.
 */
public interface RunResult extends AutoCloseable {

  /** {@code [batch, pos, vocab]} logits for causal models; {@code [batch, pos, d_model]} last hidden state for encoders. */
  NDArray output();

  /** Names of the captured hooks. */
  Set<String> capturedHooks();

  /**
   * The activation captured at {@code hook}.
   *
   * @throws IllegalArgumentException naming the hook when it was not captured
   */
  NDArray activation(String hook);

  /** Per-sequence lengths before padding. */
  int[] lengths();

  /** Frees the native memory of every array above. */
  @Override
  void close();
}
