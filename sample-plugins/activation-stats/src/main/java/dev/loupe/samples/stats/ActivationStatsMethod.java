package dev.loupe.samples.stats;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import org.pf4j.Extension;

/**
 * The analysis method {@code activation-stats}: per-dimension mean and variance of an activation
 * input, a histogram of row L2 norms and the highest-variance dimensions, published as the
 * result {@code stats} and written up in {@code report.md}.
 *
 * <p>A complete example of the SDK surface: {@link MethodInfo} with a {@link ConfigSchema} (the
 * host validates job configs against it before the job starts, so {@code run} can trust every
 * value), reading batches from {@link JobContext#input()}, progress, metrics, cancellation,
 * results and artifact files.
 *
 * <p>{@code @Extension} is what makes the host find this class: PF4J's annotation processor lists
 * it in {@code META-INF/extensions.idx} of the plugin jar. One instance may run several jobs at
 * once, so all per-job state lives in local variables of {@link #run}.
 */
@Extension
public class ActivationStatsMethod implements AnalysisMethod {

  /** The method id users put in job requests ({@code loupe job activation-stats ...}). */
  public static final String ID = "activation-stats";

  // Built once: info() must be cheap, the host calls it to list and validate.
  private static final MethodInfo INFO = MethodInfo.of(ID,
      "Per-dimension mean/variance, row-norm histogram and top-variance dimensions of one activation input",
      ConfigSchema.builder()
          .intOption("bins", 50, 1, 10_000, "number of bins of the row L2-norm histogram")
          .longOption("max_rows", 0L, 0L, null, "stop after this many rows (0: read the whole input)")
          .intOption("top_dims", 10, 0, 100_000, "how many highest-variance dimensions to list")
          .doubleOption("norm_max", 0.0, 0.0, null,
              "fixed histogram range [0, norm_max], binned on the fly (0: observed range, keeps 4 bytes per row)")
          .intOption("metrics_every", 10, 1, null, "record a metrics row every this many batches")
          .build());

  @Override
  public MethodInfo info() {
    return INFO;
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    JobConfig cfg = ctx.config();
    long maxRows = cfg.getLong("max_rows");
    int metricsEvery = cfg.getInt("metrics_every");
    ActivationSource in = ctx.input();
    int width = in.width();

    RunningMoments moments = new RunningMoments(width);
    NormHistogram norms = new NormHistogram(cfg.getInt("bins"), cfg.getDouble("norm_max"));
    long total = in.totalRows() < 0 ? (maxRows > 0 ? maxRows : -1)
        : (maxRows > 0 ? Math.min(maxRows, in.totalRows()) : in.totalRows());
    ctx.log().info("reading {} (width {}, {} rows expected)", in.hookName(), width, total < 0 ? "unknown" : total);

    long batches = 0;
    ActivationBatch batch;
    // next() returns null at the end of the input; it throws InterruptedException when the job is
    // cancelled while waiting, and checkCancelled() catches a cancel between batches.
    while ((maxRows == 0 || moments.count() < maxRows) && (batch = in.next()) != null) {
      ctx.checkCancelled();
      if (batch.width() != width) {
        throw new IllegalStateException("batch " + batch.sequence() + " of input '" + in.hookName() + "' has width "
            + batch.width() + ", expected " + width);
      }
      if (maxRows > 0 && moments.count() + batch.rows() > maxRows) {
        batch = batch.slice(0, (int) (maxRows - moments.count()));
      }
      moments.addRows(batch.values(), batch.rows());
      norms.addRows(batch.values(), batch.rows(), width);
      batches++;
      // Cheap to call per batch: the host coalesces what it forwards to followers.
      ctx.progress(moments.count(), total, "rows");
      if (batches % metricsEvery == 0) {
        ctx.metrics(moments.count(), metrics(moments));
      }
    }
    if (moments.count() == 0) {
      throw new IllegalStateException("input '" + in.hookName() + "' delivered no rows");
    }
    ctx.metrics(moments.count(), metrics(moments));

    Map<String, Object> stats = summarise(in.hookName(), moments, norms.finish(), cfg.getInt("top_dims"));
    ctx.publish("stats", stats);
    writeReport(ctx.artifactDir().resolve("report.md"), stats);
    ctx.log().info("done: {} rows", moments.count());
  }

