package dev.loupe.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.job.JobState;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.session.SessionAddresses;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The WebSocket protocol with a real Vert.x WebSocket client: following a job (stored rows first,
 * then live ones, each once and in order, the final status last), resuming from a row, a client
 * that stops reading while the job goes on, session commands and protocol errors.
 */
class WsApiTest {
  @TempDir
  static Path tmp;

  private static LoupeNode node;
  private static HttpApi httpApi;
  private static WebApi api;
  private static String session;

  @BeforeAll
  static void start() {
    node = LoupeNode.start("ws", null, ApiTestMethods.catalog(), tmp.resolve("runs"), 2);
    // A small write queue and socket buffers, so a client that stops reading fills them quickly.
    ServerOptions options = new ServerOptions().setHost("127.0.0.1").setPort(0).setWsWriteQueueMaxBytes(4096)
        .setWsMaxInFlight(1).setQueryTimeoutMillis(3000);
    httpApi = HttpApi.create(node, options);
    HttpServer server = node.vertx().createHttpServer(HttpApi.httpOptions(options).setSendBufferSize(8192))
        .requestHandler(httpApi.router()).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().join();
    api = new WebApi(server.actualPort());
    session = api.post("/api/sessions", new JsonObject().put("model", "tiny")).json().getString("id");
  }

  @AfterAll
  static void stop() {
    api.close();
    node.close();
  }

  private static void startJob(String id, JsonObject config) {
    WebApi.Answer a = api.post("/api/jobs", new JsonObject().put("id", id).put("method", "ticker").put("config", config));
    assertThat(a.status()).as(a.text()).isEqualTo(201);
  }

  private static JobState finished(String id) throws Exception {
    return node.jobs().job(id).orElseThrow().completion().get(60, TimeUnit.SECONDS).state();
  }

  /** Collects frames until the job's final status; checks metrics rows are contiguous from {@code since}. */
  private static List<JsonObject> untilFinalStatus(WebApi.Socket s, List<Integer> steps, long since) throws Exception {
    List<JsonObject> frames = new ArrayList<>();
    long next = since;
    while (true) {
      JsonObject f = s.next();
      frames.add(f);
      if ("metrics".equals(f.getString("type"))) {
        assertThat(f.getLong("from")).as("rows contiguous").isEqualTo(next);
        JsonArray rows = f.getJsonArray("rows");
        rows.forEach(r -> steps.add(((JsonObject) r).getInteger("step")));
        next += rows.size();
      }
      if ("status".equals(f.getString("type"))
          && f.getJsonObject("status").getString("state").matches("SUCCEEDED|FAILED|CANCELLED")) {
        return frames;
      }
    }
  }

  private static List<Integer> range(int from, int to) {
    List<Integer> l = new ArrayList<>();
    for (int i = from; i < to; i++) {
      l.add(i);
    }
    return l;
  }

  @Test
  void aSubscriberGetsStoredRowsThenLiveOnesOnceInOrderAndTheFinalStatusLast() throws Exception {
    startJob("follow", new JsonObject().put("rows", 200).put("gate", true));
    ApiTestMethods.awaitHalfway("follow");

    try (WebApi.Socket s = api.socket()) {
      s.send(new JsonObject().put("op", "subscribe").put("job", "follow").put("id", "sub-1"));
      JsonObject subscribed = s.next();
      assertThat(subscribed.getMap()).containsEntry("type", "subscribed").containsEntry("id", "sub-1")
          .containsEntry("job", "follow");
      assertThat(subscribed.getJsonObject("status").getString("state")).isEqualTo("RUNNING");
      List<Integer> steps = new ArrayList<>();
      JsonObject stored = s.next("metrics");
      stored.getJsonArray("rows").forEach(r -> steps.add(((JsonObject) r).getInteger("step")));
      assertThat(steps).isEqualTo(range(0, 100));
      ApiTestMethods.open("follow");

      List<JsonObject> frames = untilFinalStatus(s, steps, 100);

      assertThat(steps).isEqualTo(range(0, 200));
      assertThat(frames).extracting(f -> f.getString("type")).contains("progress");
      JsonObject summary = frames.stream().filter(f -> "result".equals(f.getString("type"))
          && "summary".equals(f.getString("name"))).findFirst().orElseThrow();
      assertThat(summary.getJsonObject("result").getInteger("rows")).isEqualTo(200);
      JsonObject big = frames.stream().filter(f -> "result".equals(f.getString("type"))
          && "big".equals(f.getString("name"))).findFirst().orElseThrow();
      assertThat(big.containsKey("result")).isFalse();
      assertThat(big.getLong("bytes")).isGreaterThan(64 * 1024);
      assertThat(big.getString("url")).isEqualTo("/api/jobs/follow/results/big");
      assertThat(frames.get(frames.size() - 1).getJsonObject("status").getString("state")).isEqualTo("SUCCEEDED");
    }
  }

