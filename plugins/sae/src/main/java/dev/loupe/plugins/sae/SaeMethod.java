package dev.loupe.plugins.sae;

import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.activation.ActivationSource;
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
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.pf4j.Extension;

/**
 * The analysis method {@code sae}: trains a sparse autoencoder on one activation input with the
 * SDK's {@link SparseCoderRun} (held-out evaluation, checkpoints and resume, NaN rows skipped),
 * then publishes the coder (SAELens layout), a {@code summary} (with the loss recovered when the
 * SAE is spliced into the model) and per-latent {@code features} (density, top held-out examples,
 * direct logit effects). Top activating examples come from the held-out rows: the coder never saw
 * them.
 */
@Extension
public class SaeMethod implements AnalysisMethod {

  public static final String ID = "sae";
  /** Sub-directory of the artifact directory that holds the trained coder. */
  static final String CODER_DIR = "sae";
  /** Bins of each latent's activation histogram on its dashboard. */
  private static final int HISTOGRAM_BINS = 20;

  static final ConfigSchema SCHEMA = SparseCoderSettings.schema(SparseCoderSettings.ALL_ACTIVATIONS, "topk", 5.0,
      "d_in").build();

  private static final MethodInfo INFO = MethodInfo.of(ID,
      "Trains a sparse autoencoder (relu, topk, batchtopk, jumprelu) on one activation input; SAELens-layout output",
      SCHEMA);

  @Override
  public MethodInfo info() {
    return INFO;
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    ActivationSource in = ctx.input();
    SparseCoderSettings s = SparseCoderSettings.of(ctx.config(), in.width(), 0, in.width(), "d_in");
    String inputName = ctx.inputNames().size() == 1 ? ctx.inputNames().iterator().next() : MethodInfo.MAIN_INPUT;
    SparseCoderRun.Recipe recipe = m -> SparseCoder.initialize(m, s.dIn(), s.dSae(), s.activation(), 1.0,
        SparseCoderSettings.JUMPRELU_INIT_THRESHOLD, s.seed());
    try (NDManager manager = NDManager.newBaseManager()) {
      SparseCoderRun.Result r = SparseCoderRun.train(ctx, in, s, recipe, manager,
          new SparseCoderFiles.CoderInfo(null, in.hookName()));
      try (dev.loupe.sdk.sparse.SparseCoderTrainer trainer = r.trainer()) {
        finish(ctx, in, s, r, ctx.model(inputName));
      }
    }
  }

  private static void finish(JobContext ctx, ActivationSource in, SparseCoderSettings s, SparseCoderRun.Result r,
      Optional<ModelSession> session) throws IOException {
    SparseCoder coder = r.trainer().coder();
    FeatureDashboards dashboards = r.heldOut().dashboards(coder, s.topExamples(), s.contextTokens(),
        s.contextTokens(), HISTOGRAM_BINS, ctx::checkCancelled);
    FeatureExamples features = dashboards.examples();
    double[] heldDensity = features.density();
    double[] trainDensity = r.trainer().deadLatents().densityTokens() > 0 ? r.trainer().deadLatents().density() : null;

    Path coderDir = ctx.artifactDir().resolve(CODER_DIR);
    SparseCoderFiles.save(coder, coderDir, new SparseCoderFiles.CoderInfo(r.modelId(), in.hookName()),
        trainDensity != null ? trainDensity : heldDensity);

    Map<String, Object> summary = SparseCoderRun.summary(r, s, heldDensity);
    summary.put("hook", in.hookName());
    summary.put("coder_dir", CODER_DIR);
    summary.put("splice", SparseCoderRun.splice(ctx, r, session, in.hookName(), in.hookName(), s.spliceSequences()));
    List<LogitEffects.Effects> effects = SparseCoderRun.logitEffects(coder, session, in.hookName(), s.logitEffects());
    summary.put("logit_effects", effects != null);
    ctx.publish("summary", summary);
    ctx.publish("features", SparseCoderRun.featureEntries(dashboards, effects));
    Map<String, Path> plots = CoderPlots.writeOrWarn(ctx, r, heldDensity);
    writeReport(ctx.artifactDir().resolve("report.md"), summary, CoderPlots.markdown(plots, ctx.artifactDir()));
    ctx.log().info("done: {} steps, {} rows; held-out fve {} l0 {}", r.trainer().step(), r.trainer().tokens(),
        r.evaluation().fve(), r.evaluation().l0());
  }

  private static void writeReport(Path file, Map<String, Object> s, String plots) throws IOException {
    StringBuilder md = new StringBuilder();
    md.append("# Sparse autoencoder: ").append(s.get("hook")).append("\n\n");
    md.append("| quantity | value |\n|---|---:|\n");
    for (String key : List.of("model", "d_in", "d_sae", "activation", "k", "steps", "tokens", "skipped_rows",
        "eval_rows", "eval_fve", "eval_mse", "eval_l0", "eval_dead_fraction", "eval_dense_fraction", "dead_fraction")) {
      if (s.containsKey(key)) {
        Object v = s.get(key);
        md.append("| ").append(key).append(" | ")
            .append(v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v)).append(" |\n");
      }
    }
    if (s.get("splice") instanceof Map<?, ?> splice) {
      if (splice.containsKey("skipped")) {
        md.append("| splice evaluation | skipped: ").append(splice.get("skipped")).append(" |\n");
      } else {
        for (String key : List.of("clean_loss", "spliced_loss", "zero_ablated_loss", "loss_recovered",
            "kl_divergence", "sequences", "predictions")) {
          Object v = splice.get(key);
          md.append("| ").append(key).append(" | ")
              .append(v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v)).append(" |\n");
        }
      }
    }
    md.append("\nHeld-out metrics are on the first eval_rows rows of the input, never trained on. ")
        .append("Weights (SAELens layout) are in `").append(s.get("coder_dir")).append("/`.\n");
    md.append(plots);
    // written beside the target and renamed, so a reader never sees half a report
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, md, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
