package dev.loupe.core.server;

import dev.loupe.core.job.JobAddresses;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.sdk.config.ConfigOption;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code /api/methods} and {@code /api/jobs}: the analysis methods with their config schemas;
 * start, list, inspect, cancel and resume jobs; their metrics, artifacts and results. Jobs are
 * those this node runs and those whose directories are in its run directory (earlier runs,
 * {@code loupe job}); files are read on workers, artifacts sent with {@code sendFile}.
 */
final class JobRoutes {
  private final LoupeNode node;
  private final JobFiles files;

  JobRoutes(LoupeNode node, JobFiles files) {
    this.node = node;
    this.files = files;
  }

  /** A job known live (this node runs or ran it) or from its directory only. */
  record JobRef(String id, JobHandle live, Path dir) {
    JsonObject status() {
      if (live != null) {
        return new JsonObject(live.status().toDoc()).put("live", true);
      }
      JsonObject s = JobFiles.storedStatus(dir);
      return (s == null ? new JsonObject().put("jobId", id).put("state", "UNKNOWN") : s).put("live", false);
    }

    boolean active() {
      return live != null && !live.state().isFinal();
    }
  }

  void mount(Router r) {
    r.get("/api/methods").handler(this::methods);
    r.post("/api/jobs").handler(this::start);
    r.get("/api/jobs").handler(this::list);
    r.get("/api/jobs/:id").handler(ctx -> job(ctx).ifPresent(j -> Replies.json(ctx, 200, j.status())));
    r.delete("/api/jobs/:id").handler(this::cancel);
    r.post("/api/jobs/:id/resume").handler(this::resume);
    r.get("/api/jobs/:id/events").handler(this::events);
    r.get("/api/jobs/:id/metrics").handler(this::metrics);
    r.get("/api/jobs/:id/artifacts").handler(ctx -> job(ctx).ifPresent(j ->
        blocking(ctx, () -> JobFiles.artifacts(j.dir()))));
    r.get("/api/jobs/:id/artifacts/*").handler(this::artifact);
    r.get("/api/jobs/:id/results").handler(ctx -> job(ctx).ifPresent(j ->
        blocking(ctx, () -> JobFiles.results(j.dir()))));
    r.get("/api/jobs/:id/results/:name").handler(this::result);
  }

  /** Runs a blocking read on a worker and answers its JSON (or fails the request). */
  private void blocking(RoutingContext ctx, java.util.concurrent.Callable<Object> read) {
    node.vertx().executeBlocking(read, false).onSuccess(v -> Replies.json(ctx, 200, v)).onFailure(ctx::fail);
  }

  private Optional<JobRef> job(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    Optional<JobHandle> live = node.jobs().job(id);
    if (live.isPresent()) {
      return Optional.of(new JobRef(id, live.get(), live.get().artifactDir()));
    }
    Path dir;
    try {
      dir = files.dirOf(id);
    } catch (IllegalArgumentException e) {
      Replies.error(ctx, 400, e.getMessage());
      return Optional.empty();
    }
    if (dir == null) {
      Replies.error(ctx, 404, "no job '" + id + "' on node " + node.nodeId() + " or in its run directory");
      return Optional.empty();
    }
    return Optional.of(new JobRef(id, null, dir));
  }

  // ---- methods ----

  private void methods(RoutingContext ctx) {
    JsonArray out = new JsonArray();
    for (MethodEntry m : node.plugins().methods()) {
      JsonArray opts = new JsonArray();
      JsonObject props = new JsonObject();
      JsonArray required = new JsonArray();
      for (ConfigOption o : m.info().config().options()) {
        opts.add(new JsonObject().put("name", o.name()).put("type", o.type().name().toLowerCase(Locale.ROOT))
            .put("default", o.defaultValue()).put("min", o.min()).put("max", o.max())
            .put("choices", new JsonArray(o.choices())).put("description", o.description())
            .put("required", o.required()));
        props.put(o.name(), jsonSchema(o));
        if (o.required()) {
          required.add(o.name());
        }
      }
      JsonObject schema = new JsonObject().put("type", "object").put("properties", props)
          .put("additionalProperties", false);
      if (!required.isEmpty()) {
        schema.put("required", required);
      }
      out.add(new JsonObject().put("id", m.info().id()).put("description", m.info().description())
          .put("plugin", m.pluginId()).put("version", m.pluginVersion())
          .put("inputs", new JsonArray(m.info().inputs())).put("options", opts).put("schema", schema));
    }
    Replies.json(ctx, 200, out);
  }

