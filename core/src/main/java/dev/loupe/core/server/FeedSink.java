package dev.loupe.core.server;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * Where a {@link JobFeed} writes: one WebSocket client. {@link #full()} is the socket's
 * {@code writeQueueFull()}: while it is true the feed holds back (and coalesces) instead of
 * queueing more, so a slow client costs the server a bounded amount of memory.
 */
interface FeedSink {
  /** Whether the client's write queue is full. */
  boolean full();

  /** Sends one frame. */
  void send(JsonObject frame);

  /** Sends one frame already encoded as JSON text (built off the event loop). */
  void sendText(String frame);

  /** The Vert.x instance, for blocking file reads. */
  Vertx vertx();
}
