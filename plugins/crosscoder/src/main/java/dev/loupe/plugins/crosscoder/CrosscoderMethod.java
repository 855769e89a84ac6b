package dev.loupe.plugins.crosscoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.activation.ModelNotingSource;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.sparse.CoderPlots;
import dev.loupe.sdk.sparse.CrosscoderDiff;
import dev.loupe.sdk.sparse.FeatureDashboards;
import dev.loupe.sdk.sparse.FeatureExamples;
import dev.loupe.sdk.sparse.LatentScaling;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import dev.loupe.sdk.sparse.SparseCoderRun;
import dev.loupe.sdk.sparse.SparseCoderSettings;
import dev.loupe.sdk.sparse.SparseCoderTrainer;
import dev.loupe.sdk.sparse.SparseMetrics;
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
import java.util.Optional;
import org.pf4j.Extension;

/**
 * The analysis method {@code crosscoder}: trains a crosscoder on two or more activation inputs
 * read row by row on the same tokens (two models at one hook, as base vs fine-tuned, or one model
 * at several layers), with per-source decoders, the L1 penalty weighted by summed per-source
 * decoder norms (Lindsey et al. 2024, "Sparse Crosscoders for Cross-Layer Features and Model
 * Diffing") or the BatchTopK variant (Minder et al. 2025, "Overcoming Sparsity Artifacts in
 * Crosscoders to Interpret Chat-Tuning"), then diffs two of the sources: the relative decoder norm
 * of every latent with counts of latents exclusive to either source and shared, the cosine
 * similarity of shared latents' decoder vectors, and Latent Scaling ratios that flag "exclusive"
 * latents which the other source does carry (Complete Shrinkage) or reconstructs with other
 * latents (Latent Decoupling). Training runs through the SDK's {@link SparseCoderRun}
 * (held-out rows, checkpoints, resume).
 */
@Extension
public class CrosscoderMethod implements AnalysisMethod {

  public static final String ID = "crosscoder";
  /** Sub-directory of the artifact directory that holds the trained crosscoder. */
  static final String CODER_DIR = "crosscoder";
  private static final int HISTOGRAM_BINS = 20;
  private static final int REPORT_LATENTS = 10;
  private static final int REPORT_EXAMPLES = 3;

  // relu by default: on the budgets Loupe trains on (a few thousand steps) the L1 penalty is what
  // pushes a source's unneeded decoders to zero; BatchTopK left every demo / demo-ft latent shared
  static final ConfigSchema SCHEMA = SparseCoderSettings.schema(List.of("relu", "batchtopk"), "relu", 2.0,
          "the width of one source")
      .stringListOption("sources", List.of(),
          "input names in the order the crosscoder reads them (default: every input, in the job's order)")
      .stringOption("base", "", "the source diffed as 'a' (e.g. the base model; default: the first source)")
      .stringOption("finetuned", "", "the source diffed as 'b' (e.g. the fine-tuned model; default: the second)")
      .boolOption("same_tokens", true,
          "require every row's token id to agree across sources (false for models with different tokenizers)")
      .doubleOption("exclusive_threshold", 0.1, 0.0, 0.5,
          "a latent is exclusive to a source when its relative decoder norm is within this of that end")
      .doubleOption("shared_half_width", 0.1, 0.0, 0.5,
          "a latent is shared when its relative decoder norm is within this of 0.5")
      .doubleOption("nu_threshold", 0.5, 0.0, null,
          "an exclusive latent whose Latent Scaling ratio nu_error or nu_recon exceeds this is flagged as "
              + "present in the other source too")
      .build();

  private static final MethodInfo INFO = new MethodInfo(ID,
      "Crosscoder on two or more aligned inputs (models or layers) with a model-diff report: relative decoder norms,"
          + " shared/exclusive latents, Latent Scaling", List.of(MethodInfo.ANY_INPUTS), SCHEMA);

  @Override
  public MethodInfo info() {
    return INFO;
  }

  /** The inputs, in the order the crosscoder reads them, and the two compared. */
  record Sources(List<String> names, int a, int b, int width) {
  }

