package dev.loupe.core.server;

import dev.loupe.core.coder.CoderCatalog;
import dev.loupe.core.node.LoupeNode;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The node's HTTP and WebSocket API (JSON), for the web UI, scripts and other tools. The routes
 * live in focused classes: {@link ModelRoutes}, {@link SessionRoutes}, {@link JobRoutes},
 * {@link CoderRoutes}, {@link WsApi}; {@link Security} guards every request and {@link OpenApi}
 * describes them all at {@code /openapi.json}. Errors are JSON {@code {"error": ...}} with a 4xx
 * status naming the bad field; a server error never shows a stack trace (it goes to the log).
 * Blocking work (forward passes, file reads) runs on the session's worker or on worker threads,
 * never on the event loop.
 */
public final class HttpApi {
  /** Largest request body accepted (also the largest WebSocket message). */
  public static final long MAX_BODY_BYTES = ServerOptions.DEFAULT_MAX_BODY_BYTES;

  private final LoupeNode node;
  private final ServerOptions options;
  private final WsApi ws;
  private final ModelRoutes models;
  private final SessionRoutes sessions;
  private final JobRoutes jobs;
  private final CoderRoutes coders;

  private HttpApi(LoupeNode node, ServerOptions options) {
    this.node = node;
    this.options = options;
    Path runDir = node.jobs().runDir();
    JobFiles files = new JobFiles(runDir);
    CoderCatalog catalog = new CoderCatalog(runDir);
    SessionCalls calls = new SessionCalls(node.vertx(), catalog, options.queryTimeoutMillis());
    this.ws = new WsApi(node, files, calls, options);
    this.models = new ModelRoutes(node, options.modelsDir());
    this.sessions = new SessionRoutes(node, calls);
    this.jobs = new JobRoutes(node, files);
    this.coders = new CoderRoutes(node, catalog);
  }

  /** Starts the API on {@code host:port} (port 0: any free port) with no access token. */
  public static Future<HttpServer> listen(LoupeNode node, String host, int port) {
    return listen(node, new ServerOptions().setHost(host).setPort(port));
  }

  /**
   * Starts the API.
   *
   * @throws IllegalArgumentException naming the option when the options are invalid, or when a
   *     non-loopback address is to be bound without an access token
   */
  public static Future<HttpServer> listen(LoupeNode node, ServerOptions options) {
    options.validate();
    if (options.token() == null && !Security.isLoopback(options.host())) {
      throw new IllegalArgumentException("token: binding " + options.host()
          + " (not a loopback address) requires an access token");
    }
    HttpApi api = create(node, options);
    return node.vertx().createHttpServer(httpOptions(options)).requestHandler(api.router())
        .listen(options.port(), options.host());
  }

  /** The API's router and state without a server (tests build their own server around it). */
  static HttpApi create(LoupeNode node, ServerOptions options) {
    return new HttpApi(node, options.validate());
  }

  static HttpServerOptions httpOptions(ServerOptions options) {
    return new HttpServerOptions()
        .setMaxWebSocketMessageSize(options.maxBodyBytes())
        .setMaxWebSocketFrameSize(Math.min(options.maxBodyBytes(), 1 << 16));
  }

  WsApi ws() {
    return ws;
  }

  /** A fresh random access token (48 hex digits), as {@code loupe serve} generates when it needs one. */
  public static String newToken() {
    return Security.newToken();
  }

  /** Whether {@code host} is a loopback address (serving it needs no token). */
  public static boolean isLoopback(String host) {
    return Security.isLoopback(host);
  }

  Router router() {
    Router r = Router.router(node.vertx());
    WebUi.mount(r); // before Security: the UI's files are public code; every API call they make carries the token
    r.route().handler(new Security(options.host(), options.token()));
    ws.mount(r); // before the body handler: an upgrade request has no body to read
    r.route("/api/*").handler(BodyHandler.create(false).setBodyLimit(options.maxBodyBytes()));
    r.get("/api/health").handler(ctx -> Replies.json(ctx, 200, health()));
    r.get("/openapi.json").handler(ctx -> Replies.json(ctx, 200, OpenApi.document()));
    models.mount(r);
    sessions.mount(r);
    jobs.mount(r);
    coders.mount(r);
    // Every path, not only /api/*: otherwise Vert.x answers an HTML page, and clients expect JSON.
    r.route().last().handler(ctx -> Replies.error(ctx, 404, "no such endpoint: " + ctx.request().method() + " "
        + ctx.request().path() + " (the API is under /api; /openapi.json describes it)"));
    r.route().failureHandler(ctx -> Replies.failure(ctx, options.maxBodyBytes()));
    return r;
  }

  private JsonObject health() {
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    return new JsonObject().put("status", "ok").put("node", node.nodeId()).put("clustered", node.clustered())
        .put("sessions", node.services().sessionsJson().size()).put("websockets", ws.connections())
        .put("websocketHoldBacks", ws.heldBack())
        .put("memory", new JsonObject().put("heapUsedBytes", heap.getUsed()).put("heapMaxBytes", heap.getMax())
            .put("rssBytes", rss()));
  }

  /** The process's resident set size from /proc (Linux), or null elsewhere. */
  private static Long rss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (java.io.IOException | NumberFormatException | SecurityException e) {
      // not Linux: no RSS figure
    }
    return null;
  }
}
