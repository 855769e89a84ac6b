package dev.loupe.core.job;

import dev.loupe.core.plugin.MethodCatalog;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/** Small analysis methods and sources that exercise the job manager. */
final class TestMethods {
  private TestMethods() {}

  /** Sums every value of its input; publishes {@code sum}; records one metrics row per batch. */
  static final class Sum implements AnalysisMethod {
    @Override
    public MethodInfo info() {
      return MethodInfo.of("sum", "sums values", ConfigSchema.builder()
          .intOption("scale", 1, 1, 100, "multiplier").build());
    }

    @Override
    public void run(JobContext ctx) throws Exception {
      double sum = 0;
      long rows = 0;
      ActivationBatch b;
      while ((b = ctx.input().next()) != null) {
        for (float v : b.values()) {
          sum += v;
        }
        rows += b.rows();
        ctx.progress(rows, ctx.input().totalRows(), "rows");
        ctx.metrics(b.sequence(), Map.of("partial", sum));
      }
      ctx.metrics(-1, Map.of("nan", Double.NaN));
      ctx.publish("sum", Map.of("sum", sum * ctx.config().getInt("scale"), "rows", rows));
    }
  }

  /** Throws from run(). */
  static final class Boom implements AnalysisMethod {
    @Override
    public MethodInfo info() {
      return new MethodInfo("boom", "always fails", List.of(), ConfigSchema.empty());
    }

    @Override
    public void run(JobContext ctx) {
      throw new IllegalStateException("weights file is corrupt");
    }
  }

  /** Blocks reading its input until cancelled; counts down {@code started} when it begins. */
  static final class Waiter implements AnalysisMethod {
    final CountDownLatch started = new CountDownLatch(1);

    @Override
    public MethodInfo info() {
      return MethodInfo.of("waiter", "waits for data that never comes", ConfigSchema.empty());
    }

    @Override
    public void run(JobContext ctx) throws Exception {
      started.countDown();
      while (ctx.input().next() != null) {
        ctx.checkCancelled();
      }
      ctx.checkCancelled();
    }
  }

  static MethodCatalog catalog(AnalysisMethod... methods) {
    return MethodCatalog.of(java.util.Arrays.stream(methods).map(MethodEntry::builtin).toList());
  }

  /** A source that hands out what is put into it and blocks when empty, like a live stream. */
  static final class QueueSource implements ActivationSource {
    final LinkedBlockingQueue<ActivationBatch> queue = new LinkedBlockingQueue<>();
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public ActivationBatch next() throws InterruptedException {
      return closed.get() ? null : queue.take();
    }

    @Override
    public String hookName() {
      return "blocks.0.hook_resid_post";
    }

    @Override
    public int width() {
      return 4;
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }
}
