package dev.loupe.plugins.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.sparse.FeatureDashboards;
import dev.loupe.sdk.sparse.FeatureExamples;
import dev.loupe.sdk.sparse.LogitEffects;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import dev.loupe.sdk.sparse.SparseCoderRun;
import dev.loupe.sdk.sparse.SparseCoderSettings;
import dev.loupe.sdk.sparse.SpliceEvaluator;
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
        finish(ctx, in, s, r, ctx.model(inputName), inputName);
      }
    }
  }

  private static void finish(JobContext ctx, ActivationSource in, SparseCoderSettings s, SparseCoderRun.Result r,
      Optional<ModelSession> session, String inputName) throws IOException {
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
    summary.put("splice", spliceEvaluation(ctx, s, r, coder, session, in.hookName(), inputName));
    List<LogitEffects.Effects> effects = logitEffects(s, coder, session, in.hookName());
    summary.put("logit_effects", effects != null);
    ctx.publish("summary", summary);
    List<Map<String, Object>> out = new ArrayList<>(s.dSae());
    for (int j = 0; j < s.dSae(); j++) {
      Map<String, Object> f = SparseCoderRun.featureEntry(dashboards, j);
      if (effects != null) {
        f.put("logits_positive", SparseCoderRun.tokenEffects(effects.get(j).positive()));
        f.put("logits_negative", SparseCoderRun.tokenEffects(effects.get(j).negative()));
      }
      out.add(f);
    }
    ctx.publish("features", out);
    writeReport(ctx.artifactDir().resolve("report.md"), summary);
    ctx.log().info("done: {} steps, {} rows; held-out fve {} l0 {}", r.trainer().step(), r.trainer().tokens(),
        r.evaluation().fve(), r.evaluation().l0());
  }

  /**
   * Runs held-out windows with the SAE's reconstruction in place of the hook's activation (and
   * with the hook zero-ablated) and reports the next-token losses, loss recovered and KL; a map
   * with the reason when it cannot be done here.
   */
  private static Map<String, Object> spliceEvaluation(JobContext ctx, SparseCoderSettings s, SparseCoderRun.Result r,
      SparseCoder coder, Optional<ModelSession> session, String hook, String inputName) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (s.spliceSequences() == 0) {
      out.put("skipped", "splice_sequences = 0");
      return out;
    }
    if (session.isEmpty()) {
      out.put("skipped", "the model session of input '" + inputName + "' is not reachable from this job");
      return out;
    }
    ModelSession model = session.get();
    if (!model.info().causal()) {
      out.put("skipped", "model '" + model.info().id() + "' is an encoder: no next-token loss");
      return out;
    }
    List<int[]> windows = r.heldOut().windows(model.info().maxContext());
    if (windows.isEmpty()) {
      out.put("skipped", "the held-out rows hold no window of 2 or more consecutive tokens");
      return out;
    }
    windows = windows.subList(0, Math.min(windows.size(), s.spliceSequences()));
    ctx.checkCancelled();
    SpliceEvaluator.Result e = SpliceEvaluator.evaluate(model, windows, SpliceEvaluator.Splice.at(hook, a -> {
      Shape shape = a.getShape();
      NDArray flat = a.reshape(-1, shape.get(shape.dimension() - 1));
      return coder.forward(flat).get(1).reshape(shape);
    }), 8);
    out.putAll(spliceResult(e));
    ctx.log().info("spliced into {} at {}: loss {} -> {} (zero-ablated {}), loss recovered {}, KL {}",
        model.info().id(), hook, e.cleanLoss(), e.splicedLoss(), e.ablatedLoss(), e.lossRecovered(), e.klDivergence());
    return out;
  }

  static Map<String, Object> spliceResult(SpliceEvaluator.Result e) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("sequences", e.sequences());
    out.put("predictions", e.predictions());
    out.put("clean_loss", e.cleanLoss());
    out.put("spliced_loss", e.splicedLoss());
    out.put("zero_ablated_loss", e.ablatedLoss());
    out.put("loss_recovered", e.lossRecovered());
    out.put("kl_divergence", e.klDivergence());
    return out;
  }

  /** Top promoted and suppressed tokens per latent, or null when they do not apply to this hook. */
  private static List<LogitEffects.Effects> logitEffects(SparseCoderSettings s, SparseCoder coder,
      Optional<ModelSession> session, String hook) {
    if (s.logitEffects() == 0 || session.isEmpty() || !LogitEffects.applies(session.get().info(), hook)) {
      return null;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      // decoder rows live in the normalised space; raw directions are those over the input scale
      NDArray directions = coder.wDec().div(coder.inputScale());
      directions.attach(m);
      return LogitEffects.of(session.get(), directions, s.logitEffects());
    }
  }

  private static void writeReport(Path file, Map<String, Object> s) throws IOException {
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
    // written beside the target and renamed, so a reader never sees half a report
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, md, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
