package dev.loupe.plugins.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.sparse.LogitEffects;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import dev.loupe.sdk.sparse.SparseCoderInit;
import dev.loupe.sdk.sparse.SparseCoderTrainer;
import dev.loupe.sdk.sparse.SparseMetrics;
import dev.loupe.sdk.sparse.SpliceEvaluator;
import dev.loupe.sdk.sparse.StepMetrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.pf4j.Extension;

/**
 * The analysis method {@code sae}: trains a sparse autoencoder on one activation input with the
 * SDK's {@link SparseCoderTrainer}, evaluates it on held-out rows, checkpoints and resumes, and
 * publishes the coder (SAELens layout), a {@code summary} and per-latent {@code features}.
 *
 * <p>The first {@code eval_rows} rows of the input are held out and never trained on; on resume
 * the input restarts from its beginning, so those and the rows the checkpoint already trained on
 * are skipped. Top activating examples are taken from the held-out rows with the final coder:
 * those rows are still in memory at the end and the coder never saw them.
 */
@Extension
public class SaeMethod implements AnalysisMethod {

  public static final String ID = "sae";
  /** Sub-directory of the job's checkpoint directory that holds the trainer checkpoint. */
  static final String CHECKPOINT = "trainer";
  /** Sub-directory of the artifact directory that holds the trained coder. */
  static final String CODER_DIR = "sae";
  /** A latent firing on more than this fraction of rows counts as dense. */
  static final double DENSE = 0.1;
  private static final int ENCODE_CHUNK = 1024;
  private static final int CONTEXT_DOCS = 256;
  private static final int REPLAY_CHUNK = 4096;

  private static final MethodInfo INFO = MethodInfo.of(ID,
      "Trains a sparse autoencoder (relu, topk, batchtopk, jumprelu) on one activation input; SAELens-layout output",
      SaeSettings.SCHEMA);

  @Override
  public MethodInfo info() {
    return INFO;
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    ActivationSource in = ctx.input();
    SaeSettings s = SaeSettings.of(ctx.config(), in.width());
    long plannedSteps = plannedSteps(s, in.totalRows());
    if (s.epochs() > 1 && plannedSteps < 0) {
      throw new IllegalArgumentException("config epochs = " + s.epochs() + " keeps the training rows in memory and"
          + " needs a bounded input: input '" + in.hookName() + "' has no known length, so set max_tokens");
    }
    s = s.withPlannedSteps(ctx.config().getLong("lr_decay_steps"), plannedSteps);
    Path checkpoint = ctx.checkpointDir().resolve(CHECKPOINT);
    try (NDManager manager = NDManager.newBaseManager()) {
      SparseCoderTrainer trainer;
      boolean resumed = ctx.resuming() && Files.isRegularFile(checkpoint.resolve(SparseCoderFiles.TRAINER_JSON));
      if (resumed) {
        trainer = SparseCoderFiles.loadCheckpoint(manager, checkpoint).trainer();
        checkResumable(trainer.coder(), s, checkpoint);
        ctx.log().info("resuming from {} at step {} ({} rows trained)", checkpoint, trainer.step(), trainer.tokens());
      } else {
        SparseCoder coder = SparseCoder.initialize(manager, s.dIn(), s.dSae(), s.activation(), 1.0,
            SaeSettings.JUMPRELU_INIT_THRESHOLD, s.seed());
        trainer = new SparseCoderTrainer(coder, s.trainer());
      }
      try (trainer) {
        new Run(ctx, in, s, trainer, manager, checkpoint, resumed, plannedSteps).execute();
      }
    }
  }

  /** Steps the input allows (-1 when its length is unknown and max_tokens is 0). */
  static long plannedSteps(SaeSettings s, long totalRows) {
    long trainRows;
    if (totalRows >= 0) {
      trainRows = Math.max(0, totalRows - s.evalRows());
      if (s.maxTokens() > 0) {
        trainRows = Math.min(trainRows, s.maxTokens());
      }
    } else if (s.maxTokens() > 0) {
      trainRows = s.maxTokens();
    } else {
      return -1;
    }
    return (trainRows * s.epochs() + s.batchSize() - 1) / s.batchSize();
  }

  private static void checkResumable(SparseCoder coder, SaeSettings s, Path dir) {
    if (coder.dIn() != s.dIn() || coder.dSae() != s.dSae() || !coder.activation().equals(s.activation())) {
      throw new IllegalStateException("checkpoint " + dir + " holds a " + coder + " but the job asks for d_in "
          + s.dIn() + ", d_sae " + s.dSae() + ", " + s.activation() + "; delete the checkpoint or fix the config");
    }
  }