  /** One option as a JSON Schema property, for forms in a browser. */
  static JsonObject jsonSchema(ConfigOption o) {
    JsonObject s = new JsonObject();
    switch (o.type().name()) {
      case "INT", "LONG" -> s.put("type", "integer");
      case "DOUBLE" -> s.put("type", "number");
      case "BOOLEAN" -> s.put("type", "boolean");
      case "STRING" -> s.put("type", "string");
      case "ENUM" -> s.put("type", "string").put("enum", new JsonArray(o.choices()));
      case "STRING_LIST" -> s.put("type", "array").put("items", new JsonObject().put("type", "string"));
      case "OBJECT_LIST" -> s.put("type", "array").put("items", new JsonObject().put("type", "object"));
      default -> {
        // a type newer than this server: any value, the method's own validation decides
      }
    }
    if (o.min() != null) {
      s.put("minimum", o.min());
    }
    if (o.max() != null) {
      s.put("maximum", o.max());
    }
    if (o.defaultValue() != null) {
      s.put("default", o.defaultValue());
    }
    return s.put("description", o.description());
  }

  // ---- jobs ----

  private void start(RoutingContext ctx) {
    JsonObject body = Replies.body(ctx);
    if (body == null) {
      return;
    }
    for (String k : body.fieldNames()) {
      if (!List.of("method", "config", "inputs", "id").contains(k)) {
        Replies.error(ctx, 400, "'" + k + "': unknown key; expected method, config, inputs, id");
        return;
      }
    }
    if (!(body.getValue("method") instanceof String method)) {
      Replies.error(ctx, 400, "'method': required, a method id (GET /api/methods)");
      return;
    }
    Map<String, Object> config = mapOf(ctx, body, "config");
    Map<String, Object> inputs = mapOf(ctx, body, "inputs");
    if (config == null || inputs == null) {
      return;
    }
    Object idValue = body.getValue("id");
    if (idValue != null && !(idValue instanceof String)) {
      Replies.error(ctx, 400, "'id': expected a string job id, got " + idValue);
      return;
    }
    String id = (String) idValue;
    if (id != null && !dev.loupe.core.job.SafePaths.NAME.matcher(id).matches()) {
      Replies.error(ctx, 400, "'id': '" + id + "' must match " + dev.loupe.core.job.SafePaths.NAME.pattern());
      return;
    }
    Optional<JobHandle> active = id == null ? Optional.empty() : node.jobs().job(id).filter(j -> !j.state().isFinal());
    if (active.isPresent()) {
      // Checked here as well as in the job manager, whose refusal would read as a server error.
      Replies.error(ctx, 409, "job '" + id + "' is still " + active.get().state() + "; cancel it or choose another id");
      return;
    }
    node.vertx().<JobHandle>executeBlocking(() -> node.startJob(method, config, inputs, id), false)
        .onSuccess(j -> Replies.json(ctx, 201, new JsonObject(j.status().toDoc()).put("live", true)))
        .onFailure(ctx::fail);
  }

  private static Map<String, Object> mapOf(RoutingContext ctx, JsonObject body, String key) {
    Object v = body.getValue(key);
    if (v == null) {
      return new LinkedHashMap<>();
    }
    if (!(v instanceof JsonObject o)) {
      Replies.error(ctx, 400, "'" + key + "': expected an object");
      return null;
    }
    return o.getMap();
  }

