package dev.loupe.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.job.JobAddresses;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job feed against a client whose write queue is full: progress coalesces to the latest value,
 * metrics wait in the file (not in memory) and arrive complete and in order once it drains, and
 * the final status comes after the last rows.
 */
class JobFeedTest {
  private static final String JOB = "feed-job";

  @TempDir
  Path dir;

  private Vertx vertx;
  private Context context;
  private Sink sink;
  private JobFeed feed;

  /** A client that records frames and is full when told so. */
  private final class Sink implements FeedSink {
    volatile boolean full;
    final List<JsonObject> frames = new CopyOnWriteArrayList<>();

    @Override
    public boolean full() {
      return full;
    }

    @Override
    public void send(JsonObject frame) {
      frames.add(frame);
    }

    @Override
    public void sendText(String frame) {
      frames.add(new JsonObject(frame));
    }

    @Override
    public Vertx vertx() {
      return vertx;
    }
  }

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    sink = new Sink();
  }

  @AfterEach
  void stop() {
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }

  private void onContext(Runnable r) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      r.run();
      done.complete(null);
    });
    done.get(10, TimeUnit.SECONDS);
  }

  private void appendRows(int from, int to) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (int i = from; i < to; i++) {
      sb.append("{\"step\":").append(i).append(",\"time\":").append(i).append(",\"loss\":").append(1.0 / (i + 1))
          .append("}\n");
    }
    Files.writeString(dir.resolve("metrics.jsonl"), sb, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  private List<Integer> steps() {
    List<Integer> out = new ArrayList<>();
    long expectFrom = -1;
    for (JsonObject f : sink.frames) {
      if ("metrics".equals(f.getString("type"))) {
        expectFrom = expectFrom < 0 ? f.getLong("from") : expectFrom;
        assertThat(f.getLong("from")).as("rows arrive contiguously").isEqualTo(expectFrom);
        JsonArray rows = f.getJsonArray("rows");
        rows.forEach(r -> out.add(((JsonObject) r).getInteger("step")));
        expectFrom += rows.size();
      }
    }
    return out;
  }

  private static void await(Supplier<Boolean> condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.get()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 20 s");
      }
      Thread.sleep(5);
    }
  }

  private List<Integer> range(int n) {
    List<Integer> l = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      l.add(i);
    }
    return l;
  }

  private long count(String type) {
    return sink.frames.stream().filter(f -> type.equals(f.getString("type"))).count();
  }

  @Test
  void aFullClientHoldsOneProgressAndNoRowsThenCatchesUpFromTheFile() throws Exception {
    appendRows(0, 3000);
    sink.full = true;
    onContext(() -> {
      feed = new JobFeed(sink, JOB, dir, true);
      feed.start(0, new JsonObject().put("state", "RUNNING"), "s1");
    });
    for (int i = 1; i <= 5000; i++) {
      vertx.eventBus().publish(JobAddresses.progress(JOB), new JsonObject().put("done", i).put("total", 5000));
    }
    appendRows(3000, 4000);
    for (int i = 0; i < 1000; i++) {
      vertx.eventBus().publish(JobAddresses.metrics(JOB), new JsonObject().put("step", 3000 + i));
    }
    await(() -> {
      try {
        long[] events = new long[2];
        onContext(() -> {
          events[0] = feed.progressEvents();
          events[1] = feed.pending();
        });
        return events[0] == 5000;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    int[] pending = new int[1];
    onContext(() -> pending[0] = feed.pending());

    assertThat(pending[0]).as("one progress value waits, not 5000").isEqualTo(1);
    assertThat(sink.frames).extracting(f -> f.getString("type")).containsExactly("subscribed");

    sink.full = false;
    onContext(() -> feed.drained());
    await(() -> steps().size() == 4000);
    await(() -> count("progress") == 1);

    assertThat(steps()).isEqualTo(range(4000));
    JsonObject progress = sink.frames.stream().filter(f -> "progress".equals(f.getString("type"))).findFirst().orElseThrow();
    assertThat(progress.getJsonObject("progress").getInteger("done")).isEqualTo(5000);
    assertThat(sink.frames.get(0).getString("id")).isEqualTo("s1");
  }

  @Test
  void theFinalStatusFollowsTheLastRowsAndResultsAreAnnounced() throws Exception {
    Files.createDirectories(dir.resolve("results"));
    Files.writeString(dir.resolve("results/summary.json"), "{\"rows\": 2}");
    appendRows(0, 2);
    onContext(() -> {
      feed = new JobFeed(sink, JOB, dir, true);
      feed.start(1, new JsonObject().put("state", "RUNNING"), null);
    });
    await(() -> steps().size() == 1);
    assertThat(sink.frames.stream().filter(f -> "metrics".equals(f.getString("type"))).findFirst().orElseThrow()
        .getLong("from")).isEqualTo(1);
    appendRows(2, 600);
    vertx.eventBus().publish(JobAddresses.metrics(JOB), new JsonObject());
    vertx.eventBus().publish(JobAddresses.status(JOB), new JsonObject().put("state", "SUCCEEDED"));
    await(() -> count("status") == 1);

    // Rows from index 1 (since = 1), every one once, and the status after the last of them.
    List<Integer> steps = new ArrayList<>();
    sink.frames.stream().filter(f -> "metrics".equals(f.getString("type")))
        .forEach(f -> f.getJsonArray("rows").forEach(r -> steps.add(((JsonObject) r).getInteger("step"))));
    assertThat(steps).isEqualTo(range(600).subList(1, 600));
    assertThat(sink.frames.get(sink.frames.size() - 1).getString("type")).isEqualTo("status");
    JsonObject result = sink.frames.stream().filter(f -> "result".equals(f.getString("type"))).findFirst().orElseThrow();
    assertThat(result.getString("name")).isEqualTo("summary");
    assertThat(result.getJsonObject("result").getInteger("rows")).isEqualTo(2);
  }

  @Test
  void aJobStartedAfreshResetsItsMetrics() throws Exception {
    appendRows(0, 50);
    onContext(() -> {
      feed = new JobFeed(sink, JOB, dir, true);
      feed.start(0, new JsonObject(), null);
    });
    await(() -> steps().size() == 50);
    Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\":0,\"time\":9}\n");
    vertx.eventBus().publish(JobAddresses.metrics(JOB), new JsonObject());
    await(() -> count("reset") == 1 && sink.frames.get(sink.frames.size() - 1).getString("type").equals("metrics"));

    JsonObject last = sink.frames.get(sink.frames.size() - 1);
    assertThat(last.getLong("from")).isZero();
    assertThat(last.getJsonArray("rows").getJsonObject(0).getInteger("time")).isEqualTo(9);
  }
}