  /** One job's streaming state: the held-out rows, the batch being filled and the counters. */
  private static final class Run {
    private final JobContext ctx;
    private final ActivationSource in;
    private final SaeSettings s;
    private final SparseCoderTrainer trainer;
    private final NDManager manager;
    private final Path checkpoint;
    private final long plannedSteps;
    private final int dIn;
    // held-out rows (finite ones only) with their provenance and preceding tokens
    private final float[] heldOut;
    private final int[] heldTokens;
    private final int[] heldDocs;
    private final int[] heldPositions;
    private final int[][] heldContext;
    private final TokenContext tokenContext;
    private int heldRows;
    private long heldRead;
    private long heldSkipped;
    private NDArray heldOutArray;
    // the finite training rows of the first pass, kept only when epochs > 1
    private final List<float[]> replay = new ArrayList<>();
    private int replayRows;
    // the training batch being filled
    private final float[] batch;
    private int batchRows;
    private long trainRead;
    private final long skipTrain;
    private long trainSkipped;
    private boolean initialised;
    private String modelId;
    private StepMetrics last;
    private SparseMetrics.Evaluation lastEval;

    Run(JobContext ctx, ActivationSource in, SaeSettings s, SparseCoderTrainer trainer, NDManager manager,
        Path checkpoint, boolean resumed, long plannedSteps) {
      this.ctx = ctx;
      this.in = in;
      this.s = s;
      this.trainer = trainer;
      this.manager = manager;
      this.checkpoint = checkpoint;
      this.plannedSteps = plannedSteps;
      this.dIn = s.dIn();
      this.heldOut = new float[Math.multiplyExact(s.evalRows(), dIn)];
      this.heldTokens = new int[s.evalRows()];
      this.heldDocs = new int[s.evalRows()];
      this.heldPositions = new int[s.evalRows()];
      this.heldContext = new int[s.evalRows()][];
      this.tokenContext = new TokenContext(s.contextTokens(), CONTEXT_DOCS);
      this.batch = new float[Math.multiplyExact(s.batchSize(), dIn)];
      // The trainer's skipped-row count is kept equal to the NaN rows this job dropped from the
      // training region, so a checkpoint knows exactly how far into the input it got.
      this.skipTrain = resumed ? trainer.tokens() + trainer.skippedRows() : 0;
      this.trainSkipped = resumed ? trainer.skippedRows() : 0;
      this.initialised = resumed;
    }

    void execute() throws Exception {
      ActivationBatch b;
      boolean full = false;
      while (!full && (b = in.next()) != null) {
        ctx.checkCancelled();
        if (b.width() != dIn) {
          throw new IllegalStateException("batch " + b.sequence() + " of input '" + in.hookName() + "' has width "
              + b.width() + ", expected " + dIn);
        }
        if (modelId == null) {
          modelId = b.modelId();
        }
        full = consume(b);
      }
      for (int epoch = 2; epoch <= s.epochs(); epoch++) {
        replayEpoch();
      }
      if (batchRows > 0) {
        step(Arrays.copyOf(batch, batchRows * dIn), batchRows);
        batchRows = 0;
      }
      if (heldRead < s.evalRows()) {
        throw new IllegalStateException("input '" + in.hookName() + "' delivered only " + heldRead
            + " rows, fewer than eval_rows = " + s.evalRows() + " held out for evaluation; nothing left to train on");
      }
      if (trainer.step() == 0) {
        throw new IllegalStateException("input '" + in.hookName() + "' delivered no finite training rows after the "
            + s.evalRows() + " held-out rows (" + trainSkipped + " rows held NaN or infinity)");
      }
      finish();
    }

    /** Takes one input batch; returns true once max_tokens training rows have been read. */
    private boolean consume(ActivationBatch b) {
      float[] v = b.values();
      for (int r = 0; r < b.rows(); r++) {
        if (heldRead < s.evalRows()) {
          holdOut(b, r);
          continue;
        }
        if (s.maxTokens() > 0 && trainRead >= s.maxTokens()) {
          return true;
        }
        boolean ok = finite(v, r * dIn, dIn);
        if (ok && s.epochs() > 1) {
          keep(v, r * dIn);
        }
        train(v, r * dIn, ok);
      }
      return s.maxTokens() > 0 && trainRead >= s.maxTokens();
    }

    /**
     * Feeds one training row to the batch being filled, unless a resumed run's checkpoint already
     * trained on it; a step is taken whenever the batch is full.
     */
    private void train(float[] v, int offset, boolean ok) {
      trainRead++;
      if (trainRead <= skipTrain) {
        return;
      }
      if (!ok) {
        trainSkipped++;
        return;
      }
      System.arraycopy(v, offset, batch, batchRows * dIn, dIn);
      if (++batchRows == s.batchSize()) {
        step(batch, batchRows);
        batchRows = 0;
      }
    }