  /** This node's jobs, then the other job directories of its run directory, newest first by creation. */
  private void list(RoutingContext ctx) {
    List<JsonObject> liveJobs = new ArrayList<>();
    node.jobs().jobs().forEach(j -> liveJobs.add(new JsonObject(j.status().toDoc()).put("live", true)));
    node.vertx().executeBlocking(() -> {
      Set<String> seen = new HashSet<>();
      List<JsonObject> all = new ArrayList<>(liveJobs);
      liveJobs.forEach(j -> seen.add(j.getString("jobId")));
      for (JsonObject s : files.storedJobs()) {
        if (seen.add(s.getString("jobId", ""))) {
          all.add(s.put("live", false));
        }
      }
      all.sort((a, b) -> String.valueOf(b.getString("created")).compareTo(String.valueOf(a.getString("created"))));
      return new JsonArray(new ArrayList<>(all));
    }, false).onSuccess(a -> Replies.json(ctx, 200, a)).onFailure(ctx::fail);
  }

  private void cancel(RoutingContext ctx) {
    job(ctx).ifPresent(j -> {
      if (!j.active()) {
        Replies.error(ctx, 409, "job '" + j.id() + "' is not running (" + j.status().getString("state") + ")");
        return;
      }
      j.live().cancel();
      Replies.json(ctx, 202, j.status());
    });
  }

  /**
   * Starts a finished job again under its id, from its config.json (method, config, and each
   * input's recorded spec); a method that checkpoints continues from its last checkpoint.
   */
  private void resume(RoutingContext ctx) {
    Optional<JobRef> ref = job(ctx);
    if (ref.isEmpty()) {
      return;
    }
    JobRef j = ref.get();
    if (j.active()) {
      Replies.error(ctx, 409, "job '" + j.id() + "' is still " + j.live().state() + "; it can be resumed once it ends");
      return;
    }
    node.vertx().<JsonObject>executeBlocking(() -> {
      Path cfgFile = j.dir().resolve("config.json");
      if (!dev.loupe.core.job.SafePaths.isPlainFile(cfgFile)) {
        throw ApiException.conflict("job '" + j.id() + "' has no config.json to resume from");
      }
      JsonObject cfg;
      try {
        cfg = new JsonObject(Files.readString(cfgFile, StandardCharsets.UTF_8));
      } catch (DecodeException e) {
        throw ApiException.conflict("job '" + j.id() + "': config.json does not parse: " + Replies.firstLine(e.getMessage()));
      }
      String method = cfg.getString("method");
      if (method == null) {
        throw ApiException.conflict("job '" + j.id() + "': config.json names no method");
      }
      Map<String, Object> inputs = new LinkedHashMap<>();
      JsonObject ins = cfg.getJsonObject("inputs", new JsonObject());
      for (String name : ins.fieldNames()) {
        Object spec = ins.getJsonObject(name).getValue("spec");
        if (spec == null) {
          throw ApiException.conflict("job '" + j.id() + "': input '" + name + "' was not recorded with its spec "
              + "(started from code?); start a new job instead");
        }
        inputs.put(name, spec instanceof JsonObject o ? o.getMap() : spec);
      }
      boolean fromCheckpoint = hasFiles(j.dir().resolve("checkpoints"));
      JobHandle h = node.startJob(method, cfg.getJsonObject("config", new JsonObject()).getMap(), inputs, j.id());
      return new JsonObject(h.status().toDoc()).put("live", true).put("from_checkpoint", fromCheckpoint);
    }, false).onSuccess(s -> Replies.json(ctx, 201, s)).onFailure(ctx::fail);
  }

