package dev.loupe.sdk.model;

import ai.djl.ndarray.NDArray;

/**
 * A function run at a hook point during one forward pass, in the spirit of TransformerLens
 * hooks: it receives the activation and may return a replacement.
 *
 * <p>The activation has shape {@code [batch, pos, ...]} (for example {@code [batch, pos, d_model]}
 * at residual hooks, {@code [batch, head, query, key]} at {@code attn.hook_pattern}). Return it
 * unchanged (or null) to only read it, or return a new array of the same shape to replace it.
 * Arrays must not be kept after the call unless detached to a manager the caller owns.
 */
@FunctionalInterface
public interface HookFunction {
  NDArray apply(NDArray activation, String hookName);
}