    private void keep(float[] v, int offset) {
      int slot = replayRows % REPLAY_CHUNK;
      if (slot == 0) {
        replay.add(new float[REPLAY_CHUNK * dIn]);
      }
      System.arraycopy(v, offset, replay.get(replay.size() - 1), slot * dIn, dIn);
      replayRows++;
    }

    /** One more pass over the kept training rows, in the order they first came. */
    private void replayEpoch() {
      for (int i = 0; i < replayRows; i++) {
        if (i % REPLAY_CHUNK == 0) {
          ctx.checkCancelled();
        }
        train(replay.get(i / REPLAY_CHUNK), (i % REPLAY_CHUNK) * dIn, true);
      }
    }

    private void holdOut(ActivationBatch b, int r) {
      heldRead++;
      int[] context = tokenContext.next(b.docIds()[r], b.positions()[r], b.tokenIds()[r]);
      if (!finite(b.values(), r * dIn, dIn)) {
        heldSkipped++;
        return;
      }
      System.arraycopy(b.values(), r * dIn, heldOut, heldRows * dIn, dIn);
      heldTokens[heldRows] = b.tokenIds()[r];
      heldDocs[heldRows] = b.docIds()[r];
      heldPositions[heldRows] = b.positions()[r];
      heldContext[heldRows] = context;
      heldRows++;
    }

    private static boolean finite(float[] v, int from, int n) {
      for (int i = from; i < from + n; i++) {
        if (!Float.isFinite(v[i])) {
          return false;
        }
      }
      return true;
    }

    private void step(float[] values, int rows) {
      ctx.checkCancelled();
      if (!initialised) {
        initialise(values, rows);
      }
      StepMetrics m = trainer.step(values, rows);
      trainer.restoreCounters(trainer.step(), trainer.tokens(), trainSkipped, trainer.batchTopKThreshold());
      last = m;
      long step = trainer.step();
      ctx.progress(step, plannedSteps, "steps");
      if (step % s.metricsEvery() == 0) {
        ctx.metrics(step, trainingMetrics(m));
      }
      if (s.evalEvery() > 0 && step % s.evalEvery() == 0) {
        ctx.metrics(step, evalMetrics(evaluate()));
      }
      if (s.checkpointEvery() > 0 && step % s.checkpointEvery() == 0) {
        try {
          SparseCoderFiles.saveCheckpoint(trainer, checkpoint, info());
        } catch (IOException e) {
          throw new java.io.UncheckedIOException("cannot write checkpoint " + checkpoint + ": " + e.getMessage(), e);
        }
      }
    }

    /** Data-dependent start from the first training batch (only on a fresh run). */
    private void initialise(float[] values, int rows) {
      initialised = true;
      if (!s.normalize() && !s.initBDec()) {
        return;
      }
      SparseCoder coder = trainer.coder();
      try (NDManager m = manager.newSubManager()) {
        NDArray sample = m.create(values, new Shape(rows, dIn));
        float scale = s.normalize() ? SparseCoderInit.inputScale(sample) : 1f;
        coder.setInputScale(scale);
        if (s.initBDec()) {
          coder.bDec().set(SparseCoderInit.geometricMedian(sample.mul(scale), 100, 1e-6));
        }
        ctx.log().info("initialised from {} rows: input scale {}, b_dec at the {}", rows, scale,
            s.initBDec() ? "geometric median" : "origin");
      }
    }

    private SparseCoderFiles.CoderInfo info() {
      return new SparseCoderFiles.CoderInfo(modelId, in.hookName());
    }

    private SparseMetrics.Evaluation evaluate() {
      if (heldOutArray == null) {
        heldOutArray = manager.create(Arrays.copyOf(heldOut, heldRows * dIn), new Shape(heldRows, dIn));
      }
      lastEval = SparseMetrics.evaluate(trainer.coder(), heldOutArray);
      return lastEval;
    }

    private Map<String, Double> trainingMetrics(StepMetrics m) {
      Map<String, Double> row = new LinkedHashMap<>();
      row.put("loss", m.loss());
      row.put("mse", m.mse());
      row.put("fve", m.fve());
      row.put("l0", m.l0());
      row.put("dead_fraction", m.deadFraction());
      row.put("aux_loss", m.auxLoss());
      row.put("sparsity_loss", m.sparsityLoss());
      row.put("lr", m.learningRate());
      row.put("tokens", (double) trainer.tokens());
      return row;
    }