  private static boolean hasFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (var s = Files.list(dir)) {
      return s.findAny().isPresent();
    }
  }

  private void metrics(RoutingContext ctx) {
    Optional<JobRef> ref = job(ctx);
    if (ref.isEmpty()) {
      return;
    }
    long since;
    int limit;
    try {
      since = longParam(ctx, "since", 0, 0, Long.MAX_VALUE);
      limit = (int) longParam(ctx, "limit", JobFiles.MAX_METRICS_ROWS, 1, JobFiles.MAX_METRICS_ROWS);
    } catch (IllegalArgumentException e) {
      Replies.error(ctx, 400, e.getMessage());
      return;
    }
    blocking(ctx, () -> JobFiles.metrics(ref.get().dir(), since, limit));
  }

  static long longParam(RoutingContext ctx, String name, long dflt, long min, long max) {
    List<String> v = ctx.queryParam(name);
    if (v.isEmpty()) {
      return dflt;
    }
    try {
      long l = Long.parseLong(v.get(0));
      if (l < min || l > max) {
        throw new IllegalArgumentException("'" + name + "': " + l + " is outside [" + min + ", " + max + "]");
      }
      return l;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + name + "': expected an integer, got '" + v.get(0) + "'");
    }
  }

  private void artifact(RoutingContext ctx) {
    Optional<JobRef> ref = job(ctx);
    if (ref.isEmpty()) {
      return;
    }
    String prefix = "/api/jobs/" + ref.get().id() + "/artifacts/";
    String raw = ctx.request().path();
    String rel = raw.startsWith(prefix) ? raw.substring(prefix.length()) : ctx.pathParam("*");
    String path;
    try {
      path = java.net.URLDecoder.decode(rel == null ? "" : rel.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      Replies.error(ctx, 400, "'path': not a valid URL-encoded path");
      return;
    }
    node.vertx().executeBlocking(() -> JobFiles.artifact(ref.get().dir(), path), false)
        .onSuccess(file -> send(ctx, file))
        .onFailure(ctx::fail);
  }

  private void result(RoutingContext ctx) {
    job(ctx).ifPresent(j -> node.vertx().executeBlocking(() -> JobFiles.result(j.dir(), ctx.pathParam("name")), false)
        .onSuccess(file -> send(ctx, file))
        .onFailure(ctx::fail));
  }

  /** Sends a file without blocking; a browser may show text and images but never runs what it gets. */
  private static void send(RoutingContext ctx, Path file) {
    HttpServerResponse res = ctx.response();
    res.putHeader("Content-Type", contentType(file.getFileName().toString()))
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox");
    res.sendFile(file.toString()).onFailure(e -> {
      if (!res.headWritten()) {
        ctx.fail(e);
      }
    });
  }

  static String contentType(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.endsWith(".json")) {
      return "application/json";
    }
    if (n.endsWith(".jsonl")) {
      return "application/x-ndjson";
    }
    if (n.endsWith(".md")) {
      return "text/markdown; charset=utf-8";
    }
    if (n.endsWith(".log") || n.endsWith(".txt") || n.endsWith(".tsv") || n.endsWith(".csv")) {
      return "text/plain; charset=utf-8";
    }
    if (n.endsWith(".png")) {
      return "image/png";
    }
    if (n.endsWith(".svg")) {
      return "image/svg+xml";
    }
    if (n.endsWith(".html")) {
      return "text/html; charset=utf-8";
    }
    return "application/octet-stream";
  }

  // ---- server-sent events ----

  /** Server-sent events: every progress, metrics and status message of the job, until it ends. */
  private void events(RoutingContext ctx) {
    Optional<JobRef> ref = job(ctx);
    if (ref.isEmpty()) {
      return;
    }
    JobRef job = ref.get();
    HttpServerResponse res = ctx.response().setChunked(true).putHeader("Content-Type", "text/event-stream")
        .putHeader("Cache-Control", "no-cache");
    if (job.live() == null) {
      res.end("event: status\ndata: " + job.status().encode() + "\n\n");
      return;
    }
    String id = job.id();
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
    JsonObject now = new JsonObject(job.live().status().toDoc());
    res.write("event: status\ndata: " + now.encode() + "\n\n");
    if (job.live().state().isFinal()) {
      stop.run();
      res.end();
    }
  }
}
