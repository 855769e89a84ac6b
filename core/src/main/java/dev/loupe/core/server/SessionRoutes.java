package dev.loupe.core.server;

import dev.loupe.core.node.Harvest;
import dev.loupe.core.node.HarvestRequest;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.node.NodeAddresses;
import dev.loupe.sdk.config.ConfigException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Optional;

/**
 * {@code /api/sessions} and {@code /api/harvests}: open and close model sessions, run prompts and
 * the logit lens on them (on the session's worker, one forward pass at a time), and stream their
 * activations to jobs (harvests).
 */
final class SessionRoutes {
  private final LoupeNode node;
  private final SessionCalls calls;

  SessionRoutes(LoupeNode node, SessionCalls calls) {
    this.node = node;
    this.calls = calls;
  }

  void mount(Router r) {
    r.get("/api/sessions").handler(ctx -> Replies.json(ctx, 200, node.services().sessionsJson()));
    r.post("/api/sessions").handler(this::open);
    r.delete("/api/sessions/:id").handler(this::close);
    r.post("/api/sessions/:id/run").handler(ctx -> query(ctx, "run"));
    r.post("/api/sessions/:id/logit-lens").handler(ctx -> query(ctx, "lens"));
    r.post("/api/sessions/:id/harvests").handler(this::startHarvest);
    r.get("/api/harvests/:id").handler(ctx -> harvest(ctx).ifPresent(h -> Replies.json(ctx, 200, h.toJson())));
    r.delete("/api/harvests/:id").handler(ctx -> harvest(ctx).ifPresent(h -> {
      h.cancel();
      Replies.json(ctx, 202, h.toJson());
    }));
  }

  private void open(RoutingContext ctx) {
    JsonObject body = Replies.body(ctx);
    if (body == null) {
      return;
    }
    for (String k : body.fieldNames()) {
      if (!k.equals("model")) {
        Replies.error(ctx, 400, "'" + k + "': unknown key; expected model");
        return;
      }
    }
    if (!(body.getValue("model") instanceof String model)) {
      Replies.error(ctx, 400, "'model': required, a model reference such as \"tiny\" (GET /api/models)");
      return;
    }
    node.vertx().<String>executeBlocking(() -> node.services().open(model), false).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      JsonObject out = node.services().sessionsJson().stream().map(JsonObject.class::cast)
          .filter(s -> s.getString("id").equals(ar.result())).findFirst().orElseThrow();
      Replies.json(ctx, 201, out);
    });
  }

  /** Closes a session of this node; refused while a harvest reads it. */
  private void close(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    if (node.services().session(id).isEmpty()) {
      Replies.error(ctx, 404, "no session '" + id + "' on node " + node.nodeId() + " (GET /api/sessions)");
      return;
    }
    List<String> feeding = node.services().harvests().harvests().stream()
        .filter(h -> h.sessionId().equals(id))
        .filter(h -> h.state() == Harvest.State.RUNNING || h.state() == Harvest.State.WAITING_FOR_CONSUMERS)
        .map(Harvest::id).toList();
    if (!feeding.isEmpty()) {
      Replies.error(ctx, 409, "session '" + id + "' is feeding harvest" + (feeding.size() > 1 ? "s " : " ") + feeding
          + "; stop " + (feeding.size() > 1 ? "them" : "it") + " first (DELETE /api/harvests/ID)");
      return;
    }
    node.vertx().executeBlocking(() -> node.services().close(id), false).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
      } else if (!ar.result()) {
        Replies.error(ctx, 404, "no session '" + id + "' on node " + node.nodeId());
      } else {
        Replies.json(ctx, 200, new JsonObject().put("id", id).put("closed", true));
      }
    });
  }

  private void query(RoutingContext ctx, String op) {
    JsonObject body = Replies.body(ctx);
    if (body == null) {
      return;
    }
    calls.query(ctx.pathParam("id"), op, body)
        .onSuccess(answer -> Replies.json(ctx, 200, answer))
        .onFailure(ctx::fail);
  }

  private void startHarvest(RoutingContext ctx) {
    JsonObject body = Replies.body(ctx);
    if (body == null) {
      return;
    }
    try {
      HarvestRequest.fromJson(body); // reject bad requests here, before going to the session's node
    } catch (ConfigException e) {
      ctx.fail(e);
      return;
    }
    // Through the event bus, so the session may live on any node of the cluster.
    node.vertx().eventBus().<JsonObject>request(NodeAddresses.harvest(ctx.pathParam("id")), body)
        .onSuccess(reply -> Replies.json(ctx, 201, reply.body()))
        .onFailure(ctx::fail);
  }

  private Optional<Harvest> harvest(RoutingContext ctx) {
    Optional<Harvest> h = node.services().harvests().harvest(ctx.pathParam("id"));
    if (h.isEmpty()) {
      Replies.error(ctx, 404, "no harvest '" + ctx.pathParam("id") + "' on node " + node.nodeId());
    }
    return h;
  }
}
