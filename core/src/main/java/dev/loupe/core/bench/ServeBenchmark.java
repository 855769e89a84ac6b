package dev.loupe.core.bench;

import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.plugin.MethodCatalog;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.core.server.HttpApi;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code loupe bench serve}: the HTTP/WebSocket server under load. A server JVM ({@link ServerMain},
 * started from this classpath with -Xmx512m, so its memory is its own) runs a job that writes metrics rows and
 * progress at a fixed rate and has a session of the demo model open. This JVM connects
 * {@code clients} WebSockets that follow the job ({@code stalled} of them stop reading until the
 * job has ended, then must still get every row), while {@code promptClients} loops run prompts on
 * the session and one loop asks for the health endpoint. Reported: p50/p99 latency of health and
 * prompt requests, the server's heap and resident set, and every client error (a metrics frame out
 * of order, an error frame, a lost connection, a missing row).
 */
public final class ServeBenchmark {
  /** Options; {@link #defaults()} are the figures in docs/BENCHMARKS.md. */
  public record Options(int clients, int stalled, int promptClients, int seconds, String model, int rowsPerSecond,
      int progressPerSecond, String prompt) {
    public static Options defaults() {
      return new Options(50, 5, 2, 30, "demo", 1000, 2000,
          "The European Parliament adopted the resolution on the common agricultural policy by a large majority.");
    }

    /** @throws IllegalArgumentException naming the option */
    public Options {
      if (clients < 1) {
        throw new IllegalArgumentException("--clients: at least 1, got " + clients);
      }
      if (stalled < 0 || stalled > clients) {
        throw new IllegalArgumentException("--stalled: between 0 and --clients (" + clients + "), got " + stalled);
      }
      if (promptClients < 0) {
        throw new IllegalArgumentException("--prompt-clients: at least 0, got " + promptClients);
      }
      if (seconds < 1) {
        throw new IllegalArgumentException("--seconds: at least 1, got " + seconds);
      }
      if (rowsPerSecond < 1 || progressPerSecond < 0) {
        throw new IllegalArgumentException("--rows-per-second must be >= 1 and --progress-per-second >= 0");
      }
    }
  }

  /** Latency figures of one kind of request, in milliseconds. */
  public record Latency(int count, double p50, double p99, double max) {
    static Latency of(List<Double> millis) {
      List<Double> s = new ArrayList<>(millis);
      Collections.sort(s);
      if (s.isEmpty()) {
        return new Latency(0, Double.NaN, Double.NaN, Double.NaN);
      }
      return new Latency(s.size(), at(s, 0.50), at(s, 0.99), s.get(s.size() - 1));
    }

    private static double at(List<Double> sorted, double q) {
      return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }

    JsonObject json() {
      return new JsonObject().put("count", count).put("p50_ms", p50).put("p99_ms", p99).put("max_ms", max);
    }
  }

  /** What one run measured. */
  public record Result(Options options, Latency health, Latency prompt, long rows, long framesReceived,
      long progressFrames, long heapBaselineBytes, long heapPeakBytes, long rssBaselineBytes, long rssPeakBytes,
      long rssEndBytes, long heldBack, List<String> errors, int cores, double wallSeconds) {
    public JsonObject json() {
      return new JsonObject().put("clients", options.clients()).put("stalled", options.stalled())
          .put("prompt_clients", options.promptClients()).put("seconds", options.seconds()).put("model", options.model())
          .put("rows_per_second", options.rowsPerSecond()).put("progress_per_second", options.progressPerSecond())
          .put("health", health.json()).put("prompt", prompt.json()).put("rows_per_client", rows)
          .put("frames_received", framesReceived).put("progress_frames", progressFrames)
          .put("heap_baseline_bytes", heapBaselineBytes).put("heap_peak_bytes", heapPeakBytes)
          .put("rss_baseline_bytes", rssBaselineBytes).put("rss_peak_bytes", rssPeakBytes)
          .put("rss_end_bytes", rssEndBytes).put("websocket_hold_backs", heldBack).put("errors", errors)
          .put("cores", cores).put("wall_seconds", wallSeconds);
    }
  }

  private ServeBenchmark() {
  }

