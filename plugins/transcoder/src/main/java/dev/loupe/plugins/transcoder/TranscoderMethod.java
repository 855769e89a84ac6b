package dev.loupe.plugins.transcoder;

import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.sparse.CoderPlots;
import dev.loupe.sdk.sparse.FeatureDashboards;
import dev.loupe.sdk.sparse.FeatureExamples;
import dev.loupe.sdk.sparse.LogitEffects;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import dev.loupe.sdk.sparse.SparseCoderRun;
import dev.loupe.sdk.sparse.SparseCoderSettings;
import dev.loupe.sdk.sparse.SparseCoderTrainer;
import dev.loupe.sdk.sparse.TranscoderAttribution;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.pf4j.Extension;

/**
 * The analysis method {@code transcoder}: trains a sparse MLP replacement that reads the MLP's
 * input ({@code blocks.L.ln2.hook_normalized}, the input named {@code input}) and predicts its
 * output ({@code blocks.L.hook_mlp_out}, the input named {@code target}), with an optional linear
 * skip connection (Dunefsky et al. 2024, "Transcoders Find Interpretable LLM Feature Circuits";
 * Paulo et al. 2025, "Transcoders Beat Sparse Autoencoders for Interpretability", for the skip).
 * Training runs through the SDK's {@link SparseCoderRun}; afterwards the model is run on held-out
 * windows with the MLP replaced by the transcoder (loss recovered, KL), every latent gets its
 * dashboard data (held-out top examples, density, direct logit effects of its decoder vector),
 * and given the transcoder of an earlier layer ({@code upstream}) the most frequent latents are
 * attributed to that layer's features, input-invariantly and input-dependently
 * ({@link TranscoderAttribution}).
 */
@Extension
public class TranscoderMethod implements AnalysisMethod {

  public static final String ID = "transcoder";
  /** The input holding the MLP's input activations. */
  public static final String INPUT = "input";
  /** The input holding the MLP's output activations. */
  public static final String TARGET = "target";
  /** Sub-directory of the artifact directory that holds the trained transcoder. */
  static final String CODER_DIR = "transcoder";
  /** Bins of each latent's activation histogram on its dashboard. */
  private static final int HISTOGRAM_BINS = 20;

  static final ConfigSchema SCHEMA = SparseCoderSettings.schema(SparseCoderSettings.ALL_ACTIVATIONS, "topk", 5.0, "d_in")
      .boolOption("skip", false, "add a trained linear skip connection from input to output (Paulo et al. 2025)")
      .stringOption("upstream", "",
          "directory of a transcoder of an earlier layer of the same model: attribute this one's latents to its features")
      .intOption("attribution_latents", 32, 1, 100_000, "most frequent latents attributed to upstream features")
      .intOption("attribution_edges", 10, 1, 1000, "upstream features kept per latent in each ranking")
      .intOption("attribution_sequences", 32, 1, 100_000, "held-out windows run for the input-dependent attribution")
      .build();

  private static final MethodInfo INFO = new MethodInfo(ID,
      "Transcoder from an MLP's input (input 'input') to its output (input 'target'), optional skip; evaluation with the"
          + " MLP replaced; feature attribution to an upstream transcoder", List.of(INPUT, TARGET), SCHEMA);

  @Override
  public MethodInfo info() {
    return INFO;
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    for (String name : List.of(INPUT, TARGET)) {
      if (!ctx.inputNames().contains(name)) {
        throw new IllegalArgumentException("a transcoder job needs two inputs on the same tokens: '" + INPUT
            + "' (the MLP input, e.g. blocks.L.ln2.hook_normalized) and '" + TARGET
            + "' (its output, blocks.L.hook_mlp_out); this job has " + ctx.inputNames());
      }
    }
    ActivationSource input = ctx.input(INPUT);
    ActivationSource target = ctx.input(TARGET);
    SparseCoderSettings s = SparseCoderSettings.of(ctx.config(), input.width(), target.width(), input.width(), "d_in");
    boolean skip = ctx.config().getBoolean("skip");
    Path upstream = ctx.config().getString("upstream").isEmpty() ? null : Path.of(ctx.config().getString("upstream"));
    if (upstream != null && !Files.isRegularFile(upstream.resolve(SparseCoderFiles.CFG))) {
      throw new IllegalArgumentException("config upstream = " + upstream + " is not a transcoder directory (no "
          + SparseCoderFiles.CFG + " there)");
    }
    ActivationSource rows = ActivationSources.aligned(true, input, target);
    SparseCoderRun.Recipe recipe = m -> SparseCoder.initialize(m,
        SparseCoder.Layout.transcoder(s.dIn(), s.dOut(), s.dSae(), skip), s.activation(), 1.0,
        SparseCoderSettings.JUMPRELU_INIT_THRESHOLD, s.seed());
    SparseCoderFiles.CoderInfo info = new SparseCoderFiles.CoderInfo(null, input.hookName(), target.hookName(), null);
    try (NDManager manager = NDManager.newBaseManager()) {
      SparseCoderRun.Result r = SparseCoderRun.train(ctx, rows, s, recipe, manager, info);
      try (SparseCoderTrainer trainer = r.trainer()) {
        finish(ctx, s, r, input.hookName(), target.hookName(), upstream);
      }
    }
  }

