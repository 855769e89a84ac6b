package dev.loupe.core.stream;

import io.vertx.core.Vertx;
import java.util.Map;
import java.util.UUID;
import java.util.WeakHashMap;

/**
 * A random token per Vert.x instance, so a producer can tell consumers in its own instance (which
 * get batches by reference) from consumers on other cluster nodes (which get chunked, encoded copies).
 */
final class NodeTokens {
  private static final Map<Vertx, String> TOKENS = new WeakHashMap<>();

  private NodeTokens() {
  }

  static synchronized String of(Vertx vertx) {
    return TOKENS.computeIfAbsent(vertx, v -> UUID.randomUUID().toString());
  }
}
