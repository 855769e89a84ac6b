package dev.loupe.core.server;

import dev.loupe.core.job.JobAddresses;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.node.Harvest;
import dev.loupe.core.node.HarvestRequest;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.node.NodeAddresses;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.core.plugin.UnknownMethodException;
import dev.loupe.core.session.SessionAddresses;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.config.ConfigOption;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's HTTP API (JSON): methods, sessions, harvests and jobs, plus a server-sent-events
 * feed of a job's progress. Errors are JSON {@code {"error": ...}} with a 4xx status naming the
 * bad field; a server error never shows a stack trace (it goes to the log).
 *
 * <pre>
 * GET    /api/health                        node id, clustered or not
 * GET    /api/methods                       analysis methods with their config options
 * GET    /api/sessions                      sessions on this node
 * POST   /api/sessions        {model}       open a session here
 * POST   /api/sessions/ID/harvests  {corpus, hooks, tokens, consumers, ...}
 *                                           stream a session's activations (the session may be on another node)
 * GET    /api/harvests/ID                   harvest state (harvests of this node)
 * DELETE /api/harvests/ID                   stop a harvest (its streams fail with "cancelled")
 * POST   /api/jobs            {method, config, inputs, id}   start a job here
 * GET    /api/jobs | /api/jobs/ID           job status
 * DELETE /api/jobs/ID                       cancel a job
 * GET    /api/jobs/ID/events                server-sent events: progress, metrics, status
 * GET    /                                  the web UI ({@link WebUi})
 * </pre>
 */
public final class HttpApi {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
  /** Largest request body accepted. */
  public static final long MAX_BODY_BYTES = 1 << 20;

  private final LoupeNode node;

  private HttpApi(LoupeNode node) {
    this.node = node;
  }

  /** Starts the API on {@code host:port} (port 0: any free port). */
  public static Future<HttpServer> listen(LoupeNode node, String host, int port) {
    HttpApi api = new HttpApi(node);
    return node.vertx().createHttpServer().requestHandler(api.router()).listen(port, host);
  }

