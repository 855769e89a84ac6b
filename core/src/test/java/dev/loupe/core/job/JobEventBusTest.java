package dev.loupe.core.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobEventBusTest {
  @TempDir
  Path runs;

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Reports progress 20 000 times as fast as it can, then one metrics row and one result. */
  static final class Chatty implements AnalysisMethod {
    @Override
    public MethodInfo info() {
      return new MethodInfo("chatty", "reports a lot", List.of(), ConfigSchema.empty());
    }

    @Override
    public void run(JobContext ctx) {
      for (int i = 1; i <= 20_000; i++) {
        ctx.progress(i, 20_000, "steps");
      }
      ctx.metrics(1, Map.of("loss", 0.5));
      ctx.publish("answer", Map.of("value", 42));
    }
  }

  @Test
  void progressIsCoalescedAndStatusMetricsAndResultsArePublished() throws Exception {
    String id = "chatty-1";
    List<JsonObject> progress = new CopyOnWriteArrayList<>();
    List<String> states = new CopyOnWriteArrayList<>();
    CompletableFuture<JsonObject> metrics = new CompletableFuture<>();
    CompletableFuture<JsonObject> result = new CompletableFuture<>();
    CompletableFuture<Void> finished = new CompletableFuture<>();
    CompletableFuture<Void> lastProgress = new CompletableFuture<>();
    vertx.eventBus().<JsonObject>consumer(JobAddresses.progress(id), m -> {
      progress.add(m.body());
      if (m.body().getLong("done") == 20_000L) {
        lastProgress.complete(null);
      }
    });
    vertx.eventBus().<JsonObject>consumer(JobAddresses.metrics(id), m -> metrics.complete(m.body()));
    vertx.eventBus().<JsonObject>consumer(JobAddresses.results(id), m -> result.complete(m.body()));
    vertx.eventBus().<JsonObject>consumer(JobAddresses.status(id), m -> {
      states.add(m.body().getString("state"));
      if (m.body().getString("state").equals("SUCCEEDED")) {
        finished.complete(null);
      }
    }).completion().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

    try (JobManager jobs = new JobManager(TestMethods.catalog(new Chatty()), runs, 1, vertx)) {
      JobHandle job = jobs.start(JobRequest.builder("chatty").jobId(id).build());
      job.completion().get(10, TimeUnit.SECONDS);
      finished.get(10, TimeUnit.SECONDS);
      lastProgress.get(10, TimeUnit.SECONDS);

      assertThat(states).containsExactly("RUNNING", "SUCCEEDED");
      assertThat(metrics.get(10, TimeUnit.SECONDS).getJsonObject("values").getDouble("loss")).isEqualTo(0.5);
      assertThat(result.get(10, TimeUnit.SECONDS).getJsonObject("result").getInteger("value")).isEqualTo(42);
      // 20 000 reports in a loop that takes milliseconds: at about 10 messages a second only a
      // handful get through (the bound leaves room for a slow machine), and the final one does.
      assertThat(progress.size()).isBetween(1, 200);
    }
  }
}