  /** Runs the benchmark, logging what it does to {@code log}. */
  public static Result run(Options o, PrintWriter log) throws Exception {
    long t0 = System.nanoTime();
    Process server = startServer(o.model());
    BlockingLines lines = new BlockingLines(server);
    Vertx vertx = Vertx.vertx();
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    try {
      JsonObject ready = new JsonObject(lines.await("{\"event\":\"ready\"", 120));
      int port = ready.getInteger("port");
      String session = ready.getString("session");
      String base = "http://127.0.0.1:" + port;
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10)).build();
      log.printf("server up on port %d, session %s (%s); warming up%n", port, session, o.model());
      log.flush();
      for (int i = 0; i < 5; i++) {
        request(http, base + "/api/sessions/" + session + "/run", runBody(o));
        request(http, base + "/api/health", null);
      }
      JsonObject baseline = new JsonObject(request(http, base + "/api/health", null).body()).getJsonObject("memory");

      String job = "bench-serve";
      HttpResponse<String> started = request(http, base + "/api/jobs", new JsonObject().put("id", job)
          .put("method", Ticker.ID).put("config", new JsonObject().put("seconds", o.seconds())
              .put("rows_per_second", o.rowsPerSecond()).put("progress_per_second", o.progressPerSecond())).encode());
      if (started.statusCode() != 201) {
        throw new IllegalStateException("starting the job: " + started.statusCode() + " " + started.body());
      }

