package dev.loupe.core.server;

import dev.loupe.core.plugin.MethodCatalog;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Analysis methods registered in code for the API tests: they need no input and no plugin zip. */
final class ApiTestMethods {
  private static final Map<String, CountDownLatch> GATES = new ConcurrentHashMap<>();
  private static final Map<String, CountDownLatch> HALFWAY = new ConcurrentHashMap<>();

  private ApiTestMethods() {
  }

  static MethodCatalog catalog() {
    return MethodCatalog.of(List.of(MethodEntry.builtin(new Ticker()), MethodEntry.builtin(new Checkpointer())));
  }

  /** Lets a {@code ticker} job with {@code gate: true} write its second half. */
  static void open(String jobId) {
    GATES.computeIfAbsent(jobId, k -> new CountDownLatch(1)).countDown();
  }

  /** Waits until a gated {@code ticker} job has written its first half. */
  static void awaitHalfway(String jobId) throws InterruptedException {
    if (!HALFWAY.computeIfAbsent(jobId, k -> new CountDownLatch(1)).await(30, TimeUnit.SECONDS)) {
      throw new AssertionError("job " + jobId + " did not reach its halfway point");
    }
  }

  /**
   * Writes {@code rows} metrics rows (loss = 1 / (step + 1)) with {@code progress} progress reports
   * before each; with {@code gate}, stops after the first half until {@link #open}; then publishes
   * a small {@code summary} and a {@code big} result (over 64 KiB).
   */
  static final class Ticker implements AnalysisMethod {
    @Override
    public MethodInfo info() {
      return new MethodInfo("ticker", "metrics rows and progress for the API tests", List.of(), ConfigSchema.builder()
          .intOption("rows", 10, 0, 1_000_000, "metrics rows")
          .intOption("progress", 1, 0, 1_000_000, "progress reports per row")
          .boolOption("gate", false, "wait halfway for the test")
          .build());
    }

    @Override
    public void run(JobContext ctx) throws Exception {
      int rows = ctx.config().getInt("rows");
      int progress = ctx.config().getInt("progress");
      boolean gate = ctx.config().getBoolean("gate");
      long total = (long) rows * Math.max(1, progress);
      long done = 0;
      for (int i = 0; i < rows; i++) {
        if (gate && i == rows / 2) {
          HALFWAY.computeIfAbsent(ctx.jobId(), k -> new CountDownLatch(1)).countDown();
          if (!GATES.computeIfAbsent(ctx.jobId(), k -> new CountDownLatch(1)).await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the test never opened the gate");
          }
        }
        for (int p = 0; p < progress; p++) {
          ctx.progress(++done, total, "ticks");
        }
        ctx.metrics(i, Map.of("loss", 1.0 / (i + 1)));
        ctx.checkCancelled();
      }
      ctx.publish("summary", Map.of("rows", rows));
      Map<String, Object> big = new LinkedHashMap<>();
      big.put("filler", "x".repeat(70_000));
      ctx.publish("big", big);
    }
  }

  /**
   * The first run writes a checkpoint and one metrics row, then fails; a resumed run (one that
   * finds its checkpoint) publishes {@code resumed} with what the checkpoint said.
   */
  static final class Checkpointer implements AnalysisMethod {
    @Override
    public MethodInfo info() {
      return new MethodInfo("checkpointer", "fails once after a checkpoint, then resumes", List.of(),
          ConfigSchema.builder().intOption("step", 7, 0, 100, "the step written to the checkpoint").build());
    }

    @Override
    public void run(JobContext ctx) throws Exception {
      if (!ctx.resuming()) {
        Files.writeString(ctx.checkpointDir().resolve("step.txt"), Integer.toString(ctx.config().getInt("step")));
        ctx.metrics(0, Map.of("loss", 2.0));
        throw new IllegalStateException("planned failure after the checkpoint");
      }
      int step = Integer.parseInt(Files.readString(ctx.checkpointDir().resolve("step.txt")).trim());
      ctx.metrics(step, Map.of("loss", 1.0));
      ctx.publish("resumed", Map.of("from_step", step));
    }
  }
}