  static Sources sources(JobContext ctx) {
    JobConfig cfg = ctx.config();
    List<String> names = cfg.getStringList("sources").isEmpty() ? new ArrayList<>(ctx.inputNames())
        : cfg.getStringList("sources");
    if (names.size() < 2) {
      throw new IllegalArgumentException("a crosscoder needs at least two inputs (e.g. 'base' and 'finetuned'), got "
          + names + (cfg.getStringList("sources").isEmpty() ? "" : " in config sources"));
    }
    if (names.stream().distinct().count() != names.size()) {
      throw new IllegalArgumentException("config sources = " + names + " names an input twice");
    }
    int width = -1;
    for (String n : names) {
      if (!ctx.inputNames().contains(n)) {
        throw new IllegalArgumentException("config sources names input '" + n + "', but the job's inputs are "
            + ctx.inputNames());
      }
      int w = ctx.input(n).width();
      if (width >= 0 && w != width) {
        throw new IllegalArgumentException("crosscoder sources must have the same width: input '" + names.get(0)
            + "' (" + ctx.input(names.get(0)).hookName() + ") has " + width + ", input '" + n + "' ("
            + ctx.input(n).hookName() + ") has " + w);
      }
      width = w;
    }
    int a = index(names, cfg.getString("base"), 0, "base");
    int b = index(names, cfg.getString("finetuned"), 1, "finetuned");
    if (a == b) {
      throw new IllegalArgumentException("config base and finetuned both name source '" + names.get(a) + "'");
    }
    return new Sources(List.copyOf(names), a, b, width);
  }

  private static int index(List<String> names, String name, int fallback, String key) {
    if (name.isEmpty()) {
      return fallback;
    }
    int i = names.indexOf(name);
    if (i < 0) {
      throw new IllegalArgumentException("config " + key + " = '" + name + "' is not one of the sources " + names);
    }
    return i;
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    Sources src = sources(ctx);
    int n = src.names().size();
    int d = src.width();
    SparseCoderSettings s = SparseCoderSettings.of(ctx.config(), d * n, 0, d, "the source width");
    CrosscoderDiff.Thresholds thresholds;
    try {
      thresholds = new CrosscoderDiff.Thresholds(ctx.config().getDouble("exclusive_threshold"),
          ctx.config().getDouble("shared_half_width"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("config exclusive_threshold / shared_half_width: " + e.getMessage(), e);
    }
    ModelNotingSource[] inputs = src.names().stream().map(name -> new ModelNotingSource(ctx.input(name)))
        .toArray(ModelNotingSource[]::new);
    ActivationSource aligned = ActivationSources.aligned(ctx.config().getBoolean("same_tokens"), inputs);
    List<String> hookNames = new ArrayList<>();
    for (String name : src.names()) {
      hookNames.add(name + ": " + ctx.input(name).hookName());
    }
    double decoderNorm = s.activation() instanceof dev.loupe.sdk.sparse.SparseActivation.Relu ? 0.1 : 1.0;
    SparseCoderRun.Recipe recipe = new SparseCoderRun.Recipe() {
      @Override
      public SparseCoder newCoder(NDManager m) {
        return SparseCoder.initialize(m, SparseCoder.Layout.crosscoder(d, n, s.dSae()), s.activation(), decoderNorm,
            SparseCoderSettings.JUMPRELU_INIT_THRESHOLD, s.seed());
      }

      @Override
      public Map<String, Double> evalMetrics(SparseCoder coder, SparseCoderRun.HeldOut heldOut) {
        Map<String, Double> out = new LinkedHashMap<>();
        double[] fve = perSourceFve(coder, heldOut);
        for (int i = 0; i < fve.length; i++) {
          out.put("eval_fve_" + src.names().get(i), fve[i]);
        }
        return out;
      }
    };
    try (NDManager manager = NDManager.newBaseManager()) {
      SparseCoderRun.Result r = SparseCoderRun.train(ctx, aligned, s, recipe, manager,
          new SparseCoderFiles.CoderInfo(null, aligned.hookName(), null, hookNames));
      // each source named with the model its rows came from, e.g. "finetuned: demo-ft blocks.2.hook_resid_post"
      List<String> sourceNames = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        sourceNames.add(src.names().get(i) + ": " + inputs[i].modelId() + " " + inputs[i].hookName());
      }
      try (SparseCoderTrainer trainer = r.trainer()) {
        finish(ctx, src, s, thresholds, r, sourceNames);
      }
    }
  }


  /** FVE of each source's reconstruction on the held-out rows, in raw units. */
  static double[] perSourceFve(SparseCoder coder, SparseCoderRun.HeldOut heldOut) {
    int n = coder.sources();
    int d = coder.dIn() / n;
    double[] out = new double[n];
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = heldOut.inputs(m, 0, heldOut.rows());
      NDArray recon = coder.forward(x).get(1);
      for (int i = 0; i < n; i++) {
        NDIndex cols = new NDIndex(":, " + (i * d) + ":" + ((i + 1) * d));
        out[i] = SparseMetrics.fractionOfVarianceExplained(x.get(cols), recon.get(cols));
      }
    }
    return out;
  }

