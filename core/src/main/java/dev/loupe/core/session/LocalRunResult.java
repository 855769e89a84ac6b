package dev.loupe.core.session;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.model.RunResult;
import java.util.Map;
import java.util.Set;

/** A forward pass's outputs held in their own manager, freed together on close. */
final class LocalRunResult implements RunResult {
  private final NDManager manager;
  private final NDArray output;
  private final Map<String, NDArray> captured;
  private final int[] lengths;
  private volatile boolean closed;

  LocalRunResult(NDManager manager, NDArray output, Map<String, NDArray> captured, int[] lengths) {
    this.manager = manager;
    this.output = output;
    this.captured = Map.copyOf(captured);
    this.lengths = lengths.clone();
  }

  @Override
  public NDArray output() {
    checkOpen();
    return output;
  }

  @Override
  public Set<String> capturedHooks() {
    return captured.keySet();
  }

  @Override
  public NDArray activation(String hook) {
    checkOpen();
    NDArray a = captured.get(hook);
    if (a == null) {
      throw new IllegalArgumentException("hook '" + hook + "' was not captured in this run; captured: "
          + captured.keySet());
    }
    return a;
  }

  @Override
  public int[] lengths() {
    return lengths.clone();
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this run result is closed; its arrays were freed");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      manager.close();
    }
  }
}
