package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * The outputs of {@link HookedTransformer#forward}: {@code [batch, pos, vocab]} logits, the captured
 * activations by hook name, and each sequence's length before padding. Every array belongs to
 * the manager passed to {@code forward}.
 */
public record ForwardResult(NDArray logits, Map<String, NDArray> captured, int[] lengths) {
  public ForwardResult {
    captured = Map.copyOf(captured);
  }
}
