package dev.loupe.core.server;

import dev.loupe.core.coder.CoderCatalog;
import dev.loupe.core.session.SessionAddresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Sends interactive queries (run, logit lens) to a session over the event bus, so the session may
 * live on any node and runs them on its worker one at a time. Coder references in a request are
 * resolved here, against this node's run directory, into the internal {@code {dir, id}} form the
 * session reads: a client never names a directory the session opens.
 */
final class SessionCalls {
  private final Vertx vertx;
  private final CoderCatalog coders;
  private final long timeoutMillis;

  SessionCalls(Vertx vertx, CoderCatalog coders, long timeoutMillis) {
    this.vertx = vertx;
    this.coders = coders;
    this.timeoutMillis = timeoutMillis;
  }

  /**
   * Runs {@code op} ({@code run} or {@code lens}) with {@code request} on session {@code sessionId};
   * the answer comes back encoded. Fails with an {@link IllegalArgumentException} naming the field
   * for a bad coder reference, or as the session replied (see {@link Replies#classify}).
   */
  Future<Buffer> query(String sessionId, String op, JsonObject request) {
    String address;
    try {
      address = SessionAddresses.query(sessionId);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(ApiException.notFound("no session '" + sessionId + "' on any node"));
    }
    if (request.containsKey("op")) {
      return Future.failedFuture(new IllegalArgumentException("'op': unknown key; the endpoint says what to do"));
    }
    // Coder lookups read the disk: do them on a worker.
    return vertx.<JsonObject>executeBlocking(() -> resolveCoders(request), false)
        .compose(req -> vertx.eventBus().<Buffer>request(address, req.put("op", op),
            new DeliveryOptions().setSendTimeout(timeoutMillis)))
        .map(m -> m.body());
  }

  private JsonObject resolveCoders(JsonObject request) {
    JsonObject req = request.copy();
    rewrite(req.getValue("hooks"), "hooks");
    rewrite(req.getValue("interventions"), "interventions");
    return req;
  }

  private void rewrite(Object list, String field) {
    if (!(list instanceof JsonArray a)) {
      return; // the session names the field when it is not an array
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.getValue(i) instanceof JsonObject o && o.getValue("coder") != null) {
        CoderCatalog.Entry e = coders.resolve(field + "[" + i + "].coder", o.getValue("coder"));
        o.put("coder", new JsonObject().put("dir", e.dir().toString()).put("id", e.id()));
      }
    }
  }
}