    private Map<String, Double> evalMetrics(SparseMetrics.Evaluation e) {
      Map<String, Double> row = new LinkedHashMap<>();
      double[] density = e.density();
      row.put("eval_mse", e.mse());
      row.put("eval_fve", e.fve());
      row.put("eval_l0", e.l0());
      row.put("eval_dead_fraction", SparseMetrics.deadFraction(density));
      row.put("eval_dense_fraction", SparseMetrics.denseFraction(density, DENSE));
      row.put("dead_fraction", trainer.deadLatents().deadFraction());
      return row;
    }

    private void finish() throws IOException {
      ctx.checkCancelled();
      SparseCoder coder = trainer.coder();
      if (heldRows == 0) {
        throw new IllegalStateException("all " + heldRead + " held-out rows of input '" + in.hookName()
            + "' hold NaN or infinity; nothing to evaluate on");
      }
      SparseMetrics.Evaluation eval = evaluate();
      ctx.metrics(trainer.step(), evalMetrics(eval));
      FeatureExamples features = collectFeatures(coder);
      double[] heldDensity = features.density();
      double[] trainDensity = trainer.deadLatents().densityTokens() > 0 ? trainer.deadLatents().density() : null;

      Path coderDir = ctx.artifactDir().resolve(CODER_DIR);
      SparseCoderFiles.save(coder, coderDir, info(), trainDensity != null ? trainDensity : heldDensity);

      Map<String, Object> summary = summary(coder, eval, heldDensity);
      Optional<ModelSession> session = ctx.model(inputName());
      Map<String, Object> splice = spliceEvaluation(coder, session);
      summary.put("splice", splice);
      List<LogitEffects.Effects> effects = logitEffects(coder, session);
      summary.put("logit_effects", effects != null);
      ctx.publish("summary", summary);
      ctx.publish("features", features(features, effects));
      writeReport(ctx.artifactDir().resolve("report.md"), summary);
      ctx.log().info("done: {} steps, {} rows; held-out fve {} l0 {}", trainer.step(), trainer.tokens(),
          eval.fve(), eval.l0());
    }

    private String inputName() {
      return ctx.inputNames().size() == 1 ? ctx.inputNames().iterator().next() : MethodInfo.MAIN_INPUT;
    }

    /**
     * Runs held-out windows with the SAE's reconstruction in place of the hook's activation (and
     * with the hook zero-ablated) and reports the next-token losses, loss recovered and KL; a map
     * with the reason when it cannot be done here.
     */
    private Map<String, Object> spliceEvaluation(SparseCoder coder, Optional<ModelSession> session) {
      Map<String, Object> out = new LinkedHashMap<>();
      if (s.spliceSequences() == 0) {
        out.put("skipped", "splice_sequences = 0");
        return out;
      }
      if (session.isEmpty()) {
        out.put("skipped", "the model session of input '" + inputName() + "' is not reachable from this job");
        return out;
      }
      ModelSession model = session.get();
      if (!model.info().causal()) {
        out.put("skipped", "model '" + model.info().id() + "' is an encoder: no next-token loss");
        return out;
      }
      List<int[]> windows = SpliceEvaluator.sequences(heldTokens, heldDocs, heldPositions, heldRows,
          model.info().maxContext());
      if (windows.isEmpty()) {
        out.put("skipped", "the held-out rows hold no window of 2 or more consecutive tokens");
        return out;
      }
      windows = windows.subList(0, Math.min(windows.size(), s.spliceSequences()));
      ctx.checkCancelled();
      SpliceEvaluator.Result r = SpliceEvaluator.evaluate(model, windows, SpliceEvaluator.Splice.at(in.hookName(), a -> {
        Shape shape = a.getShape();
        NDArray flat = a.reshape(-1, shape.get(shape.dimension() - 1));
        return coder.forward(flat).get(1).reshape(shape);
      }), 8);
      out.put("sequences", r.sequences());
      out.put("predictions", r.predictions());
      out.put("clean_loss", r.cleanLoss());
      out.put("spliced_loss", r.splicedLoss());
      out.put("zero_ablated_loss", r.ablatedLoss());
      out.put("loss_recovered", r.lossRecovered());
      out.put("kl_divergence", r.klDivergence());
      ctx.log().info("spliced into {} at {}: loss {} -> {} (zero-ablated {}), loss recovered {}, KL {}",
          model.info().id(), in.hookName(), r.cleanLoss(), r.splicedLoss(), r.ablatedLoss(), r.lossRecovered(),
          r.klDivergence());
      return out;
    }