  private static void finish(JobContext ctx, SparseCoderSettings s, SparseCoderRun.Result r, String inHook,
      String outHook, Path upstream) throws IOException {
    SparseCoder coder = r.trainer().coder();
    FeatureDashboards dashboards = r.heldOut().dashboards(coder, s.topExamples(), s.contextTokens(),
        s.contextTokens(), HISTOGRAM_BINS, ctx::checkCancelled);
    FeatureExamples features = dashboards.examples();
    double[] density = features.density();
    double[] trainDensity = r.trainer().deadLatents().densityTokens() > 0 ? r.trainer().deadLatents().density() : null;
    SparseCoderFiles.save(coder, ctx.artifactDir().resolve(CODER_DIR),
        new SparseCoderFiles.CoderInfo(r.modelId(), inHook, outHook, null), trainDensity != null ? trainDensity : density);

    Optional<ModelSession> session = ctx.model(INPUT);
    Map<String, Object> summary = SparseCoderRun.summary(r, s, density);
    summary.put("hook", inHook);
    summary.put("hook_out", outHook);
    summary.put("skip", coder.wSkip() != null);
    summary.put("coder_dir", CODER_DIR);
    summary.put("splice", SparseCoderRun.splice(ctx, r, session, inHook, outHook, s.spliceSequences()));
    List<LogitEffects.Effects> effects = SparseCoderRun.logitEffects(coder, session, outHook, s.logitEffects());
    summary.put("logit_effects", effects != null);
    Map<String, Object> attribution = upstream == null ? null : attribution(ctx, r, coder, session, inHook, outHook,
        upstream, density);
    if (attribution != null) {
      summary.put("attribution", Map.of("upstream", upstream.toString(),
          "max_sum_error", attribution.getOrDefault("max_sum_error", Double.NaN),
          "skipped", attribution.getOrDefault("skipped", "")));
      ctx.publish("attribution", attribution);
    }
    ctx.publish("summary", summary);
    ctx.publish("features", SparseCoderRun.featureEntries(dashboards, effects));
    Map<String, Path> plots = CoderPlots.writeOrWarn(ctx, r, density);
    writeReport(ctx.artifactDir().resolve("report.md"), summary, attribution,
        CoderPlots.markdown(plots, ctx.artifactDir()));
    ctx.log().info("done: {} steps, {} rows; held-out fve {} l0 {}", r.trainer().step(), r.trainer().tokens(),
        r.evaluation().fve(), r.evaluation().l0());
  }

  /** Why the model cannot be run from here for attribution, or null when it can. */
  private static String sessionProblem(Optional<ModelSession> session) {
    if (session.isEmpty()) {
      return "the model session of input '" + INPUT + "' is not reachable from this job";
    }
    if (!session.get().info().causal()) {
      return "model '" + session.get().info().id() + "' is an encoder: it has no MLP replacement to attribute";
    }
    return null;
  }

