package dev.loupe.core.session;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.model.ForwardHooks;
import dev.loupe.sdk.model.HookFunction;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import java.util.Objects;
import java.util.function.Supplier;

/** A {@link Trace} over a {@link LocalModelSession}: collects hooks, runs once, frees all on close. */
final class LocalTrace implements Trace {
  private final LocalModelSession session;
  private final int[][] tokens;
  private final NDManager manager;
  private final ForwardHooks hooks = ForwardHooks.none();
  private RunResult result;
  private boolean closed;

  LocalTrace(LocalModelSession session, int[][] tokens, NDManager manager) {
    this.session = session;
    this.tokens = tokens;
    this.manager = manager;
  }

  @Override
  public Trace hook(String hook, HookFunction fn) {
    Objects.requireNonNull(fn, "fn");
    checkUsable();
    session.info().hookWidth(hook);
    hooks.add(hook, fn);
    return this;
  }

  @Override
  public Supplier<NDArray> save(String hook) {
    NDArray[] holder = new NDArray[1];
    hook(hook, (a, h) -> {
      // The pass frees its arrays when it ends: keep a copy in the trace's own manager.
      NDArray copy = a.duplicate();
      copy.attach(manager);
      holder[0] = copy;
      return null;
    });
    return () -> {
      if (closed) {
        throw new IllegalStateException("trace is closed; saved activation '" + hook + "' was freed");
      }
      if (holder[0] == null) {
        throw new IllegalStateException("saved activation '" + hook + "' is available after run()");
      }
      return holder[0];
    };
  }

  @Override
  public RunResult run() {
    checkUsable();
    result = session.run(tokens, hooks, manager);
    return result;
  }

  private void checkUsable() {
    if (closed) {
      throw new IllegalStateException("trace is closed");
    }
    if (result != null) {
      throw new IllegalStateException("trace has already run; a trace runs once");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      hooks.clear();
      manager.close();
    }
  }
}
