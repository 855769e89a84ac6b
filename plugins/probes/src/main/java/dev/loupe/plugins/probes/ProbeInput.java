package dev.loupe.plugins.probes;

import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;

/**
 * One input of a probes job as the sweep sees it: its activation source, hook and layer, the
 * columns it occupies in the row-aligned read of all inputs, and the model session it comes from
 * (null when the host cannot reach one, e.g. a file or store input).
 *
 * @param layer the hook's block index, or -1 when the hook is outside the blocks or not a hook name
 * @param offset the first column of this input in the aligned rows
 */
record ProbeInput(String name, ActivationSource source, String hook, int layer, int width, int offset,
    ModelSession session) {

  /** The model's id, or "?" without a session. */
  String modelId() {
    return session == null ? "?" : session.info().id();
  }

  /**
   * The job's inputs in sweep order, each checked against its model (a hook or layer the model does
   * not have is refused here, before anything is read).
   *
   * @throws IllegalArgumentException naming the input and what was expected
   */
  static List<ProbeInput> resolve(JobContext ctx, List<String> order) {
    List<String> names = order.isEmpty() ? new ArrayList<>(ctx.inputNames()) : order;
    if (names.isEmpty()) {
      throw new IllegalArgumentException("a probes job needs at least one input (an activation source, e.g. a model:"
          + " input at blocks.L.hook_resid_post); this job has none");
    }
    if (new LinkedHashSet<>(names).size() != names.size()) {
      throw new IllegalArgumentException("config inputs = " + names + " names an input twice");
    }
    List<ProbeInput> out = new ArrayList<>();
    int offset = 0;
    for (String name : names) {
      if (!ctx.inputNames().contains(name)) {
        throw new IllegalArgumentException("config inputs names input '" + name + "', but the job's inputs are "
            + ctx.inputNames());
      }
      ActivationSource src = ctx.input(name);
      Optional<ModelSession> session = ctx.model(name);
      String hook = src.hookName();
      int layer = layerOf(hook);
      if (session.isPresent()) {
        checkHook(name, hook, layer, session.get().info());
      }
      out.add(new ProbeInput(name, src, hook, layer, src.width(), offset, session.orElse(null)));
      offset = Math.addExact(offset, src.width());
    }
    return List.copyOf(out);
  }

  private static int layerOf(String hook) {
    try {
      return HookPoint.parse(hook).layer();
    } catch (IllegalArgumentException e) {
      return -1;
    }
  }

  private static void checkHook(String input, String hook, int layer, ModelInfo info) {
    try {
      HookPoint.parse(hook);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("input '" + input + "' reads '" + hook + "' from model '" + info.id()
          + "', which is not a hook name: " + e.getMessage());
    }
    if (layer >= info.nLayers()) {
      throw new IllegalArgumentException("input '" + input + "' reads " + hook + ", but model '" + info.id() + "' has "
          + info.nLayers() + " layers (0.." + (info.nLayers() - 1) + ")");
    }
    if (!info.hasHook(hook)) {
      throw new IllegalArgumentException("input '" + input + "' reads '" + hook + "', which model '" + info.id()
          + "' does not have; `loupe model info " + info.id() + "` lists its hooks (e.g. "
          + HookPoint.residPost(Math.max(0, info.nLayers() - 1)) + ")");
    }
  }

  /** A short label for plots: the input's name, with its layer when the name does not say it. */
  String label() {
    return name;
  }
}