  /** The {@code stats} result document: plain maps, lists and numbers so it serialises to JSON. */
  static Map<String, Object> summarise(String hook, RunningMoments m, NormHistogram.Result h, int topDims) {
    double[] mean = m.mean();
    double[] var = m.variance();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("hook", hook);
    out.put("rows", m.count());
    out.put("width", m.width());
    out.put("mean_norm", h.meanNorm());
    out.put("min_norm", h.minNorm());
    out.put("max_norm", h.maxNorm());
    out.put("mean", mean);
    out.put("variance", var);
    Map<String, Object> hist = new LinkedHashMap<>();
    hist.put("edges", h.edges());
    hist.put("counts", h.counts());
    hist.put("overflow", h.overflow());
    out.put("norm_histogram", hist);
    List<Map<String, Object>> top = new ArrayList<>();
    IntStream.range(0, var.length).boxed()
        .sorted(Comparator.comparingDouble((Integer d) -> var[d]).reversed().thenComparingInt(d -> d))
        .limit(topDims)
        .forEach(d -> {
          Map<String, Object> e = new LinkedHashMap<>();
          e.put("dim", d);
          e.put("variance", var[d]);
          e.put("mean", mean[d]);
          top.add(e);
        });
    out.put("top_variance_dims", top);
    return out;
  }

  private static void writeReport(Path file, Map<String, Object> s) throws IOException {
    StringBuilder md = new StringBuilder();
    md.append("# Activation statistics: ").append(s.get("hook")).append("\n\n");
    md.append(String.format(Locale.ROOT, "- rows: %d%n- width: %d%n- mean row L2 norm: %.6g (min %.6g, max %.6g)%n%n",
        (Long) s.get("rows"), (Integer) s.get("width"), (Double) s.get("mean_norm"), (Double) s.get("min_norm"),
        (Double) s.get("max_norm")));
    md.append("## Highest-variance dimensions\n\n| dim | variance | mean |\n|---:|---:|---:|\n");
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> top = (List<Map<String, Object>>) s.get("top_variance_dims");
    for (Map<String, Object> e : top) {
      md.append(String.format(Locale.ROOT, "| %d | %.6g | %.6g |%n", (Integer) e.get("dim"), (Double) e.get("variance"),
          (Double) e.get("mean")));
    }
    md.append("\n## Row-norm histogram\n\n| from | to | rows |\n|---:|---:|---:|\n");
    @SuppressWarnings("unchecked")
    Map<String, Object> hist = (Map<String, Object>) s.get("norm_histogram");
    double[] edges = (double[]) hist.get("edges");
    long[] counts = (long[]) hist.get("counts");
    for (int i = 0; i < counts.length; i++) {
      md.append(String.format(Locale.ROOT, "| %.4g | %.4g | %d |%n", edges[i], edges[i + 1], counts[i]));
    }
    long overflow = (Long) hist.get("overflow");
    if (overflow > 0) {
      md.append("\n").append(overflow).append(" rows had a norm above the fixed range.\n");
    }
    // Written beside the target and renamed, so a reader never sees half a report.
    Path tmp = Files.createTempFile(file.getParent(), ".report", ".tmp");
    Files.writeString(tmp, md, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** One metrics row: how far the running means are from zero and the average spread; x axis = rows. */
  private static Map<String, Double> metrics(RunningMoments m) {
    Map<String, Double> row = new LinkedHashMap<>();
    row.put("mean_abs_mean", meanAbs(m.mean()));
    row.put("mean_variance", meanOf(m.variance()));
    return row;
  }

  private static double meanAbs(double[] a) {
    double s = 0;
    for (double x : a) {
      s += Math.abs(x);
    }
    return s / a.length;
  }

  private static double meanOf(double[] a) {
    double s = 0;
    for (double x : a) {
      s += x;
    }
    return s / a.length;
  }
}