  Router router() {
    Router r = Router.router(node.vertx());
    r.route("/api/*").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES));
    r.get("/api/health").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "ok")
        .put("node", node.nodeId()).put("clustered", node.clustered())));
    r.get("/api/methods").handler(this::methods);
    r.get("/api/sessions").handler(ctx -> json(ctx, 200, node.services().sessionsJson()));
    r.post("/api/sessions").handler(this::openSession);
    r.post("/api/sessions/:id/harvests").handler(this::startHarvest);
    r.get("/api/harvests/:id").handler(this::harvest);
    r.delete("/api/harvests/:id").handler(ctx -> {
      Optional<Harvest> h = node.services().harvests().harvest(ctx.pathParam("id"));
      if (h.isEmpty()) {
        error(ctx, 404, "no harvest '" + ctx.pathParam("id") + "' on node " + node.nodeId());
      } else {
        h.get().cancel();
        json(ctx, 202, h.get().toJson());
      }
    });
    r.post("/api/jobs").handler(this::startJob);
    r.get("/api/jobs").handler(ctx -> {
      JsonArray a = new JsonArray();
      node.jobs().jobs().forEach(j -> a.add(new JsonObject(j.status().toDoc())));
      json(ctx, 200, a);
    });
    r.get("/api/jobs/:id").handler(ctx -> job(ctx).ifPresent(j -> json(ctx, 200, new JsonObject(j.status().toDoc()))));
    r.delete("/api/jobs/:id").handler(ctx -> job(ctx).ifPresent(j -> {
      j.cancel();
      json(ctx, 202, new JsonObject(j.status().toDoc()));
    }));
    r.get("/api/jobs/:id/events").handler(this::events);
    WebUi.mount(r);
    // Every path, not only /api/*: otherwise Vert.x answers an HTML page, and clients expect JSON.
    r.route().last().handler(ctx -> error(ctx, 404, "no such endpoint: " + ctx.request().method() + " "
        + ctx.request().path() + " (the API is under /api)"));
    r.route().failureHandler(this::failure);
    return r;
  }

  private void methods(RoutingContext ctx) {
    JsonArray out = new JsonArray();
    for (MethodEntry m : node.plugins().methods()) {
      JsonArray opts = new JsonArray();
      for (ConfigOption o : m.info().config().options()) {
        opts.add(new JsonObject().put("name", o.name()).put("type", o.type().name().toLowerCase())
            .put("default", o.defaultValue()).put("min", o.min()).put("max", o.max())
            .put("choices", new JsonArray(o.choices())).put("description", o.description()));
      }
      out.add(new JsonObject().put("id", m.info().id()).put("description", m.info().description())
          .put("plugin", m.pluginId()).put("version", m.pluginVersion())
          .put("inputs", new JsonArray(m.info().inputs())).put("options", opts));
    }
    json(ctx, 200, out);
  }

  private void openSession(RoutingContext ctx) {
    JsonObject body = body(ctx);
    if (body == null) {
      return;
    }
    String model = body.getValue("model") instanceof String s ? s : null;
    if (model == null) {
      error(ctx, 400, "'model': required, a model reference such as \"tiny\"");
      return;
    }
    node.vertx().<String>executeBlocking(() -> node.services().open(model), false).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      JsonObject out = node.services().sessionsJson().stream().map(JsonObject.class::cast)
          .filter(s -> s.getString("id").equals(ar.result())).findFirst().orElseThrow();
      json(ctx, 201, out);
    });
  }

  private void startHarvest(RoutingContext ctx) {
    JsonObject body = body(ctx);
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
        .onSuccess(reply -> json(ctx, 201, reply.body()))
        .onFailure(ctx::fail);
  }

  private void harvest(RoutingContext ctx) {
    Optional<Harvest> h = node.services().harvests().harvest(ctx.pathParam("id"));
    if (h.isEmpty()) {
      error(ctx, 404, "no harvest '" + ctx.pathParam("id") + "' on node " + node.nodeId());
    } else {
      json(ctx, 200, h.get().toJson());
    }
  }

  private void startJob(RoutingContext ctx) {
    JsonObject body = body(ctx);
    if (body == null) {
      return;
    }
    for (String k : body.fieldNames()) {
      if (!List.of("method", "config", "inputs", "id").contains(k)) {
        error(ctx, 400, "'" + k + "': unknown key; expected method, config, inputs, id");
        return;
      }
    }
    if (!(body.getValue("method") instanceof String method)) {
      error(ctx, 400, "'method': required, a method id (GET /api/methods)");
      return;
    }
    Map<String, Object> config = mapOf(ctx, body, "config");
    Map<String, Object> inputs = mapOf(ctx, body, "inputs");
    if (config == null || inputs == null) {
      return;
    }
    Object idValue = body.getValue("id");
    if (idValue != null && !(idValue instanceof String)) {
      error(ctx, 400, "'id': expected a string job id, got " + idValue);
      return;
    }
    String id = (String) idValue;
    Optional<JobHandle> active = id == null ? Optional.empty() : node.jobs().job(id).filter(j -> !j.state().isFinal());
    if (active.isPresent()) {
      // Checked here as well as in the job manager, whose refusal would read as a server error.
      error(ctx, 409, "job '" + id + "' is still " + active.get().state() + "; cancel it or choose another id");
      return;
    }
    node.vertx().<JobHandle>executeBlocking(() -> node.startJob(method, config, inputs, id), false)
        .onSuccess(j -> json(ctx, 201, new JsonObject(j.status().toDoc())))
        .onFailure(ctx::fail);
  }

  private Map<String, Object> mapOf(RoutingContext ctx, JsonObject body, String key) {
    Object v = body.getValue(key);
    if (v == null) {
      return new LinkedHashMap<>();
    }
    if (!(v instanceof JsonObject o)) {
      error(ctx, 400, "'" + key + "': expected an object");
      return null;
    }
    return o.getMap();
  }

  private Optional<JobHandle> job(RoutingContext ctx) {
    Optional<JobHandle> j = node.jobs().job(ctx.pathParam("id"));
    if (j.isEmpty()) {
      error(ctx, 404, "no job '" + ctx.pathParam("id") + "' on node " + node.nodeId());
    }
    return j;
  }

  /** Server-sent events: every progress, metrics and status message of the job, until it ends. */
  private void events(RoutingContext ctx) {
    Optional<JobHandle> job = job(ctx);
    if (job.isEmpty()) {
      return;
    }
    String id = job.get().id();
    HttpServerResponse res = ctx.response().setChunked(true).putHeader("Content-Type", "text/event-stream")
        .putHeader("Cache-Control", "no-cache");
    List<MessageConsumer<JsonObject>> subs = new ArrayList<>();
    Runnable stop = () -> subs.forEach(MessageConsumer::unregister);
    res.closeHandler(v -> stop.run());
    Map<String, String> feeds = Map.of("progress", JobAddresses.progress(id), "metrics", JobAddresses.metrics(id),
        "status", JobAddresses.status(id));
    feeds.forEach((event, address) -> subs.add(node.vertx().eventBus().<JsonObject>consumer(address, m -> {
      if (res.ended()) {
        return; // a message already queued when the final status ended the feed
      }
      // A slow client must not grow memory: skip progress frames while its socket is full.
      if (res.writeQueueFull() && !event.equals("status")) {
        return;
      }
      res.write("event: " + event + "\ndata: " + m.body().encode() + "\n\n");
      if (event.equals("status") && m.body().getString("state", "").matches("SUCCEEDED|FAILED|CANCELLED")) {
        stop.run();
        res.end();
      }
    })));
    JsonObject now = new JsonObject(job.get().status().toDoc());
    res.write("event: status\ndata: " + now.encode() + "\n\n");
    if (job.get().state().isFinal()) {
      stop.run();
      res.end();
    }
  }

  private JsonObject body(RoutingContext ctx) {
    try {
      JsonObject b = ctx.body().asJsonObject();
      if (b == null) {
        error(ctx, 400, "request body must be a JSON object");
      }
      return b;
    } catch (DecodeException | ClassCastException e) {
      error(ctx, 400, "request body is not a JSON object: " + e.getMessage());
      return null;
    }
  }

  private void failure(RoutingContext ctx) {
    Throwable t = ctx.failure();
    int status = ctx.statusCode() >= 400 ? ctx.statusCode() : 500;
    String msg;
    if (t instanceof ConfigException || t instanceof IllegalArgumentException || t instanceof UnknownMethodException) {
      status = 400;
      msg = t.getMessage();
    } else if (t instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.NO_HANDLERS) {
        status = 404;
        String id = ctx.pathParam("id");
        msg = id == null ? "no session with that id on any node" : "no session '" + id + "' on any node";
      } else if (re.failureType() == ReplyFailure.TIMEOUT) {
        status = 504;
        msg = "the session's node did not answer in time";
      } else {
        status = re.failureCode() >= 400 && re.failureCode() < 600 ? re.failureCode() : 500;
        msg = re.getMessage();
      }
    } else if (status == 413) {
      msg = "request body larger than " + MAX_BODY_BYTES + " bytes";
    } else if (t == null) {
      msg = status == 404 ? "not found" : "request failed";
    } else {
      LOG.error("request {} {} failed", ctx.request().method(), ctx.request().path(), t);
      msg = "internal error (" + t.getClass().getSimpleName() + "); see the server log";
    }
    error(ctx, status, msg);
  }

  private static void json(RoutingContext ctx, int status, Object body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(body instanceof JsonObject o ? o.encode() : ((JsonArray) body).encode());
  }

  private static void error(RoutingContext ctx, int status, String message) {
    if (!ctx.response().ended()) {
      json(ctx, status, new JsonObject().put("error", message));
    }
  }
}
