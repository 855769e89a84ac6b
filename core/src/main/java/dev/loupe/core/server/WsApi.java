package dev.loupe.core.server;

import dev.loupe.core.job.JobAddresses;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.node.LoupeNode;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The WebSocket endpoint {@code /api/ws}: a small JSON protocol (one JSON object per text frame)
 * to follow jobs live and to run prompts on sessions without one HTTP request each. See
 * docs/API.md. Client to server, each with an optional {@code id} echoed in the answer:
 * <pre>
 * {"op":"subscribe","job":ID,"since":N}   stored metrics rows from N on, stored results, then live events
 * {"op":"subscribe","job":"*"}             status changes of every job
 * {"op":"unsubscribe","job":ID|"*"}
 * {"op":"run","session":S, ...}            as POST /api/sessions/S/run
 * {"op":"lens","session":S, ...}           as POST /api/sessions/S/logit-lens
 * {"op":"ping"}
 * </pre>
 * Server to client: {@code subscribed}, {@code metrics} ({@code from}, {@code rows}),
 * {@code progress}, {@code status}, {@code result}, {@code reset}, {@code run}, {@code lens},
 * {@code pong}, {@code error} ({@code status}, {@code error} naming the field).
 *
 * <p>A slow client cannot grow the server's memory without bound: job feeds hold back and
 * coalesce while its write queue is full ({@link JobFeed}), and a client may have at most
 * {@link ServerOptions#wsMaxInFlight()} session commands unanswered.
 */
final class WsApi {
  /** Jobs one connection may follow at once. */
  static final int MAX_FEEDS = 256;

  private final LoupeNode node;
  private final JobFiles files;
  private final SessionCalls calls;
  private final ServerOptions options;
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicLong heldBack = new AtomicLong();

  WsApi(LoupeNode node, JobFiles files, SessionCalls calls, ServerOptions options) {
    this.node = node;
    this.files = files;
    this.calls = calls;
    this.options = options;
  }

  void mount(Router r) {
    r.get("/api/ws").handler(this::upgrade);
  }

  /** How often a feed found a client's write queue full and held frames back (tests, benchmark). */
  long heldBack() {
    return heldBack.get();
  }

  /** Open WebSocket connections (for the health endpoint). */
  int connections() {
    return connections.get();
  }

  private void upgrade(RoutingContext ctx) {
    String upgrade = ctx.request().getHeader(HttpHeaders.UPGRADE);
    if (upgrade == null || !upgrade.equalsIgnoreCase("websocket")) {
      Replies.error(ctx, 400, "/api/ws is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)");
      return;
    }
    ctx.request().toWebSocket().onSuccess(ws -> new Connection(ws).start()).onFailure(ctx::fail);
  }

  /** One client. Runs on its connection's event loop. */
  private final class Connection implements FeedSink {
    private final ServerWebSocket ws;
    private final Map<String, JobFeed> feeds = new LinkedHashMap<>();
    private MessageConsumer<JsonObject> allJobs;
    private final Map<String, JsonObject> pendingStatuses = new LinkedHashMap<>();
    private int inFlight;
    private boolean closed;

    Connection(ServerWebSocket ws) {
      this.ws = ws;
    }

    void start() {
      connections.incrementAndGet();
      ws.setWriteQueueMaxSize(options.wsWriteQueueMaxBytes());
      ws.textMessageHandler(this::onText);
      ws.binaryMessageHandler(b -> send(error(null, null, 400, "binary frames are not understood; send JSON text")));
      ws.drainHandler(v -> drained());
      ws.closeHandler(v -> close());
      ws.exceptionHandler(this::onException);
    }

    /**
     * Vert.x drops a message over the size limit and reports it here, then would go on reading the
     * rest of its frames as if nothing happened: say why and close with 1009 (message too big).
     * Other errors end in the close handler, which cleans up.
     */
    private void onException(Throwable e) {
      if (!closed && e instanceof IllegalStateException && String.valueOf(e.getMessage()).contains("max message size")) {
        send(error(null, null, 413, "a message may be at most " + options.maxBodyBytes() + " bytes"));
        ws.close((short) 1009, "message too big");
      }
    }

    @Override
    public boolean full() {
      if (ws.writeQueueFull()) {
        heldBack.incrementAndGet();
        return true;
      }
      return false;
    }

    @Override
    public void send(JsonObject frame) {
      if (!closed) {
        ws.writeTextMessage(frame.encode());
      }
    }

    @Override
    public void sendText(String frame) {
      if (!closed) {
        ws.writeTextMessage(frame);
      }
    }

    @Override
    public Vertx vertx() {
      return node.vertx();
    }

    private void drained() {
      List.copyOf(feeds.values()).forEach(JobFeed::drained);
      flushStatuses();
    }

    private void close() {
      if (closed) {
        return;
      }
      closed = true;
      connections.decrementAndGet();
      feeds.values().forEach(JobFeed::close);
      feeds.clear();
      if (allJobs != null) {
        allJobs.unregister();
      }
      pendingStatuses.clear();
    }

    private void onText(String text) {
      JsonObject msg;
      try {
        msg = new JsonObject(text);
      } catch (DecodeException | ClassCastException e) {
        send(error(null, null, 400, "a message must be one JSON object, e.g. {\"op\":\"ping\"}"));
        return;
      }
      Object id = msg.getValue("id");
      Object op = msg.getValue("op");
      if (!(op instanceof String o)) {
        send(error(id, null, 400, "'op': required, one of subscribe, unsubscribe, run, lens, ping"));
        return;
      }
      switch (o) {
        case "ping" -> send(new JsonObject().put("type", "pong").put("id", id));
        case "subscribe" -> subscribe(msg, id);
        case "unsubscribe" -> unsubscribe(msg, id);
        case "run", "lens" -> query(msg, id, o);
        default -> send(error(id, o, 400, "'op': unknown '" + o + "'; expected subscribe, unsubscribe, run, lens, ping"));
      }
    }

    private void subscribe(JsonObject msg, Object id) {
      if (!onlyKeys(msg, id, "subscribe", List.of("op", "id", "job", "since"))) {
        return;
      }
      if (!(msg.getValue("job") instanceof String job)) {
        send(error(id, "subscribe", 400, "'job': required, a job id (or \"*\" for every job's status)"));
        return;
      }
      if (job.equals("*")) {
        if (allJobs == null) {
          allJobs = node.vertx().eventBus().consumer(JobAddresses.ALL_STATUS, m -> {
            // Only the latest status per job waits for a slow client.
            pendingStatuses.put(m.body().getString("jobId", ""), m.body());
            flushStatuses();
          });
        }
        send(new JsonObject().put("type", "subscribed").put("job", "*").put("id", id));
        return;
      }
      Object sinceValue = msg.getValue("since");
      if (sinceValue != null && (!(sinceValue instanceof Number n) || n.doubleValue() % 1 != 0 || n.longValue() < 0)) {
        send(error(id, "subscribe", 400, "'since': expected a row index >= 0, got " + sinceValue));
        return;
      }
      long since = sinceValue == null ? 0 : ((Number) sinceValue).longValue();
      if (feeds.containsKey(job)) {
        send(error(id, "subscribe", 409, "'job': already subscribed to '" + job + "'; unsubscribe first"));
        return;
      }
      if (feeds.size() >= MAX_FEEDS) {
        send(error(id, "subscribe", 429, "'job': at most " + MAX_FEEDS + " jobs per connection"));
        return;
      }
      Optional<JobHandle> live = node.jobs().job(job);
      Path dir;
      JsonObject status;
      if (live.isPresent()) {
        dir = live.get().artifactDir();
        status = new JsonObject(live.get().status().toDoc()).put("live", true);
      } else {
        try {
          dir = files.dirOf(job);
        } catch (IllegalArgumentException e) {
          send(error(id, "subscribe", 400, e.getMessage()));
          return;
        }
        if (dir == null) {
          send(error(id, "subscribe", 404, "'job': no job '" + job + "' on node " + node.nodeId()
              + " or in its run directory"));
          return;
        }
        JsonObject stored = JobFiles.storedStatus(dir);
        status = (stored == null ? new JsonObject().put("jobId", job) : stored).put("live", false);
      }
      JobFeed feed = new JobFeed(this, job, dir, live.isPresent());
      feeds.put(job, feed);
      feed.start(since, status, id);
    }

    private void unsubscribe(JsonObject msg, Object id) {
      if (!(msg.getValue("job") instanceof String job)) {
        send(error(id, "unsubscribe", 400, "'job': required, a job id or \"*\""));
        return;
      }
      if (job.equals("*")) {
        if (allJobs != null) {
          allJobs.unregister();
          allJobs = null;
          pendingStatuses.clear();
        }
      } else {
        JobFeed f = feeds.remove(job);
        if (f == null) {
          send(error(id, "unsubscribe", 404, "'job': not subscribed to '" + job + "'"));
          return;
        }
        f.close();
      }
      send(new JsonObject().put("type", "unsubscribed").put("job", job).put("id", id));
    }

    private void flushStatuses() {
      var it = pendingStatuses.values().iterator();
      while (it.hasNext() && !full()) {
        JsonObject s = it.next();
        it.remove();
        send(new JsonObject().put("type", "status").put("job", s.getString("jobId")).put("status", s));
      }
    }

    private void query(JsonObject msg, Object id, String op) {
      if (!(msg.getValue("session") instanceof String session)) {
        send(error(id, op, 400, "'session': required, a session id (GET /api/sessions)"));
        return;
      }
      if (inFlight >= options.wsMaxInFlight()) {
        send(error(id, op, 429, "at most " + options.wsMaxInFlight() + " run/lens commands may wait for answers "
            + "on one connection; wait for one"));
        return;
      }
      JsonObject body = msg.copy();
      body.remove("op");
      body.remove("id");
      body.remove("session");
      inFlight++;
      calls.query(session, op, body).onComplete(ar -> {
        inFlight--;
        if (closed) {
          return;
        }
        if (ar.succeeded()) {
          Buffer answer = ar.result();
          // The session's worker encoded the answer; wrap it without parsing it again.
          ws.writeTextMessage("{\"type\":" + Json.encode(op) + ",\"id\":" + Json.encode(id) + ",\"session\":"
              + Json.encode(session) + ",\"result\":" + answer.toString(java.nio.charset.StandardCharsets.UTF_8) + "}");
        } else {
          Replies.Failure f = Replies.classify(ar.cause(), 500, "WebSocket " + op + " on session " + session, session);
          send(error(id, op, f.status(), f.message()));
        }
      });
    }

    private boolean onlyKeys(JsonObject msg, Object id, String op, List<String> keys) {
      for (String k : msg.fieldNames()) {
        if (!keys.contains(k)) {
          send(error(id, op, 400, "'" + k + "': unknown key; expected " + String.join(", ", keys)));
          return false;
        }
      }
      return true;
    }
  }

  private static JsonObject error(Object id, String op, int status, String message) {
    return new JsonObject().put("type", "error").put("id", id).put("op", op).put("status", status).put("error", message);
  }
}