  private static void finish(JobContext ctx, Sources src, SparseCoderSettings s, CrosscoderDiff.Thresholds thresholds,
      SparseCoderRun.Result r, List<String> sourceNames) throws IOException {
    SparseCoder coder = r.trainer().coder();
    FeatureDashboards dashboards = r.heldOut().dashboards(coder, s.topExamples(), s.contextTokens(),
        s.contextTokens(), HISTOGRAM_BINS, ctx::checkCancelled);
    FeatureExamples features = dashboards.examples();
    double[] density = features.density();
    double[] trainDensity = r.trainer().deadLatents().densityTokens() > 0 ? r.trainer().deadLatents().density() : null;
    SparseCoderFiles.save(coder, ctx.artifactDir().resolve(CODER_DIR),
        new SparseCoderFiles.CoderInfo(r.modelId(), String.join(" + ", sourceNames), null, sourceNames),
        trainDensity != null ? trainDensity : density);

    ctx.checkCancelled();
    List<CrosscoderDiff.Latent> latents = CrosscoderDiff.latents(coder, src.a(), src.b(), thresholds);
    LatentScaling scaling = new LatentScaling(coder, src.a(), src.b(),
        LatentScaling.referenceByNorm(latents, src.a(), src.b()));
    for (int from = 0; from < r.heldOut().rows(); from += 1024) {
      ctx.checkCancelled();
      try (NDManager m = NDManager.newBaseManager()) {
        scaling.add(r.heldOut().inputs(m, from, Math.min(r.heldOut().rows(), from + 1024)));
      }
    }
    LatentScaling.Scalars[] scalars = scaling.result();
    double nuThreshold = ctx.config().getDouble("nu_threshold");
    String nameA = src.names().get(src.a());
    String nameB = src.names().get(src.b());

    Map<String, Object> summary = SparseCoderRun.summary(r, s, density);
    summary.put("sources", sourceNames);
    summary.put("coder_dir", CODER_DIR);
    double[] fve = perSourceFve(coder, r.heldOut());
    Map<String, Object> perSource = new LinkedHashMap<>();
    for (int i = 0; i < fve.length; i++) {
      perSource.put(src.names().get(i), fve[i]);
    }
    summary.put("eval_fve_per_source", perSource);
    Map<String, Object> diff = diffSummary(latents, scalars, density, nameA, nameB, thresholds, nuThreshold);
    summary.put("diff", diff);
    ctx.publish("summary", summary);

    List<Map<String, Object>> latentRows = new ArrayList<>(latents.size());
    List<Map<String, Object>> featureRows = new ArrayList<>(latents.size());
    for (CrosscoderDiff.Latent l : latents) {
      latentRows.add(latentRow(l, scalars[l.index()], density[l.index()], coder, nuThreshold));
      featureRows.add(SparseCoderRun.featureEntry(dashboards, l.index()));
    }
    ctx.publish("latents", latentRows);
    ctx.publish("features", featureRows);
    Optional<ModelSession> session = ctx.model(src.names().get(src.b()));
    Map<String, Path> plots = plots(ctx, r, latents, density, nameA, nameB);
    writeReport(ctx.artifactDir().resolve("report.md"), summary, diff, latentRows, features, session,
        CoderPlots.markdown(plots, ctx.artifactDir()));
    ctx.log().info("done: {} steps; held-out fve {} l0 {}; {}", r.trainer().step(), r.evaluation().fve(),
        r.evaluation().l0(), diff.get("counts"));
  }

