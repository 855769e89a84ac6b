package dev.loupe.core.node;

import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/**
 * One running harvest: a model session reading a corpus and streaming the activations of several
 * hook points, each on its own stream, to whoever subscribes. Thread-safe.
 */
public final class Harvest {
  /** Where a harvest is. */
  public enum State { WAITING_FOR_CONSUMERS, RUNNING, DONE, FAILED, CANCELLED }

  private final String id;
  private final String sessionId;
  private final HarvestRequest request;
  private final Map<String, String> streams;
  private final CompletableFuture<Harvest> completion = new CompletableFuture<>();
  private volatile State state = State.WAITING_FOR_CONSUMERS;
  private volatile long tokensDone;
  private volatile String message = "";
  private volatile Future<?> task;

  Harvest(String id, String sessionId, HarvestRequest request, Map<String, String> streams) {
    this.id = id;
    this.sessionId = sessionId;
    this.request = request;
    this.streams = Map.copyOf(streams);
  }

  public String id() { return id; }
  public String sessionId() { return sessionId; }
  public HarvestRequest request() { return request; }
  /** Hook name to the id of the stream carrying it. */
  public Map<String, String> streams() { return streams; }
  public State state() { return state; }
  public long tokensDone() { return tokensDone; }
  /** Empty while all is well; the reason when failed. */
  public String message() { return message; }
  /** Completes when the harvest ends, whatever the outcome. */
  public CompletableFuture<Harvest> completion() { return completion; }

  void task(Future<?> f) { this.task = f; }
  void state(State s) { this.state = s; }
  void tokensDone(long n) { this.tokensDone = n; }

  void finish(State s, String why) {
    this.message = why == null ? "" : why;
    this.state = s;
    completion.complete(this);
  }

  /** Stops the harvest (its streams fail with "cancelled"); idempotent. */
  public void cancel() {
    Future<?> t = task;
    if (t != null) {
      t.cancel(true);
    }
  }

  public JsonObject toJson() {
    JsonObject s = new JsonObject();
    streams.forEach(s::put);
    return new JsonObject().put("id", id).put("session", sessionId).put("state", state.name())
        .put("tokens_done", tokensDone).put("message", message).put("streams", s).put("request", request.toJson());
  }
}