      List<Follower> followers = new ArrayList<>();
      for (int i = 0; i < o.clients(); i++) {
        followers.add(new Follower(i, i < o.stalled(), errors));
      }
      WebSocketClient wsClient = vertx.createWebSocketClient(new WebSocketClientOptions()
          .setMaxMessageSize(1 << 22).setMaxFrameSize(1 << 16).setConnectTimeout(30_000));
      // Stalled clients get small socket buffers, so that what they do not read backs up to the
      // server within the run (the kernel's loopback buffers would otherwise absorb megabytes).
      WebSocketClient stalledClient = vertx.createWebSocketClient(new WebSocketClientOptions()
          .setMaxMessageSize(1 << 22).setMaxFrameSize(1 << 16).setConnectTimeout(30_000).setReceiveBufferSize(8192));
      List<CompletableFuture<WebSocket>> connecting = new ArrayList<>();
      for (Follower f : followers) {
        connecting.add((f.stalled ? stalledClient : wsClient).connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
            .setURI("/api/ws")).toCompletionStage().toCompletableFuture().thenApply(ws -> {
              f.attach(ws, job);
              return ws;
            }));
      }
      for (CompletableFuture<WebSocket> c : connecting) {
        c.get(60, TimeUnit.SECONDS);
      }
      log.printf("%d WebSockets follow job %s (%d stalled), %d prompt loops and a health loop run for %d s%n",
          o.clients(), job, o.stalled(), o.promptClients(), o.seconds());
      log.flush();

      AtomicBoolean running = new AtomicBoolean(true);
      List<Double> healthMillis = Collections.synchronizedList(new ArrayList<>());
      List<Double> promptMillis = Collections.synchronizedList(new ArrayList<>());
      AtomicLong heapPeak = new AtomicLong(baseline.getLong("heapUsedBytes"));
      AtomicLong rssPeak = new AtomicLong(rss(baseline));
      List<Thread> loops = new ArrayList<>();
      loops.add(start("bench-health", () -> {
        while (running.get()) {
          long s = System.nanoTime();
          try {
            HttpResponse<String> r = request(http, base + "/api/health", null);
            healthMillis.add((System.nanoTime() - s) / 1e6);
            if (r.statusCode() != 200) {
              errors.add("health: " + r.statusCode());
              continue;
            }
            JsonObject mem = new JsonObject(r.body()).getJsonObject("memory");
            heapPeak.accumulateAndGet(mem.getLong("heapUsedBytes"), Math::max);
            rssPeak.accumulateAndGet(rss(mem), Math::max);
          } catch (Exception e) {
            errors.add("health: " + e);
          }
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
      }));
      for (int p = 0; p < o.promptClients(); p++) {
        loops.add(start("bench-prompt-" + p, () -> {
          String url = base + "/api/sessions/" + session + "/run";
          while (running.get()) {
            long s = System.nanoTime();
            try {
              HttpResponse<String> r = request(http, url, runBody(o));
              if (r.statusCode() != 200) {
                errors.add("prompt: " + r.statusCode() + " " + r.body());
              } else {
                promptMillis.add((System.nanoTime() - s) / 1e6);
              }
            } catch (Exception e) {
              errors.add("prompt: " + e);
            }
          }
        }));
      }

      // The followers that read see the job's final status when it ends.
      Follower reader = followers.stream().filter(f -> !f.stalled).findFirst().orElse(null);
      if (reader != null) {
        reader.done.get(o.seconds() + 120L, TimeUnit.SECONDS);
      } else {
        awaitJobEnd(http, base, job, o.seconds() + 120L);
      }
      running.set(false);
      for (Thread t : loops) {
        t.join(120_000);
      }
      JsonObject beforeResume = new JsonObject(request(http, base + "/api/health", null).body());
      log.printf("job ended; %d stalled clients read now%n", o.stalled());
      log.flush();
      followers.forEach(Follower::resume);
      long expectedRows = new JsonObject(request(http, base + "/api/jobs/" + job + "/results/summary", null).body())
          .getLong("rows");
      long frames = 0;
      long progress = 0;
      for (Follower f : followers) {
        try {
          f.done.get(120, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          errors.add("client " + f.index + ": no final status within 120 s after the job ended (" + f.rows + " rows)");
        }
        if (f.rows != expectedRows) {
          errors.add("client " + f.index + ": " + f.rows + " rows, expected " + expectedRows);
        }
        frames += f.frames;
        progress += f.progress;
      }
      JsonObject end = new JsonObject(request(http, base + "/api/health", null).body());
      rssPeak.accumulateAndGet(rss(beforeResume.getJsonObject("memory")), Math::max);
      heapPeak.accumulateAndGet(beforeResume.getJsonObject("memory").getLong("heapUsedBytes"), Math::max);
      followers.forEach(Follower::close);
      wsClient.close();
      stalledClient.close();
      return new Result(o, Latency.of(healthMillis), Latency.of(promptMillis), expectedRows, frames, progress,
          baseline.getLong("heapUsedBytes"), heapPeak.get(), rss(baseline), rssPeak.get(),
          rss(end.getJsonObject("memory")), end.getLong("websocketHoldBacks", 0L), List.copyOf(errors),
          Runtime.getRuntime().availableProcessors(), (System.nanoTime() - t0) / 1e9);
    } catch (Exception | AssertionError e) {
      throw new IllegalStateException(e.getMessage() + "\nserver output:\n" + lines.log(), e);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      server.getOutputStream().close(); // the server stops when its stdin closes
      if (!server.waitFor(30, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
  }

  private static Thread start(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** The figures as a table. */
  public static String table(Result r) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format("%-22s %8s %10s %10s %10s%n", "request", "count", "p50 ms", "p99 ms", "max ms"));
    for (Map.Entry<String, Latency> e : Map.of("GET /api/health", r.health(), "POST .../run (prompt)", r.prompt())
        .entrySet().stream().sorted(Map.Entry.comparingByKey()).toList()) {
      Latency l = e.getValue();
      sb.append(String.format("%-22s %8d %10.1f %10.1f %10.1f%n", e.getKey(), l.count(), l.p50(), l.p99(), l.max()));
    }
    sb.append(String.format("WebSocket clients: %d (%d stalled until the job ended), %,d rows each, %,d frames, "
        + "%,d progress frames in all; server held frames back %,d times%n", r.options().clients(),
        r.options().stalled(), r.rows(), r.framesReceived(), r.progressFrames(), r.heldBack()));
    sb.append(String.format("server heap used: %.0f MiB before, %.0f MiB peak; resident set: %.0f MiB before, "
        + "%.0f MiB peak, %.0f MiB at the end%n", mib(r.heapBaselineBytes()), mib(r.heapPeakBytes()),
        mib(r.rssBaselineBytes()), mib(r.rssPeakBytes()), mib(r.rssEndBytes())));
    sb.append(String.format("client errors: %d%s%n", r.errors().size(), r.errors().isEmpty() ? ""
        : " (" + String.join("; ", r.errors().subList(0, Math.min(5, r.errors().size()))) + ")"));
    sb.append(String.format("%d cores, %.0f s in all%n", r.cores(), r.wallSeconds()));
    return sb.toString();
  }

  private static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }

  private static long rss(JsonObject memory) {
    Long v = memory.getLong("rssBytes");
    return v == null ? -1 : v;
  }

  private static String runBody(Options o) {
    return new JsonObject().put("text", o.prompt()).put("top", 10).put("hooks", new io.vertx.core.json.JsonArray()
        .add(new JsonObject().put("hook", "blocks.0.mlp.hook_post").put("neurons",
            new io.vertx.core.json.JsonArray().add(0).add(1).add(2)))).encode();
  }

  private static HttpResponse<String> request(HttpClient http, String url, String jsonBody) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120));
    if (jsonBody != null) {
      b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(jsonBody));
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void awaitJobEnd(HttpClient http, String base, String job, long seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      String state = new JsonObject(request(http, base + "/api/jobs/" + job, null).body()).getString("state");
      if (state.matches("SUCCEEDED|FAILED|CANCELLED")) {
        return;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
    }
    throw new IllegalStateException("job " + job + " did not end within " + seconds + " s");
  }

  /** One WebSocket client following the job; its handlers run on one event loop. */
  private static final class Follower {
    final int index;
    final boolean stalled;
    final List<String> errors;
    final CompletableFuture<Void> done = new CompletableFuture<>();
    volatile long rows;
    volatile long frames;
    volatile long progress;
    private WebSocket ws;

    Follower(int index, boolean stalled, List<String> errors) {
      this.index = index;
      this.stalled = stalled;
      this.errors = errors;
    }

    void attach(WebSocket socket, String job) {
      this.ws = socket;
      ws.textMessageHandler(this::onFrame);
      ws.closeHandler(v -> {
        if (!done.isDone()) {
          errors.add("client " + index + ": connection closed before the job's final status");
          done.complete(null);
        }
      });
      ws.exceptionHandler(e -> errors.add("client " + index + ": " + e));
      if (stalled) {
        ws.pause();
      }
      ws.writeTextMessage(new JsonObject().put("op", "subscribe").put("job", job).put("id", index).encode());
    }

    private void onFrame(String text) {
      frames++;
      JsonObject f = new JsonObject(text);
      switch (f.getString("type", "")) {
        case "metrics" -> {
          long from = f.getLong("from");
          if (from != rows) {
            errors.add("client " + index + ": metrics from row " + from + ", expected " + rows);
          }
          rows = from + f.getJsonArray("rows").size();
        }
        case "progress" -> progress++;
        case "error" -> errors.add("client " + index + ": " + f.getString("error"));
        case "status" -> {
          if (f.getJsonObject("status").getString("state", "").matches("SUCCEEDED|FAILED|CANCELLED")) {
            if (!"SUCCEEDED".equals(f.getJsonObject("status").getString("state"))) {
              errors.add("client " + index + ": job " + f.getJsonObject("status").getString("state"));
            }
            done.complete(null);
          }
        }
        default -> { }
      }
    }

    void resume() {
      if (stalled) {
        ws.resume();
      }
    }

    void close() {
      ws.close();
    }
  }

  /**
   * A job for the benchmark: {@code seconds} long, writes {@code rows_per_second} metrics rows
   * shaped like a sparse-coder training's (loss, L0, FVE, dead fraction) and reports progress
   * {@code progress_per_second} times a second; then publishes {@code summary} {rows}.
   */
  static final class Ticker implements AnalysisMethod {
    static final String ID = "bench-ticker";

    @Override
    public MethodInfo info() {
      return new MethodInfo(ID, "metrics rows and progress at a fixed rate, for loupe bench serve", List.of(),
          ConfigSchema.builder()
              .intOption("seconds", 30, 1, 3600, "how long the job runs")
              .intOption("rows_per_second", 1000, 1, 100_000, "metrics rows written per second")
              .intOption("progress_per_second", 2000, 0, 1_000_000, "progress reports per second")
              .build());
    }

    @Override
    public void run(JobContext ctx) throws Exception {
      int seconds = ctx.config().getInt("seconds");
      int rowsPerSecond = ctx.config().getInt("rows_per_second");
      int progressPerSecond = ctx.config().getInt("progress_per_second");
      long total = (long) seconds * rowsPerSecond;
      int progressPerRow = Math.max(0, progressPerSecond / rowsPerSecond);
      long start = System.nanoTime();
      long rowNanos = 1_000_000_000L / rowsPerSecond;
      for (long step = 0; step < total; step++) {
        long due = start + step * rowNanos;
        for (int p = 0; p < progressPerRow; p++) {
          long at = due - rowNanos + rowNanos * (p + 1) / (progressPerRow + 1);
          LockSupport.parkNanos(at - System.nanoTime());
          ctx.progress(step * progressPerRow + p, total * progressPerRow, "ticks");
        }
        LockSupport.parkNanos(due - System.nanoTime());
        Map<String, Double> row = new LinkedHashMap<>();
        row.put("loss", 1.0 / (1 + step * 0.01));
        row.put("l0", 32 + 200.0 / (1 + step * 0.01));
        row.put("fve", 1 - 1.0 / (1 + step * 0.005));
        row.put("dead_fraction", 0.5 / (1 + step * 0.02));
        ctx.metrics(step, row);
        ctx.checkCancelled();
      }
      ctx.publish("summary", Map.of("rows", total));
    }
  }

  /**
   * The server side: a node whose only method is the benchmark's job, a session of the model, and
   * the HTTP API on a free loopback port; prints {@code {"event":"ready","port":P,"session":S}} and
   * serves until its stdin closes.
   */
  public static final class ServerMain {
    private ServerMain() {
    }

    public static void main(String[] args) throws Exception {
      String model = args.length > 0 ? args[0] : "demo";
      Path runDir = Files.createTempDirectory("loupe-bench-serve");
      LoupeNode node = LoupeNode.start("bench", null, MethodCatalog.of(List.of(MethodEntry.builtin(new Ticker()))),
          runDir, 2);
      String session = node.services().open(model);
      int port = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
      System.out.println(new JsonObject().put("event", "ready").put("port", port).put("session", session).encode());
      System.out.flush();
      try {
        while (System.in.read() >= 0) {
          // serve until the benchmark closes our stdin (or ends us)
        }
      } finally {
        node.close();
        try (var files = Files.walk(runDir)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }

  private static Process startServer(String model) throws IOException {
    Path logback = Files.createTempFile("loupe-bench-logback", ".xml");
    logback.toFile().deleteOnExit();
    Files.writeString(logback, "<configuration><appender name=\"OUT\" class=\"ch.qos.logback.core.ConsoleAppender\">"
        + "<encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder></appender>"
        + "<root level=\"WARN\"><appender-ref ref=\"OUT\"/></root></configuration>");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-Dai.djl.offline=true", "-Dlogback.configurationFile=" + logback));
    String home = System.getProperty("loupe.home");
    if (home != null) {
      command.add("-Dloupe.home=" + home);
    }
    command.addAll(List.of("-cp", ChildJvmClasspath.current(), ServerMain.class.getName(), model));
    return new ProcessBuilder(command).redirectErrorStream(true).start();
  }

  /** The server's output, line by line, kept for error messages. */
  private static final class BlockingLines {
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuffer log = new StringBuffer();

    BlockingLines(Process p) {
      Thread t = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) {
            log.append(line).append('\n');
            lines.add(line);
          }
        } catch (IOException e) {
          log.append("[output closed: ").append(e.getMessage()).append("]\n");
        }
      }, "bench-server-output");
      t.setDaemon(true);
      t.start();
    }

    String await(String prefix, int seconds) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (System.nanoTime() < deadline) {
        String line = lines.poll(100, TimeUnit.MILLISECONDS);
        if (line != null && line.startsWith(prefix)) {
          return line;
        }
      }
      throw new IllegalStateException("the server did not print '" + prefix + "' within " + seconds + " s");
    }

    String log() {
      return log.toString();
    }
  }
}
