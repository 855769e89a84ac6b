package dev.loupe.sdk.sparse;

import dev.loupe.sdk.report.Plots;
import dev.loupe.sdk.report.Plots.Chart;
import dev.loupe.sdk.report.Plots.Series;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The standard plots of a sparse-coder run, as PNG + SVG under a job's {@code plots/}: training
 * curves (loss; FVE, L0 and dead fraction, train and held-out), the held-out feature density
 * histogram (log10 firing frequency, the SAELens / Anthropic "feature density" plot) and the
 * decoder-norm histogram.
 */
public final class CoderPlots {
  /** Bins of the decoder-norm histogram. */
  public static final int NORM_BINS = 40;
  /** The folder of a job's artifact directory the plots go to. */
  public static final String DIR = "plots";

  private CoderPlots() {}

  /**
   * Writes every plot a run supports into {@code dir}.
   *
   * @param heldDensity each latent's firing frequency on the held-out rows
   * @return the PNGs written, by a short title (in the order a report shows them)
   */
  public static Map<String, Path> write(SparseCoderRun.Result r, double[] heldDensity, Path dir) throws IOException {
    Files.createDirectories(dir);
    Map<String, Path> out = new LinkedHashMap<>();
    curve(r.metrics(), List.of("loss"), "training loss", "loss", true, dir.resolve("loss"), out);
    curve(r.metrics(), List.of("fve", "eval_fve"), "fraction of variance explained", "FVE", false,
        dir.resolve("fve"), out);
    curve(r.metrics(), List.of("l0", "eval_l0"), "L0 (active latents per token)", "L0", false, dir.resolve("l0"), out);
    curve(r.metrics(), List.of("dead_fraction", "eval_dead_fraction"), "dead latents", "fraction", false,
        dir.resolve("dead_fraction"), out);
    SparseMetrics.DensityHistogram h = SparseMetrics.densityHistogram(heldDensity, 20, -10, 0);
    double[] counts = new double[h.counts().length];
    for (int i = 0; i < counts.length; i++) {
      counts[i] = h.counts()[i];
    }
    if (sum(counts) > 0) {
      out.put("feature density", Plots.histogram(Chart.of("feature density on held-out rows (" + h.dead()
          + " never fired)", "log10 firing frequency", "latents"), h.edges(), counts, dir.resolve("density")).png());
    }
    float[][] perSource = r.trainer().coder().decoderNormsPerSource();
    double[] norms = new double[perSource.length];
    for (int j = 0; j < norms.length; j++) {
      double sq = 0;
      for (float v : perSource[j]) {
        sq += (double) v * v;
      }
      norms[j] = Math.sqrt(sq);
    }
    out.put("decoder norms", histogram(norms, NORM_BINS, "decoder norms ||W_dec[j]||", "norm", dir.resolve(
        "decoder_norms")).png());
    return out;
  }

  /**
   * {@link #write} into the job's {@code plots/}, logging a warning instead of failing the job when
   * a plot cannot be drawn (the coder and results are already saved by then).
   */
  public static Map<String, Path> writeOrWarn(dev.loupe.sdk.method.JobContext ctx, SparseCoderRun.Result r,
      double[] heldDensity) {
    try {
      return write(r, heldDensity, ctx.artifactDir().resolve(DIR));
    } catch (IOException | RuntimeException e) {
      ctx.log().warn("plots not written: {}", e.toString());
      return Map.of();
    }
  }

  /** A report's "Plots" section: each PNG as a Markdown image, relative to {@code reportDir}. */
  public static String markdown(Map<String, Path> plots, Path reportDir) {
    if (plots.isEmpty()) {
      return "";
    }
    StringBuilder md = new StringBuilder("\n## Plots\n\n");
    plots.forEach((title, png) -> {
      String rel = reportDir.toAbsolutePath().relativize(png.toAbsolutePath()).toString().replace('\\', '/');
      md.append("![").append(title).append("](").append(rel).append(")\n");
    });
    md.append("\nEach plot is also an SVG beside its PNG.\n");
    return md.toString();
  }

  /**
   * A histogram of {@code values} over [min, max] (widened when all are equal).
   *
   * @throws IllegalArgumentException when there are no finite values
   */
  public static Plots.Rendered histogram(double[] values, int bins, String title, String xLabel, Path base)
      throws IOException {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (double v : values) {
      if (Double.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (lo > hi) {
      throw new IllegalArgumentException("histogram '" + title + "': no finite values");
    }
    if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
      lo -= 0.5;
      hi += 0.5;
    }
    return histogram(values, bins, lo, hi, title, xLabel, base);
  }

  /** A histogram of {@code values} over [lo, hi] (values outside go to the end bins). */
  public static Plots.Rendered histogram(double[] values, int bins, double lo, double hi, String title, String xLabel,
      Path base) throws IOException {
    double[] edges = new double[bins + 1];
    for (int i = 0; i <= bins; i++) {
      edges[i] = lo + (hi - lo) * i / bins;
    }
    double[] counts = new double[bins];
    for (double v : values) {
      if (Double.isFinite(v)) {
        int b = (int) Math.floor((v - lo) / (hi - lo) * bins);
        counts[Math.max(0, Math.min(bins - 1, b))]++;
      }
    }
    return Plots.histogram(Chart.of(title, xLabel, "latents"), edges, counts, base);
  }

  private static void curve(List<Map<String, Object>> rows, List<String> keys, String title, String yLabel,
      boolean logY, Path base, Map<String, Path> out) throws IOException {
    List<Series> series = new ArrayList<>();
    boolean positive = true;
    for (String key : keys) {
      List<double[]> points = new ArrayList<>();
      for (Map<String, Object> row : rows) {
        if (row.get(key) instanceof Number v && row.get("step") instanceof Number step
            && Double.isFinite(v.doubleValue())) {
          points.add(new double[] {step.doubleValue(), v.doubleValue()});
          positive &= v.doubleValue() > 0;
        }
      }
      if (points.isEmpty()) {
        continue;
      }
      double[] x = new double[points.size()];
      double[] y = new double[points.size()];
      for (int i = 0; i < x.length; i++) {
        x[i] = points.get(i)[0];
        y[i] = points.get(i)[1];
      }
      String name = key.startsWith("eval_") ? "held-out" : "train";
      // held-out rows are measured now and then: markers; training rows every few steps: a line
      series.add(key.startsWith("eval_") ? Series.lineAndPoints(name, x, y) : Series.line(name, x, y));
    }
    if (series.isEmpty()) {
      return;
    }
    Chart chart = Chart.of(title, "step", yLabel);
    out.put(title, Plots.xy(logY && positive ? chart.withLogY() : chart, series, base).png());
  }

  private static double sum(double[] a) {
    double s = 0;
    for (double v : a) {
      s += v;
    }
    return s;
  }
}