  /** Attribution of this transcoder's most frequent latents to the upstream transcoder's features. */
  private static Map<String, Object> attribution(JobContext ctx, SparseCoderRun.Result r, SparseCoder coder,
      Optional<ModelSession> session, String inHook, String outHook, Path upstream, double[] density)
      throws IOException {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("upstream", upstream.toString());
    String why = sessionProblem(session);
    if (why != null) {
      out.put("skipped", why);
      return out;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoderFiles.Loaded up;
      try {
        up = SparseCoderFiles.load(m, upstream);
      } catch (IOException e) {
        throw new IOException("config upstream = " + upstream + ": " + e.getMessage(), e);
      }
      if (up.coder().layout().autoencoder() || up.info().hookName() == null || up.info().hookNameOut() == null) {
        throw new IllegalArgumentException("config upstream = " + upstream + " holds a " + up.coder()
            + ", not a transcoder with input and output hooks");
      }
      TranscoderAttribution.Transcoder upT = new TranscoderAttribution.Transcoder(up.coder(), up.info().hookName(),
          up.info().hookNameOut());
      TranscoderAttribution.Transcoder downT = new TranscoderAttribution.Transcoder(coder, inHook, outHook);
      List<int[]> windows = r.heldOut().windows(session.get().info().maxContext());
      windows = windows.subList(0, Math.min(windows.size(), ctx.config().getInt("attribution_sequences")));
      int[] latents = TranscoderAttribution.mostFrequent(density, ctx.config().getInt("attribution_latents"));
      ctx.checkCancelled();
      TranscoderAttribution.Result res = TranscoderAttribution.attribute(session.get(), upT, downT, windows, latents,
          ctx.config().getInt("attribution_edges"), 8);
      out.put("upstream_input_hook", upT.inputHook());
      out.put("upstream_output_hook", upT.outputHook());
      out.put("tokens", res.tokens());
      out.put("max_sum_error", res.maxSumError());
      List<Map<String, Object>> targets = new ArrayList<>();
      for (TranscoderAttribution.Target t : res.targets()) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("latent", t.latent());
        row.put("fired", t.fired());
        row.put("mean_pre_activation", t.meanPreActivation());
        row.put("from_upstream_features", t.meanFromFeatures());
        row.put("from_upstream_bias_and_skip", t.meanFromUpstreamBiasAndSkip());
        row.put("from_upstream_error", t.meanFromUpstreamError());
        row.put("from_rest_of_residual", t.meanFromRestOfResidual());
        row.put("constant", t.constant());
        row.put("by_attribution", edges(t.byAttribution()));
        row.put("by_invariant", edges(t.byInvariant()));
        targets.add(row);
      }
      out.put("latents", targets);
      ctx.log().info("attributed {} latents over {} tokens to {} (largest sum error {})", latents.length, res.tokens(),
          upstream, res.maxSumError());
      return out;
    }
  }

  private static List<Map<String, Object>> edges(List<TranscoderAttribution.Edge> edges) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (TranscoderAttribution.Edge e : edges) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("upstream", e.upstream());
      m.put("invariant", e.invariant());
      m.put("mean_attribution", e.meanAttribution());
      m.put("tokens", e.tokens());
      out.add(m);
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static void writeReport(Path file, Map<String, Object> s, Map<String, Object> attribution, String plots)
      throws IOException {
    StringBuilder md = new StringBuilder();
    md.append("# Transcoder: ").append(s.get("hook")).append(" -> ").append(s.get("hook_out")).append("\n\n");
    md.append("| quantity | value |\n|---|---:|\n");
    for (String key : List.of("model", "d_in", "d_out", "d_sae", "activation", "k", "skip", "steps", "tokens",
        "skipped_rows", "eval_rows", "eval_fve", "eval_mse", "eval_l0", "eval_dead_fraction", "eval_dense_fraction")) {
      if (s.containsKey(key)) {
        md.append("| ").append(key).append(" | ").append(format(s.get(key))).append(" |\n");
      }
    }
    Map<String, Object> splice = (Map<String, Object>) s.get("splice");
    if (splice.containsKey("skipped")) {
      md.append("| MLP replaced | skipped: ").append(splice.get("skipped")).append(" |\n");
    } else {
      for (String key : List.of("clean_loss", "spliced_loss", "zero_ablated_loss", "loss_recovered", "kl_divergence",
          "sequences", "predictions")) {
        md.append("| ").append(key).append(" (MLP replaced) | ").append(format(splice.get(key))).append(" |\n");
      }
    }
    md.append("\neval_fve is the fraction of the MLP output's variance the transcoder predicts on held-out rows.\n");
    if (attribution != null) {
      md.append("\n## Attribution to ").append(attribution.get("upstream")).append("\n\n");
      if (attribution.containsKey("skipped")) {
        md.append("Skipped: ").append(attribution.get("skipped")).append('\n');
      } else {
        md.append("Tokens: ").append(attribution.get("tokens")).append("; largest |sum of contributions - pre-activation|")
            .append(" (relative): ").append(format(attribution.get("max_sum_error"))).append("\n\n")
            .append("| latent | fired | mean pre-act | upstream features | upstream bias+skip | upstream error |")
            .append(" rest of residual | constant | top upstream (mean attribution) |\n")
            .append("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Map<String, Object> t : (List<Map<String, Object>>) attribution.get("latents")) {
          md.append("| ").append(t.get("latent")).append(" | ").append(t.get("fired"));
          for (String key : List.of("mean_pre_activation", "from_upstream_features", "from_upstream_bias_and_skip",
              "from_upstream_error", "from_rest_of_residual", "constant")) {
            md.append(" | ").append(format(t.get(key)));
          }
          md.append(" | ");
          List<Map<String, Object>> top = (List<Map<String, Object>>) t.get("by_attribution");
          for (int i = 0; i < Math.min(3, top.size()); i++) {
            md.append(i == 0 ? "" : ", ").append(top.get(i).get("upstream")).append(" (")
                .append(format(top.get(i).get("mean_attribution"))).append(")");
          }
          md.append(" |\n");
        }
      }
    }
    md.append("\nWeights (SAELens transcoder layout) are in `").append(s.get("coder_dir")).append("/`.\n");
    md.append(plots);
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, md, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String format(Object v) {
    return v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v);
  }
}
