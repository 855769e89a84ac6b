package dev.loupe.sdk.model;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The shape of a loaded model: architecture, sizes, vocabulary and every hook point it has, with
 * the width of the last axis at each hook (for attention hooks such as {@code hook_pattern} the
 * last axis is the key position and the width is reported as -1).
 *
 * @param id the model reference it was opened with (e.g. {@code demo}, {@code hf:EleutherAI/pythia-70m})
 * @param architecture e.g. {@code gpt2}, {@code gpt_neox}, {@code llama}, {@code bert}
 * @param causal true for decoder-only language models (next-token logits), false for encoders
 */
public record ModelInfo(String id, String architecture, boolean causal, int nLayers, int dModel, int nHeads,
    int dHead, int dMlp, int vocabSize, int maxContext, long parameters, List<String> hookNames,
    Map<String, Integer> hookWidths) {

  public ModelInfo {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(architecture, "architecture");
    hookNames = List.copyOf(hookNames);
    hookWidths = Map.copyOf(hookWidths);
  }

  /** Whether this model has a hook of that name. */
  public boolean hasHook(String name) {
    return hookWidths.containsKey(name);
  }

  /**
   * The last-axis width of activations at {@code hook}.
   *
   * @throws IllegalArgumentException naming the hook and the model when it has no such hook
   */
  public int hookWidth(String hook) {
    Integer w = hookWidths.get(hook);
    if (w == null) {
      throw new IllegalArgumentException("model '" + id + "' has no hook '" + hook + "'; run `loupe model info "
          + id + "` for the list (e.g. " + (hookNames.isEmpty() ? "" : hookNames.get(Math.min(2, hookNames.size() - 1))) + ")");
    }
    return w;
  }
}
