package dev.loupe.core.node;

import io.vertx.core.Vertx;
import java.util.function.Supplier;

/**
 * Node services on a local Vert.x instance, started the first time something asks for them (a
 * headless job whose input is a model or a stream), so commands that need none pay nothing.
 * Thread-safe.
 */
public final class LazyLocalServices implements Supplier<NodeServices>, AutoCloseable {
  private final String nodeId;
  private NodeServices services;

  public LazyLocalServices(String nodeId) {
    this.nodeId = nodeId;
  }

  @Override
  public synchronized NodeServices get() {
    if (services == null) {
      Vertx vertx = Vertx.vertx();
      try {
        services = new NodeServices(vertx, nodeId);
      } catch (RuntimeException e) {
        vertx.close();
        throw e;
      }
    }
    return services;
  }

  @Override
  public synchronized void close() {
    if (services != null) {
      NodeServices s = services;
      services = null;
      s.close();
      s.vertx().close().toCompletionStage().toCompletableFuture().join();
    }
  }
}