    /** Top promoted and suppressed tokens per latent, or null when they do not apply to this hook. */
    private List<LogitEffects.Effects> logitEffects(SparseCoder coder, Optional<ModelSession> session) {
      if (s.logitEffects() == 0 || session.isEmpty() || !LogitEffects.applies(session.get().info(), in.hookName())) {
        return null;
      }
      try (NDManager m = manager.newSubManager()) {
        // decoder rows live in the normalised space; raw directions are those over the input scale
        NDArray directions = coder.wDec().div(coder.inputScale());
        directions.attach(m);
        return LogitEffects.of(session.get(), directions, s.logitEffects());
      }
    }

    private FeatureExamples collectFeatures(SparseCoder coder) {
      FeatureExamples fe = new FeatureExamples(s.dSae(), s.topExamples());
      for (int from = 0; from < heldRows; from += ENCODE_CHUNK) {
        ctx.checkCancelled();
        int n = Math.min(ENCODE_CHUNK, heldRows - from);
        try (NDManager m = manager.newSubManager()) {
          NDArray x = m.create(Arrays.copyOfRange(heldOut, from * dIn, (from + n) * dIn), new Shape(n, dIn));
          float[] codes = coder.encode(x).toFloatArray();
          fe.add(codes, n, from, heldTokens, heldDocs, heldPositions, heldContext, from);
        }
      }
      return fe;
    }

    private Map<String, Object> summary(SparseCoder coder, SparseMetrics.Evaluation eval, double[] density) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("model", modelId);
      out.put("hook", in.hookName());
      out.put("d_in", coder.dIn());
      out.put("d_sae", coder.dSae());
      out.put("activation", coder.activation().name());
      if (coder.activation() instanceof dev.loupe.sdk.sparse.SparseActivation.TopK t) {
        out.put("k", t.k());
      } else if (coder.activation() instanceof dev.loupe.sdk.sparse.SparseActivation.BatchTopK b) {
        out.put("k", b.k());
      }
      out.put("steps", trainer.step());
      out.put("tokens", trainer.tokens());
      out.put("epochs", s.epochs());
      out.put("skipped_rows", trainer.skippedRows());
      out.put("eval_rows", eval.rows());
      out.put("eval_skipped_rows", heldSkipped);
      out.put("input_scale", (double) coder.inputScale());
      out.put("eval_fve", eval.fve());
      out.put("eval_mse", eval.mse());
      out.put("eval_l0", eval.l0());
      out.put("eval_dead_fraction", SparseMetrics.deadFraction(density));
      out.put("eval_dense_fraction", SparseMetrics.denseFraction(density, DENSE));
      out.put("dead_fraction", trainer.deadLatents().deadFraction());
      if (last != null) {
        out.put("final_train_fve", last.fve());
        out.put("final_train_l0", last.l0());
      }
      SparseMetrics.DensityHistogram h = SparseMetrics.densityHistogram(density, 20, -10, 0);
      Map<String, Object> hist = new LinkedHashMap<>();
      hist.put("log10_edges", h.edges());
      hist.put("counts", h.counts());
      hist.put("never_fired", h.dead());
      out.put("density_histogram", hist);
      out.put("coder_dir", CODER_DIR);
      return out;
    }

    private List<Map<String, Object>> features(FeatureExamples fe, List<LogitEffects.Effects> effects) {
      double[] density = fe.density();
      List<Map<String, Object>> out = new ArrayList<>(s.dSae());
      for (int j = 0; j < s.dSae(); j++) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("latent", j);
        f.put("density", density[j]);
        f.put("mean_activation", fe.meanActivation(j));
        List<Map<String, Object>> top = new ArrayList<>();
        for (FeatureExamples.Example e : fe.top(j)) {
          Map<String, Object> ex = new LinkedHashMap<>();
          ex.put("activation", (double) e.activation());
          ex.put("token", e.tokenId());
          ex.put("doc", e.docId());
          ex.put("position", e.position());
          ex.put("context", e.context());
          top.add(ex);
        }
        f.put("top", top);
        if (effects != null) {
          f.put("logits_positive", tokenEffects(effects.get(j).positive()));
          f.put("logits_negative", tokenEffects(effects.get(j).negative()));
        }
        out.add(f);
      }
      return out;
    }
  }

  private static List<Map<String, Object>> tokenEffects(List<LogitEffects.TokenEffect> list) {
    List<Map<String, Object>> out = new ArrayList<>(list.size());
    for (LogitEffects.TokenEffect t : list) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("token", t.tokenId());
      e.put("text", t.token());
      e.put("effect", t.effect());
      out.add(e);
    }
    return out;
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
