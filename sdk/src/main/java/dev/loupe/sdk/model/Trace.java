package dev.loupe.sdk.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.function.Supplier;

/**
 * One forward pass with interventions, in the spirit of nnsight's {@code trace} and
 * TransformerLens's {@code run_with_hooks}: declare what to read and what to change at which hook
 * points, then {@link #run()}. Hooks are scoped to this trace and removed when it closes.
 *
 * <pre>{@code
 * try (Trace t = session.trace(tokens)) {
 *   Supplier<NDArray> resid = t.save("blocks.2.hook_resid_post");
 *   t.zero("blocks.1.hook_mlp_out");
 *   RunResult r = t.run();
 *   NDArray logits = r.output();
 * }
 * }</pre>
 *
 * <p>Interventions at the same hook apply in the order they were declared. A trace is used by one
 * thread and run once.
 */
public interface Trace extends AutoCloseable {

  /**
   * Registers a hook function at {@code hook}.
   *
   * @throws IllegalArgumentException naming the hook when the model has no such hook point
   */
  Trace hook(String hook, HookFunction fn);

  /**
   * Keeps the activation at {@code hook} (after any earlier interventions at that hook); the
   * supplier returns it once {@link #run()} has finished and until the trace closes.
   */
  Supplier<NDArray> save(String hook);

  /** Runs the forward pass with every registered hook; the result stays valid until close. */
  RunResult run();

  /** Replaces the activation at {@code hook} by zeros (zero-ablation). */
  default Trace zero(String hook) {
    return hook(hook, (a, h) -> a.zerosLike());
  }

  /**
   * Replaces the activation at {@code hook} by {@code mean} broadcast over every leading axis
   * (mean-ablation); {@code mean} has the shape of the last axis (or the trailing axes).
   */
  default Trace meanAblate(String hook, float[] mean) {
    return hook(hook, (a, h) -> {
      NDArray m = a.getManager().create(mean);
      Shape tail = a.getShape().slice(a.getShape().dimension() - 1);
      if (tail.get(0) != mean.length) {
        throw new IllegalArgumentException("mean for hook '" + h + "' has " + mean.length
            + " entries, expected " + tail.get(0));
      }
      return a.zerosLike().add(m);
    });
  }

  /**
   * Adds {@code scale * direction} at every position (activation steering); {@code direction}
   * has the width of the hook's last axis.
   */
  default Trace steer(String hook, float[] direction, float scale) {
    return hook(hook, (a, h) -> {
      long w = a.getShape().get(a.getShape().dimension() - 1);
      if (w != direction.length) {
        throw new IllegalArgumentException("steering direction for hook '" + h + "' has " + direction.length
            + " entries, expected " + w);
      }
      return a.add(a.getManager().create(direction).mul(scale));
    });
  }

  /**
   * Replaces the activation at {@code hook} by {@code source} (activation patching from another
   * run); {@code source} must have the same shape.
   */
  default Trace patch(String hook, NDArray source) {
    return hook(hook, (a, h) -> {
      if (!a.getShape().equals(source.getShape())) {
        throw new IllegalArgumentException("patch for hook '" + h + "' has shape " + source.getShape()
            + ", expected " + a.getShape());
      }
      return source.duplicate();
    });
  }

  /** Removes every hook and frees what the trace saved. */
  @Override
  void close();
}