  /** The coder's standard plots, plus the diff's: relative decoder norms and shared decoders' cosines. */
  private static Map<String, Path> plots(JobContext ctx, SparseCoderRun.Result r, List<CrosscoderDiff.Latent> latents,
      double[] density, String nameA, String nameB) {
    Map<String, Path> plots = new LinkedHashMap<>(CoderPlots.writeOrWarn(ctx, r, density));
    try {
      Path dir = ctx.artifactDir().resolve(CoderPlots.DIR);
      List<CrosscoderDiff.Latent> alive = latents.stream().filter(l -> density[l.index()] > 0).toList();
      if (!alive.isEmpty()) {
        plots.put("relative decoder norm", CoderPlots.histogram(CrosscoderDiff.relativeNorms(alive), HISTOGRAM_BINS,
            0, 1, "relative decoder norm (0: " + nameA + " only, 1: " + nameB + " only)", "relative norm",
            dir.resolve("relative_norm")).png());
      }
      double[] sharedCos = CrosscoderDiff.cosines(alive, CrosscoderDiff.Category.SHARED);
      if (sharedCos.length > 0) {
        plots.put("shared decoder cosine", CoderPlots.histogram(sharedCos, HISTOGRAM_BINS, -1, 1,
            "cosine of " + nameA + " and " + nameB + " decoders, shared latents", "cosine",
            dir.resolve("shared_cosine")).png());
      }
    } catch (IOException | RuntimeException e) {
      ctx.log().warn("diff plots not written: {}", e.toString());
    }
    return plots;
  }

  static boolean exclusive(CrosscoderDiff.Category c) {
    return c == CrosscoderDiff.Category.A_ONLY || c == CrosscoderDiff.Category.B_ONLY;
  }

  /** Whether an exclusive latent's Latent Scaling says the other source carries it too. */
  static boolean flagged(LatentScaling.Scalars sc, double nuThreshold) {
    return sc.nuError() > nuThreshold || sc.nuRecon() > nuThreshold;
  }

  private static Map<String, Object> diffSummary(List<CrosscoderDiff.Latent> latents, LatentScaling.Scalars[] scalars,
      double[] density, String nameA, String nameB, CrosscoderDiff.Thresholds thresholds, double nuThreshold) {
    Map<String, Object> diff = new LinkedHashMap<>();
    diff.put("a", nameA);
    diff.put("b", nameB);
    diff.put("exclusive_threshold", thresholds.exclusive());
    diff.put("shared_half_width", thresholds.sharedHalfWidth());
    // latents that never fired on the held-out rows say nothing about the models; count them apart
    List<CrosscoderDiff.Latent> alive = latents.stream().filter(l -> density[l.index()] > 0).toList();
    Map<String, Object> counts = new LinkedHashMap<>();
    CrosscoderDiff.counts(alive).forEach((c, v) -> counts.put(c.name().toLowerCase(Locale.ROOT), v));
    counts.put("never_fired", (long) (latents.size() - alive.size()));
    diff.put("counts", counts);
    double[] rel = CrosscoderDiff.relativeNorms(alive);
    Map<String, Object> hist = new LinkedHashMap<>();
    double[] edges = new double[HISTOGRAM_BINS + 1];
    for (int i = 0; i <= HISTOGRAM_BINS; i++) {
      edges[i] = (double) i / HISTOGRAM_BINS;
    }
    hist.put("edges", edges);
    hist.put("counts", CrosscoderDiff.histogram(rel, HISTOGRAM_BINS, 0, 1));
    diff.put("relative_norm_histogram", hist);
    double[] sharedCos = CrosscoderDiff.cosines(alive, CrosscoderDiff.Category.SHARED);
    Map<String, Object> cos = new LinkedHashMap<>();
    cos.put("latents", sharedCos.length);
    cos.put("median", CrosscoderDiff.median(sharedCos));
    cos.put("below_0_5", java.util.Arrays.stream(sharedCos).filter(c -> c < 0.5).count());
    double[] cosEdges = new double[HISTOGRAM_BINS + 1];
    for (int i = 0; i <= HISTOGRAM_BINS; i++) {
      cosEdges[i] = -1 + 2.0 * i / HISTOGRAM_BINS;
    }
    cos.put("edges", cosEdges);
    cos.put("counts", CrosscoderDiff.histogram(sharedCos, HISTOGRAM_BINS, -1, 1));
    diff.put("shared_decoder_cosine", cos);
    Map<String, Object> ls = new LinkedHashMap<>();
    ls.put("nu_threshold", nuThreshold);
    for (CrosscoderDiff.Category c : List.of(CrosscoderDiff.Category.A_ONLY, CrosscoderDiff.Category.B_ONLY)) {
      List<CrosscoderDiff.Latent> ex = alive.stream().filter(l -> l.category() == c).toList();
      long flaggedCount = ex.stream().filter(l -> flagged(scalars[l.index()], nuThreshold)).count();
      Map<String, Object> side = new LinkedHashMap<>();
      side.put("exclusive", ex.size());
      side.put("flagged_present_in_other", flaggedCount);
      side.put("robust_exclusive", ex.size() - flaggedCount);
      side.put("median_nu_error", CrosscoderDiff.median(ex.stream().mapToDouble(l -> scalars[l.index()].nuError()).toArray()));
      side.put("median_nu_recon", CrosscoderDiff.median(ex.stream().mapToDouble(l -> scalars[l.index()].nuRecon()).toArray()));
      ls.put(c.name().toLowerCase(Locale.ROOT), side);
    }
    diff.put("latent_scaling", ls);
    return diff;
  }