  @Test
  void aReconnectingClientGetsTheRowsFromWhereItStopped() throws Exception {
    startJob("done", new JsonObject().put("rows", 300));
    assertThat(finished("done")).isEqualTo(JobState.SUCCEEDED);

    try (WebApi.Socket s = api.socket()) {
      s.send(new JsonObject().put("op", "subscribe").put("job", "done").put("since", 250));
      JsonObject subscribed = s.next();
      assertThat(subscribed.getJsonObject("status").getString("state")).isEqualTo("SUCCEEDED");
      assertThat(subscribed.getLong("since")).isEqualTo(250);
      JsonObject rows = s.next("metrics");
      assertThat(rows.getLong("from")).isEqualTo(250);
      List<Integer> steps = new ArrayList<>();
      rows.getJsonArray("rows").forEach(r -> steps.add(((JsonObject) r).getInteger("step")));
      assertThat(steps).isEqualTo(range(250, 300));
      List<String> results = new ArrayList<>();
      results.add(s.next("result").getString("name"));
      results.add(s.next("result").getString("name"));
      assertThat(results).containsExactlyInAnyOrder("summary", "big");
    }
  }

  @Test
  void aClientThatStopsReadingNeitherStallsTheJobNorMissesARow() throws Exception {
    // The first half (several MB of rows) is more than the client's inbound queue and both
    // sockets' buffers hold, so the server finds the client full before the job goes on.
    int rows = 200_000;
    startJob("slow", new JsonObject().put("rows", rows).put("progress", 1).put("gate", true));
    ApiTestMethods.awaitHalfway("slow");
    long heldBefore = httpApi.ws().heldBack();
    WebSocketClient client = api.vertx().createWebSocketClient(new WebSocketClientOptions().setReceiveBufferSize(8192)
        .setMaxMessageSize(1 << 20).setMaxFrameSize(1 << 20));
    WebSocket ws = client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(api.port())
        .setURI("/api/ws")).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    BlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
    ws.textMessageHandler(t -> frames.add(new JsonObject(t)));
    ws.pause();
    ws.writeTextMessage(new JsonObject().put("op", "subscribe").put("job", "slow").encode());

    // The stored first half fills the client's buffers: the server holds frames back for it ...
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (httpApi.ws().heldBack() == heldBefore) {
      assertThat(System.nanoTime()).as("the server held frames back for the full client").isLessThan(deadline);
      Thread.sleep(10);
    }
    // ... and the job writes its second half and ends while the client still reads nothing.
    ApiTestMethods.open("slow");
    assertThat(finished("slow")).isEqualTo(JobState.SUCCEEDED);

