package dev.loupe.core.node;

import dev.loupe.core.plugin.MethodCatalog;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * Analysis methods registered in code for the node, HTTP and CLI tests (no plugin zip needed), and
 * a small text corpus that reads faster than Europarl.
 */
public final class NodeTestMethods {
  private NodeTestMethods() {}

  /** {@code rows} and {@code stall}. */
  public static MethodCatalog catalog() {
    return MethodCatalog.of(List.of(MethodEntry.builtin(new Rows()), MethodEntry.builtin(new Stall())));
  }

  /**
   * Reads its input to the end and publishes {@code rows}: rows and batches read, whether batch
   * sequence numbers ran 0, 1, 2, ... without a gap, the sum of all values, the hook, and the id
   * of the model the input came with (empty when none). Reports progress after every batch.
   */
  public static final class Rows implements AnalysisMethod {
    @Override
    public MethodInfo info() {
      return MethodInfo.of("rows", "counts the rows of its input", ConfigSchema.builder()
          .intOption("scale", 1, 1, 100, "multiplier of the published sum").build());
    }

    @Override
    public void run(JobContext ctx) throws Exception {
      long rows = 0;
      long batches = 0;
      boolean inOrder = true;
      double sum = 0;
      ActivationBatch b;
      while ((b = ctx.input().next()) != null) {
        inOrder &= b.sequence() == batches;
        batches++;
        rows += b.rows();
        for (float v : b.values()) {
          sum += v;
        }
        ctx.progress(rows, ctx.input().totalRows(), "rows");
      }
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("rows", rows);
      result.put("batches", batches);
      result.put("in_order", inOrder);
      result.put("sum", sum * ctx.config().getInt("scale"));
      result.put("hook", ctx.input().hookName());
      result.put("model", ctx.model("main").map(m -> m.info().id()).orElse(""));
      ctx.publish("rows", result);
    }
  }

  /** Reads one batch, reports it as progress, then blocks until the job is cancelled. */
  public static final class Stall implements AnalysisMethod {
    private static final Map<String, CompletableFuture<Void>> READ = new ConcurrentHashMap<>();

    /** Completes once the stall job {@code jobId} has read its batch (and so is surely running). */
    public static CompletableFuture<Void> hasRead(String jobId) {
      return READ.computeIfAbsent(jobId, k -> new CompletableFuture<>());
    }

    @Override
    public MethodInfo info() {
      return MethodInfo.of("stall", "reads one batch and waits to be cancelled", ConfigSchema.empty());
    }

    @Override
    public void run(JobContext ctx) throws Exception {
      ActivationBatch b = ctx.input().next();
      ctx.progress(b == null ? 0 : b.rows(), ctx.input().totalRows(), "rows");
      hasRead(ctx.jobId()).complete(null);
      // Cancelling interrupts the job's thread; nothing else ends this wait.
      new CountDownLatch(1).await();
    }
  }

  /** Writes a plain-text corpus of {@code docs} paragraphs of about 400 bytes each (one token per byte). */
  public static Path corpus(Path dir, int docs) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int d = 0; d < docs; d++) {
      sb.append("Document ").append(d).append(':');
      for (int w = 0; w < 65; w++) {
        sb.append(' ').append((char) ('a' + (d * 7 + w * 3) % 26)).append("ord").append(w % 10);
      }
      sb.append("\n\n");
    }
    return Files.writeString(dir.resolve("corpus.txt"), sb.toString());
  }
}