  private static Map<String, Object> latentRow(CrosscoderDiff.Latent l, LatentScaling.Scalars sc, double density,
      SparseCoder coder, double nuThreshold) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("latent", l.index());
    row.put("density", density);
    row.put("norm_a", l.normA());
    row.put("norm_b", l.normB());
    row.put("relative_norm", l.relativeNorm());
    row.put("cosine", l.cosine());
    row.put("category", density > 0 ? l.category().name().toLowerCase(Locale.ROOT) : "never_fired");
    row.put("nu_error", sc.nuError());
    row.put("nu_recon", sc.nuRecon());
    row.put("beta_error_a", sc.betaErrorA());
    row.put("beta_error_b", sc.betaErrorB());
    row.put("beta_recon_a", sc.betaReconA());
    row.put("beta_recon_b", sc.betaReconB());
    row.put("flagged", exclusive(l.category()) && flagged(sc, nuThreshold));
    if (coder.sources() > 2) {
      float[] norms = coder.decoderNormsPerSource()[l.index()];
      List<Double> all = new ArrayList<>();
      for (float v : norms) {
        all.add((double) v);
      }
      row.put("norms", all);
    }
    return row;
  }

  @SuppressWarnings("unchecked")
  private static void writeReport(Path file, Map<String, Object> summary, Map<String, Object> diff,
      List<Map<String, Object>> latents, FeatureExamples features, Optional<ModelSession> session, String plots)
      throws IOException {
    StringBuilder md = new StringBuilder();
    String a = (String) diff.get("a");
    String b = (String) diff.get("b");
    md.append("# Crosscoder: ").append(a).append(" vs ").append(b).append("\n\n");
    md.append("Sources: ").append(String.join("; ", (List<String>) summary.get("sources"))).append("\n\n");
    md.append("| quantity | value |\n|---|---:|\n");
    for (String key : List.of("d_in", "d_sae", "activation", "k", "steps", "tokens", "skipped_rows", "eval_rows",
        "eval_fve", "eval_l0", "eval_dead_fraction", "eval_dense_fraction")) {
      if (summary.containsKey(key)) {
        md.append("| ").append(key).append(" | ").append(format(summary.get(key))).append(" |\n");
      }
    }
    ((Map<String, Object>) summary.get("eval_fve_per_source"))
        .forEach((k, v) -> md.append("| eval_fve ").append(k).append(" | ").append(format(v)).append(" |\n"));
    Map<String, Object> counts = (Map<String, Object>) diff.get("counts");
    md.append("\n## Latents by relative decoder norm ||d_").append(b).append("|| / (||d_").append(a)
        .append("|| + ||d_").append(b).append("||)\n\n");
    md.append("| ").append(a).append(" only | shared | ").append(b).append(" only | mixed | zero | never fired |\n")
        .append("|---:|---:|---:|---:|---:|---:|\n");
    md.append("| ").append(counts.get("a_only")).append(" | ").append(counts.get("shared")).append(" | ")
        .append(counts.get("b_only")).append(" | ").append(counts.get("mixed")).append(" | ").append(counts.get("zero"))
        .append(" | ").append(counts.get("never_fired")).append(" |\n\n");
    Map<String, Object> hist = (Map<String, Object>) diff.get("relative_norm_histogram");
    long[] hc = (long[]) hist.get("counts");
    long max = java.util.Arrays.stream(hc).max().orElse(1);
    md.append("```\n");
    for (int i = 0; i < hc.length; i++) {
      md.append(String.format(Locale.ROOT, "%.2f-%.2f %6d ", (double) i / hc.length, (double) (i + 1) / hc.length, hc[i]))
          .append("#".repeat((int) Math.round(40.0 * hc[i] / Math.max(1, max)))).append('\n');
    }
    md.append("```\n\n");
    Map<String, Object> cos = (Map<String, Object>) diff.get("shared_decoder_cosine");
    md.append("Shared latents' decoder cosine similarity: median ").append(format(cos.get("median"))).append(", ")
        .append(cos.get("below_0_5")).append(" of ").append(cos.get("latents")).append(" below 0.5.\n\n");
    Map<String, Object> ls = (Map<String, Object>) diff.get("latent_scaling");
    md.append("## Latent Scaling (Minder et al. 2025)\n\n")
        .append("An exclusive latent is flagged when nu_error or nu_recon exceeds ").append(format(ls.get("nu_threshold")))
        .append(": the other source carries its direction after all.\n\n")
        .append("| side | exclusive | flagged | robust | median nu_error | median nu_recon |\n|---|---:|---:|---:|---:|---:|\n");
    for (String side : List.of("a_only", "b_only")) {
      Map<String, Object> m = (Map<String, Object>) ls.get(side);
      md.append("| ").append(side.equals("a_only") ? a : b).append(" only | ").append(m.get("exclusive")).append(" | ")
          .append(m.get("flagged_present_in_other")).append(" | ").append(m.get("robust_exclusive")).append(" | ")
          .append(format(m.get("median_nu_error"))).append(" | ").append(format(m.get("median_nu_recon"))).append(" |\n");
    }
    for (String side : List.of("b_only", "a_only")) {
      List<Map<String, Object>> ex = latents.stream()
          .filter(l -> side.equals(l.get("category")) && !(Boolean) l.get("flagged"))
          .sorted(Comparator.comparingDouble((Map<String, Object> l) -> (Double) l.get("density")).reversed())
          .limit(REPORT_LATENTS).toList();
      if (ex.isEmpty()) {
        continue;
      }
      md.append("\n## Most frequent robust ").append(side.equals("a_only") ? a : b).append("-only latents\n\n");
      for (Map<String, Object> l : ex) {
        int j = (Integer) l.get("latent");
        md.append("- latent ").append(j).append(" (density ").append(format(l.get("density"))).append(", nu_error ")
            .append(format(l.get("nu_error"))).append(", nu_recon ").append(format(l.get("nu_recon"))).append(")");
        List<FeatureExamples.Example> top = features.top(j);
        for (int e = 0; e < Math.min(REPORT_EXAMPLES, top.size()); e++) {
          md.append(e == 0 ? ": " : " | ").append(example(top.get(e), session));
        }
        md.append('\n');
      }
    }
    md.append("\nAll numbers are on the held-out rows (never trained on). Per-latent values are in results/latents.json;")
        .append(" weights in `").append(summary.get("coder_dir")).append("/`.\n");
    md.append(plots);
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, md, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** An example as text (its preceding tokens, then the token in brackets) when a tokenizer is at hand. */
  private static String example(FeatureExamples.Example e, Optional<ModelSession> session) {
    if (session.isEmpty()) {
      return "token " + e.tokenId() + String.format(Locale.ROOT, " (%.3g)", e.activation());
    }
    String before = session.get().decode(e.context()).replace("\n", " ").replace("`", "'");
    String tok = session.get().decode(new int[] {e.tokenId()}).replace("\n", " ").replace("`", "'");
    return "`" + before + "[" + tok + "]`";
  }

  private static String format(Object v) {
    return v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v);
  }
}