    ws.resume();
    List<Integer> steps = new ArrayList<>();
    long next = 0;
    int progressFrames = 0;
    while (true) {
      JsonObject f = frames.poll(30, TimeUnit.SECONDS);
      assertThat(f).as("a frame within 30 s").isNotNull();
      if ("metrics".equals(f.getString("type"))) {
        assertThat(f.getLong("from")).isEqualTo(next);
        f.getJsonArray("rows").forEach(r -> steps.add(((JsonObject) r).getInteger("step")));
        next += f.getJsonArray("rows").size();
      } else if ("progress".equals(f.getString("type"))) {
        progressFrames++;
      } else if ("status".equals(f.getString("type")) && "SUCCEEDED".equals(f.getJsonObject("status").getString("state"))) {
        break;
      }
    }
    assertThat(steps).isEqualTo(range(0, rows));
    // 200,000 progress reports: the job manager passes on about 10 a second and the feed at most
    // the latest one while the client is full.
    assertThat(progressFrames).isLessThan(1000);
    ws.close();
    client.close();
  }

  @Test
  void everyJobsStatusChangesCanBeFollowed() throws Exception {
    try (WebApi.Socket s = api.socket()) {
      s.send(new JsonObject().put("op", "subscribe").put("job", "*"));
      assertThat(s.next().getString("type")).isEqualTo("subscribed");
      startJob("watched", new JsonObject().put("rows", 2));
      JsonObject f;
      do {
        f = s.next("status");
      } while (!f.getString("job").equals("watched") || !f.getJsonObject("status").getString("state").equals("SUCCEEDED"));
      s.send(new JsonObject().put("op", "unsubscribe").put("job", "*"));
      assertThat(s.next("unsubscribed").getString("job")).isEqualTo("*");
    }
  }

  @Test
  void promptsRunOverTheSocket() throws Exception {
    try (WebApi.Socket s = api.socket()) {
      s.send(new JsonObject().put("op", "run").put("id", 7).put("session", session).put("text", "Hi").put("top", 2)
          .put("hooks", new JsonArray().add(new JsonObject().put("hook", "blocks.0.mlp.hook_post")
              .put("neurons", new JsonArray().add(1)))));
      JsonObject run = s.next();
      assertThat(run.getMap()).containsEntry("type", "run").containsEntry("id", 7).containsEntry("session", session);
      JsonObject r = run.getJsonObject("result");
      assertThat(r.getJsonArray("tokens")).hasSize(2);
      assertThat(r.getJsonArray("top").getJsonArray(1)).hasSize(2);
      assertThat(r.getJsonArray("activations").getJsonObject(0).getJsonArray("values")).hasSize(2);

      s.send(new JsonObject().put("op", "lens").put("id", "l").put("session", session).put("text", "Hi"));
      JsonObject lens = s.next();
      assertThat(lens.getString("type")).isEqualTo("lens");
      assertThat(lens.getJsonObject("result").getJsonArray("layers")).hasSize(4);

      s.send(new JsonObject().put("op", "run").put("id", 8).put("session", session).put("text", "Hi")
          .put("hooks", new JsonArray().add("nope")));
      JsonObject bad = s.next();
      assertThat(bad.getMap()).containsEntry("type", "error").containsEntry("id", 8).containsEntry("status", 400);
      assertThat(bad.getString("error")).contains("'hooks[0]'");
      s.send(new JsonObject().put("op", "run").put("id", 9).put("session", "ws-s99").put("text", "Hi"));
      assertThat(s.next().getMap()).containsEntry("status", 404).containsEntry("id", 9);
    }
  }

  @Test
  void aConnectionMayHaveOnlySoManyCommandsUnanswered() throws Exception {
    // A session that never answers: the first command waits, the second is refused at once.
    node.vertx().eventBus().consumer(SessionAddresses.query("stuck"), m -> { });
    try (WebApi.Socket s = api.socket()) {
      s.send(new JsonObject().put("op", "run").put("id", 1).put("session", "stuck").put("text", "a"));
      s.send(new JsonObject().put("op", "run").put("id", 2).put("session", "stuck").put("text", "a"));

      JsonObject refused = s.next();
      assertThat(refused.getMap()).containsEntry("type", "error").containsEntry("id", 2).containsEntry("status", 429);
      JsonObject timedOut = s.next();
      assertThat(timedOut.getMap()).containsEntry("id", 1).containsEntry("status", 504);
    }
  }

  @Test
  void aMessageOverTheBodyLimitClosesTheConnection() throws Exception {
    // Frames within the server's frame limit, so it is the message limit that refuses this one.
    WebSocketClient client = api.vertx().createWebSocketClient(new WebSocketClientOptions()
        .setMaxMessageSize(4 << 20).setMaxFrameSize(1 << 16));
    WebSocket ws = client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(api.port())
        .setURI("/api/ws")).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    java.util.concurrent.CompletableFuture<Short> closed = new java.util.concurrent.CompletableFuture<>();
    List<String> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
    ws.textMessageHandler(answers::add);
    ws.closeHandler(v -> closed.complete(ws.closeStatusCode()));
    String big = new JsonObject().put("op", "run").put("session", session)
        .put("text", "x".repeat(ServerOptions.DEFAULT_MAX_BODY_BYTES + 1)).encode();

    ws.writeTextMessage(big);

    // 1009: message too big (RFC 6455), after an error frame that says so; the run never happened.
    assertThat(closed.get(30, TimeUnit.SECONDS)).isEqualTo((short) 1009);
    assertThat(answers).hasSize(1);
    assertThat(new JsonObject(answers.get(0)).getMap()).containsEntry("type", "error").containsEntry("status", 413);
    assertThat(new JsonObject(answers.get(0)).getString("error")).contains(String.valueOf(ServerOptions.DEFAULT_MAX_BODY_BYTES));
    client.close();

    // One frame over the frame limit (64 KiB) is refused as it is read: the connection closes.
    WebSocketClient bigFrames = api.vertx().createWebSocketClient(new WebSocketClientOptions()
        .setMaxMessageSize(4 << 20).setMaxFrameSize(4 << 20));
    WebSocket ws2 = bigFrames.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(api.port())
        .setURI("/api/ws")).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    java.util.concurrent.CompletableFuture<Void> closed2 = new java.util.concurrent.CompletableFuture<>();
    ws2.closeHandler(v -> closed2.complete(null));
    ws2.writeTextMessage(new JsonObject().put("op", "ping").put("pad", "x".repeat(1 << 17)).encode());
    closed2.get(30, TimeUnit.SECONDS);
    bigFrames.close();

    try (WebApi.Socket s = api.socket()) {
      s.send(new JsonObject().put("op", "ping"));
      assertThat(s.next().getString("type")).isEqualTo("pong");
    }
  }

  @Test
  void badMessagesAreAnsweredWithErrorsNamingTheField() throws Exception {
    try (WebApi.Socket s = api.socket()) {
      s.raw().writeTextMessage("not json");
      assertThat(s.next().getMap()).containsEntry("type", "error").containsEntry("status", 400);
      s.send(new JsonObject().put("id", 1));
      assertThat(s.next().getString("error")).contains("'op'");
      s.send(new JsonObject().put("op", "dance"));
      assertThat(s.next().getString("error")).contains("'dance'");
      s.send(new JsonObject().put("op", "subscribe").put("job", "nobody"));
      assertThat(s.next().getMap()).containsEntry("status", 404);
      s.send(new JsonObject().put("op", "subscribe").put("job", "../etc"));
      assertThat(s.next().getString("error")).contains("'id'");
      s.send(new JsonObject().put("op", "subscribe").put("job", "x").put("since", -1));
      assertThat(s.next().getString("error")).contains("'since'");
      s.send(new JsonObject().put("op", "subscribe").put("jobb", "x"));
      assertThat(s.next().getString("error")).contains("'jobb'");
      s.send(new JsonObject().put("op", "unsubscribe").put("job", "nobody"));
      assertThat(s.next().getMap()).containsEntry("status", 404);
      s.send(new JsonObject().put("op", "run").put("text", "a"));
      assertThat(s.next().getString("error")).contains("'session'");
      s.raw().writeBinaryMessage(Buffer.buffer(new byte[] {1, 2}));
      assertThat(s.next().getString("error")).contains("binary");
      s.send(new JsonObject().put("op", "ping"));
      assertThat(s.next().getString("type")).isEqualTo("pong");
    }
    assertThat(api.get("/api/ws").status()).isEqualTo(400);
  }
}
