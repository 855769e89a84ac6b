package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.model.ModelSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The training loop every sparse-coder job shares: reads one activation source whose rows are the
 * coder's input followed by its target (for a transcoder; for SAEs and crosscoders the whole row
 * is the input), holds the first {@code eval_rows} rows out (evaluated on, never trained on),
 * trains on the rest in batches (several epochs from memory if asked), skips and counts rows
 * holding NaN or infinity, records training metrics and held-out evaluations, checkpoints, and
 * on resume continues from the last checkpoint, skipping the rows it already trained on. What
 * differs between methods (the coder's layout and its data-dependent start) is a {@link Recipe}.
 *
 * <p>Metrics rows: {@code loss, mse, fve, l0, dead_fraction, aux_loss, sparsity_loss, lr, tokens}
 * every {@code metrics_every} steps (training values, in the coder's normalised space) and
 * {@code eval_mse, eval_fve, eval_l0, eval_dead_fraction, eval_dense_fraction, dead_fraction}
 * (held out, raw units) every {@code eval_every} steps and at the end, plus what
 * {@link Recipe#evalMetrics} adds.
 */
public final class SparseCoderRun {
  /** Sub-directory of the job's checkpoint directory that holds the trainer checkpoint. */
  public static final String CHECKPOINT = "trainer";
  private static final int CONTEXT_DOCS = 256;
  private static final int REPLAY_CHUNK = 4096;
  private static final int ENCODE_CHUNK = 1024;

  /** What one method trains. */
  public interface Recipe {
    /** A fresh, untrained coder of the settings' shape. */
    SparseCoder newCoder(NDManager manager);

    /**
     * Sets the data-dependent start on a fresh coder from the first training batch (input scales,
     * b_dec): raw inputs [n, d_in] and, for a transcoder, targets [n, d_out] (else null). The
     * default follows the settings' normalize and init_b_dec: every source's input scale (and a
     * transcoder's target scale) to mean squared norm = width, b_dec at the geometric median of
     * the normalised targets.
     */
    default String initialise(SparseCoder coder, NDArray inputs, NDArray targets, SparseCoderSettings s) {
      if (s.normalize()) {
        coder.setInputScales(SparseCoderInit.sourceScales(inputs, coder.sources()));
        if (targets != null) {
          coder.setOutputScale(SparseCoderInit.inputScale(targets));
        }
      }
      if (s.initBDec()) {
        NDArray t = targets != null ? targets.mul(coder.outputScale()) : coder.normalize(inputs);
        coder.bDec().set(SparseCoderInit.geometricMedian(t, 100, 1e-6));
      }
      return "input scales " + Arrays.toString(coder.inputScales())
          + (targets != null ? ", target scale " + coder.outputScale() : "")
          + ", b_dec at the " + (s.initBDec() ? "geometric median" : "origin");
    }

    /** Extra held-out metrics (e.g. per-source FVE of a crosscoder) for each evaluation. */
    default Map<String, Double> evalMetrics(SparseCoder coder, HeldOut heldOut) {
      return Map.of();
    }
  }

  /**
   * The held-out rows (finite ones only), full width (input then target), with each row's
   * provenance and preceding tokens.
   */
  public static final class HeldOut {
    private final int width;
    private final int dIn;
    private final float[] values;
    private final int[] tokens;
    private final int[] docs;
    private final int[] positions;
    private final int[][] context;
    private int rows;
    private long read;
    private long skipped;

    HeldOut(int capacity, int width, int dIn) {
      this.width = width;
      this.dIn = dIn;
      this.values = new float[Math.multiplyExact(capacity, width)];
      this.tokens = new int[capacity];
      this.docs = new int[capacity];
      this.positions = new int[capacity];
      this.context = new int[capacity][];
    }

    /** Finite rows held out. */
    public int rows() {
      return rows;
    }

    /** Rows read into the held-out region (finite or not). */
    public long read() {
      return read;
    }

    /** Held-out rows dropped for holding NaN or infinity. */
    public long skipped() {
      return skipped;
    }

    public int[] tokenIds() {
      return tokens;
    }

    public int[] docIds() {
      return docs;
    }

    public int[] positions() {
      return positions;
    }

    /** Per row the token ids before it in its document (oldest first). */
    public int[][] context() {
      return context;
    }

    /** The coder inputs of rows [from, to) as [n, d_in] in {@code m}. */
    public NDArray inputs(NDManager m, int from, int to) {
      return columns(m, from, to, 0, dIn);
    }

    /** The targets of rows [from, to) as [n, d_out] in {@code m}, or null for autoencoders. */
    public NDArray targets(NDManager m, int from, int to) {
      return width == dIn ? null : columns(m, from, to, dIn, width);
    }

    private NDArray columns(NDManager m, int from, int to, int c0, int c1) {
      int n = to - from;
      int w = c1 - c0;
      float[] out = new float[n * w];
      for (int r = 0; r < n; r++) {
        System.arraycopy(values, (from + r) * width + c0, out, r * w, w);
      }
      return m.create(out, new Shape(n, w));
    }

    /**
     * Encodes every held-out row with {@code coder} and gathers per-latent densities, mean
     * activations and top examples (with their tokens and contexts).
     */
    public FeatureExamples features(SparseCoder coder, int topExamples, Runnable checkCancelled) {
      FeatureExamples fe = new FeatureExamples(coder.dSae(), topExamples);
      for (int from = 0; from < rows; from += ENCODE_CHUNK) {
        checkCancelled.run();
        int n = Math.min(ENCODE_CHUNK, rows - from);
        try (NDManager m = NDManager.newBaseManager()) {
          float[] codes = coder.encode(inputs(m, from, from + n)).toFloatArray();
          fe.add(codes, n, from, tokens, docs, positions, context, from);
        }
      }
      return fe;
    }

    /**
     * Everything a feature page shows, from the held-out rows: {@link #features} and, for each
     * top example, the window of up to {@code before} and {@code after} tokens around it in its
     * document with the latent's activation on each, and each latent's histogram of non-zero
     * activations in {@code bins} bins.
     */
    public FeatureDashboards dashboards(SparseCoder coder, int topExamples, int before, int after, int bins,
        Runnable checkCancelled) {
      FeatureExamples fe = features(coder, topExamples, checkCancelled);
      int dSae = coder.dSae();
      Map<Integer, List<FeatureDashboards.PendingWindow>> pending = new java.util.HashMap<>();
      @SuppressWarnings("unchecked")
      List<int[]>[] needs = new List[rows];
      for (int j = 0; j < dSae; j++) {
        List<FeatureExamples.Example> top = fe.top(j);
        if (top.isEmpty()) {
          continue;
        }
        List<FeatureDashboards.PendingWindow> list = new ArrayList<>(top.size());
        for (FeatureExamples.Example ex : top) {
          int r = (int) ex.row();
          int s0 = r;
          while (s0 > r - before && s0 > 0 && contiguous(s0 - 1, s0)) {
            s0--;
          }
          int e0 = r;
          while (e0 < r + after && e0 + 1 < rows && contiguous(e0, e0 + 1)) {
            e0++;
          }
          int[] windowRows = new int[e0 - s0 + 1];
          int[] windowTokens = new int[windowRows.length];
          for (int i = 0; i < windowRows.length; i++) {
            windowRows[i] = s0 + i;
            windowTokens[i] = tokens[s0 + i];
            if (needs[s0 + i] == null) {
              needs[s0 + i] = new ArrayList<>(2);
            }
            needs[s0 + i].add(new int[] {j, list.size(), i});
          }
          list.add(new FeatureDashboards.PendingWindow(windowRows, windowTokens, r - s0));
        }
        pending.put(j, list);
      }
      long[][] histograms = FeatureDashboards.emptyHistograms(dSae, bins);
      for (int from = 0; from < rows; from += ENCODE_CHUNK) {
        checkCancelled.run();
        int n = Math.min(ENCODE_CHUNK, rows - from);
        float[] codes;
        try (NDManager m = NDManager.newBaseManager()) {
          codes = coder.encode(inputs(m, from, from + n)).toFloatArray();
        }
        for (int r = 0; r < n; r++) {
          int base = r * dSae;
          for (int j = 0; j < dSae; j++) {
            float a = codes[base + j];
            if (a > 0) {
              FeatureDashboards.count(histograms[j], fe.maxActivation(j), a);
            }
          }
          List<int[]> need = needs[from + r];
          if (need != null) {
            for (int[] w : need) {
              pending.get(w[0]).get(w[1]).activations[w[2]] = codes[base + w[0]];
            }
          }
        }
      }
      FeatureDashboards.Histogram[] hist = new FeatureDashboards.Histogram[dSae];
      for (int j = 0; j < dSae; j++) {
        hist[j] = new FeatureDashboards.Histogram(fe.maxActivation(j), histograms[j]);
      }
      return new FeatureDashboards(fe, hist, FeatureDashboards.finish(pending));
    }

    /** Whether held-out row b directly follows row a in the same document. */
    private boolean contiguous(int a, int b) {
      return docs[a] == docs[b] && positions[b] == positions[a] + 1;
    }

    /** The held-out rows cut back into the model's input windows (see {@link SpliceEvaluator#sequences}). */
    public List<int[]> windows(int context) {
      return SpliceEvaluator.sequences(tokens, docs, positions, rows, context);
    }
  }

  /** What a finished run leaves for the method's own analysis; the caller closes the trainer. */
  /**
   * What a run left: the trainer (and its coder), the held-out rows, the final held-out
   * evaluation, the last step's metrics, the model the rows came from, whether it resumed, and
   * every metrics row this run logged (each with its {@code step}; after a resume only the rows
   * logged since).
   */
  public record Result(SparseCoderTrainer trainer, HeldOut heldOut, SparseMetrics.Evaluation evaluation,
      StepMetrics lastStep, String modelId, boolean resumed, List<Map<String, Object>> metrics) {
    public Result {
      metrics = List.copyOf(metrics);
    }
  }

  private final JobContext ctx;
  private final ActivationSource in;
  private final SparseCoderSettings s;
  private final Recipe recipe;
  private final NDManager manager;
  private final SparseCoderFiles.CoderInfo info;
  private final Path checkpoint;
  private final int width;
  private final HeldOut held;
  private final TokenContext tokenContext;
  private final List<float[]> replay = new ArrayList<>();
  private final List<Map<String, Object>> history = new ArrayList<>();
  private int replayRows;
  private final float[] batch;
  private int batchRows;
  private long trainRead;
  private long skipTrain;
  private long trainSkipped;
  private boolean initialised;
  private long plannedSteps;
  private String modelId;
  private SparseCoderTrainer trainer;
  private StepMetrics last;
  private NDArray heldInputs;
  private NDArray heldTargets;

  private SparseCoderRun(JobContext ctx, ActivationSource in, SparseCoderSettings s, Recipe recipe, NDManager manager,
      SparseCoderFiles.CoderInfo info) {
    this.ctx = ctx;
    this.in = in;
    this.s = s;
    this.recipe = recipe;
    this.manager = manager;
    this.info = info;
    this.checkpoint = ctx.checkpointDir().resolve(CHECKPOINT);
    this.width = s.rowWidth();
    this.held = new HeldOut(s.evalRows(), width, s.dIn());
    this.tokenContext = new TokenContext(s.contextTokens(), CONTEXT_DOCS);
    this.batch = new float[Math.multiplyExact(s.batchSize(), width)];
  }

  /**
   * Trains a coder on {@code in} (rows of width d_in + d_out) as {@code s} says, resuming from the
   * job's checkpoint when the job resumes and one exists.
   *
   * @param manager owns the coder and the held-out arrays; keep it open while using the result
   * @throws IllegalArgumentException when the input's width is not d_in + d_out, or epochs > 1
   *     on an input of unknown length without max_tokens, naming the value
   * @throws IllegalStateException when the input has no more rows than the held-out ones, or a
   *     checkpoint holds a coder of another shape
   */
  public static Result train(JobContext ctx, ActivationSource in, SparseCoderSettings s, Recipe recipe,
      NDManager manager, SparseCoderFiles.CoderInfo info) throws Exception {
    Objects.requireNonNull(recipe, "recipe");
    if (in.width() != s.rowWidth()) {
      throw new IllegalArgumentException("input '" + in.hookName() + "' has width " + in.width() + ", expected "
          + (s.dOut() == 0 ? "d_in = " + s.dIn() : "d_in + d_out = " + s.dIn() + " + " + s.dOut()));
    }
    return new SparseCoderRun(ctx, in, s, recipe, manager, info).execute();
  }

  private Result execute() throws Exception {
    long planned = s.plannedSteps(in.totalRows());
    if (s.epochs() > 1 && planned < 0) {
      throw new IllegalArgumentException("config epochs = " + s.epochs() + " keeps the training rows in memory and"
          + " needs a bounded input: input '" + in.hookName() + "' has no known length, so set max_tokens");
    }
    this.plannedSteps = planned;
    SparseCoderSettings settings = s.withPlannedSteps(ctx.config().getLong("lr_decay_steps"), planned);
    boolean resumed = ctx.resuming() && Files.isRegularFile(checkpoint.resolve(SparseCoderFiles.TRAINER_JSON));
    if (resumed) {
      trainer = SparseCoderFiles.loadCheckpoint(manager, checkpoint).trainer();
      checkResumable(trainer.coder());
      ctx.log().info("resuming from {} at step {} ({} rows trained)", checkpoint, trainer.step(), trainer.tokens());
      // the trainer's skipped-row count is kept equal to the NaN rows this job dropped from the
      // training region, so a checkpoint knows exactly how far into the input it got
      skipTrain = trainer.tokens() + trainer.skippedRows();
      trainSkipped = trainer.skippedRows();
      initialised = true;
    } else {
      SparseCoder coder = recipe.newCoder(manager);
      trainer = new SparseCoderTrainer(coder, settings.trainer());
    }
    try {
      read();
      return new Result(trainer, held, finalEvaluation(), last, modelId, resumed, history);
    } catch (Exception | Error e) {
      trainer.close();
      throw e;
    }
  }

  private void checkResumable(SparseCoder coder) {
    if (coder.dIn() != s.dIn() || coder.dSae() != s.dSae() || !coder.activation().equals(s.activation())
        || (s.dOut() > 0 && coder.dOut() != s.dOut())) {
      throw new IllegalStateException("checkpoint " + checkpoint + " holds a " + coder + " but the job asks for d_in "
          + s.dIn() + (s.dOut() > 0 ? ", d_out " + s.dOut() : "") + ", d_sae " + s.dSae() + ", " + s.activation()
          + "; delete the checkpoint or fix the config");
    }
  }

  private void read() throws Exception {
    ActivationBatch b;
    boolean full = false;
    while (!full && (b = in.next()) != null) {
      ctx.checkCancelled();
      if (b.width() != width) {
        throw new IllegalStateException("batch " + b.sequence() + " of input '" + in.hookName() + "' has width "
            + b.width() + ", expected " + width);
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
      step(Arrays.copyOf(batch, batchRows * width), batchRows);
      batchRows = 0;
    }
    if (held.read < s.evalRows()) {
      throw new IllegalStateException("input '" + in.hookName() + "' delivered only " + held.read
          + " rows, fewer than eval_rows = " + s.evalRows() + " held out for evaluation; nothing left to train on");
    }
    if (trainer.step() == 0) {
      throw new IllegalStateException("input '" + in.hookName() + "' delivered no finite training rows after the "
          + s.evalRows() + " held-out rows (" + trainSkipped + " rows held NaN or infinity)");
    }
    if (held.rows == 0) {
      throw new IllegalStateException("all " + held.read + " held-out rows of input '" + in.hookName()
          + "' hold NaN or infinity; nothing to evaluate on");
    }
  }

  /** Takes one input batch; returns true once max_tokens training rows have been read. */
  private boolean consume(ActivationBatch b) {
    float[] v = b.values();
    for (int r = 0; r < b.rows(); r++) {
      if (held.read < s.evalRows()) {
        holdOut(b, r);
        continue;
      }
      if (s.maxTokens() > 0 && trainRead >= s.maxTokens()) {
        return true;
      }
      boolean ok = finite(v, r * width, width);
      if (ok && s.epochs() > 1) {
        keep(v, r * width);
      }
      train(v, r * width, ok);
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
    System.arraycopy(v, offset, batch, batchRows * width, width);
    if (++batchRows == s.batchSize()) {
      step(batch, batchRows);
      batchRows = 0;
    }
  }

  private void keep(float[] v, int offset) {
    int slot = replayRows % REPLAY_CHUNK;
    if (slot == 0) {
      replay.add(new float[REPLAY_CHUNK * width]);
    }
    System.arraycopy(v, offset, replay.get(replay.size() - 1), slot * width, width);
    replayRows++;
  }

  /** One more pass over the kept training rows, in the order they first came. */
  private void replayEpoch() {
    for (int i = 0; i < replayRows; i++) {
      if (i % REPLAY_CHUNK == 0) {
        ctx.checkCancelled();
      }
      train(replay.get(i / REPLAY_CHUNK), (i % REPLAY_CHUNK) * width, true);
    }
  }

  private void holdOut(ActivationBatch b, int r) {
    held.read++;
    int[] context = tokenContext.next(b.docIds()[r], b.positions()[r], b.tokenIds()[r]);
    if (!finite(b.values(), r * width, width)) {
      held.skipped++;
      return;
    }
    int i = held.rows;
    System.arraycopy(b.values(), r * width, held.values, i * width, width);
    held.tokens[i] = b.tokenIds()[r];
    held.docs[i] = b.docIds()[r];
    held.positions[i] = b.positions()[r];
    held.context[i] = context;
    held.rows++;
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
    StepMetrics m;
    try (NDManager sub = manager.newSubManager()) {
      NDArray all = sub.create(values, new Shape(rows, width));
      NDArray x = s.dOut() == 0 ? all : all.get(new ai.djl.ndarray.index.NDIndex(":, 0:" + s.dIn()));
      NDArray y = s.dOut() == 0 ? null : all.get(new ai.djl.ndarray.index.NDIndex(":, " + s.dIn() + ":"));
      if (!initialised) {
        initialised = true;
        if (s.normalize() || s.initBDec()) {
          String what = recipe.initialise(trainer.coder(), x, y, s);
          ctx.log().info("initialised from {} rows: {}", rows, what);
        }
      }
      m = trainer.step(x, y);
    }
    trainer.restoreCounters(trainer.step(), trainer.tokens(), trainSkipped, trainer.batchTopKThreshold());
    last = m;
    long step = trainer.step();
    ctx.progress(step, plannedSteps, "steps");
    if (step % s.metricsEvery() == 0) {
      log(step, trainingMetrics(m));
    }
    if (s.evalEvery() > 0 && step % s.evalEvery() == 0) {
      log(step, evalMetrics(evaluate()));
    }
    if (s.checkpointEvery() > 0 && step % s.checkpointEvery() == 0) {
      try {
        SparseCoderFiles.saveCheckpoint(trainer, checkpoint, info);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write checkpoint " + checkpoint + ": " + e.getMessage(), e);
      }
    }
  }

  private SparseMetrics.Evaluation evaluate() {
    if (heldInputs == null) {
      heldInputs = held.inputs(manager, 0, held.rows);
      heldTargets = held.targets(manager, 0, held.rows);
    }
    return SparseMetrics.evaluate(trainer.coder(), heldInputs, heldTargets);
  }

  private SparseMetrics.Evaluation finalEvaluation() {
    ctx.checkCancelled();
    SparseMetrics.Evaluation eval = evaluate();
    log(trainer.step(), evalMetrics(eval));
    return eval;
  }

  /** Logs a metrics row to the job and keeps it for the plots. */
  private void log(long step, Map<String, Double> row) {
    ctx.metrics(step, row);
    Map<String, Object> kept = new LinkedHashMap<>();
    kept.put("step", step);
    kept.putAll(row);
    history.add(kept);
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
    row.put("eval_dense_fraction", SparseMetrics.denseFraction(density, SparseCoderSettings.DENSE));
    row.put("dead_fraction", trainer.deadLatents().deadFraction());
    row.putAll(recipe.evalMetrics(trainer.coder(), held));
    return row;
  }

  /**
   * The summary fields every sparse-coder job reports: sizes, steps, tokens, skipped rows, scales,
   * held-out FVE / MSE / L0, dead and dense fractions and the log10 density histogram.
   */
  public static Map<String, Object> summary(Result r, SparseCoderSettings s, double[] heldDensity) {
    SparseCoder coder = r.trainer().coder();
    SparseMetrics.Evaluation eval = r.evaluation();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("model", r.modelId());
    out.put("kind", coder.layout().kind());
    out.put("d_in", coder.dIn());
    if (!coder.layout().autoencoder()) {
      out.put("d_out", coder.dOut());
    }
    out.put("d_sae", coder.dSae());
    out.put("activation", coder.activation().name());
    if (coder.activation() instanceof SparseActivation.TopK t) {
      out.put("k", t.k());
    } else if (coder.activation() instanceof SparseActivation.BatchTopK b) {
      out.put("k", b.k());
    }
    out.put("steps", r.trainer().step());
    out.put("tokens", r.trainer().tokens());
    out.put("epochs", s.epochs());
    out.put("skipped_rows", r.trainer().skippedRows());
    out.put("eval_rows", eval.rows());
    out.put("eval_skipped_rows", r.heldOut().skipped());
    float[] scales = coder.inputScales();
    if (scales.length == 1) {
      out.put("input_scale", (double) scales[0]);
    } else {
      List<Double> list = new ArrayList<>();
      for (float v : scales) {
        list.add((double) v);
      }
      out.put("input_scales", list);
    }
    if (!coder.layout().autoencoder()) {
      out.put("output_scale", (double) coder.outputScale());
    }
    out.put("eval_fve", eval.fve());
    out.put("eval_mse", eval.mse());
    out.put("eval_l0", eval.l0());
    out.put("eval_dead_fraction", SparseMetrics.deadFraction(heldDensity));
    out.put("eval_dense_fraction", SparseMetrics.denseFraction(heldDensity, SparseCoderSettings.DENSE));
    out.put("dead_fraction", r.trainer().deadLatents().deadFraction());
    if (r.lastStep() != null) {
      out.put("final_train_fve", r.lastStep().fve());
      out.put("final_train_l0", r.lastStep().l0());
    }
    SparseMetrics.DensityHistogram h = SparseMetrics.densityHistogram(heldDensity, 20, -10, 0);
    Map<String, Object> hist = new LinkedHashMap<>();
    hist.put("log10_edges", h.edges());
    hist.put("counts", h.counts());
    hist.put("never_fired", h.dead());
    out.put("density_histogram", hist);
    return out;
  }

  /**
   * One latent's dashboard data from the held-out rows: density, mean and max activation, the
   * histogram of its non-zero activations, and its top examples (activation, token, document,
   * position, the token ids before it ({@code context}, from the stream, possibly before the
   * held-out rows), and the held-out {@code window} around it: token ids, the latent's
   * activation on each, and the example's index in it).
   */
  public static Map<String, Object> featureEntry(FeatureDashboards dash, int j) {
    FeatureExamples fe = dash.examples();
    double[] density = fe.density();
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("latent", j);
    f.put("density", density[j]);
    f.put("mean_activation", fe.meanActivation(j));
    f.put("max_activation", (double) fe.maxActivation(j));
    FeatureDashboards.Histogram h = dash.histogram(j);
    f.put("histogram", Map.of("max", h.max(), "counts", h.counts()));
    List<Map<String, Object>> top = new ArrayList<>();
    List<FeatureExamples.Example> examples = fe.top(j);
    List<FeatureDashboards.Window> windows = dash.windows(j);
    for (int i = 0; i < examples.size(); i++) {
      FeatureExamples.Example e = examples.get(i);
      Map<String, Object> ex = new LinkedHashMap<>();
      ex.put("activation", (double) e.activation());
      ex.put("token", e.tokenId());
      ex.put("doc", e.docId());
      ex.put("position", e.position());
      ex.put("context", e.context());
      if (i < windows.size()) {
        FeatureDashboards.Window w = windows.get(i);
        Map<String, Object> win = new LinkedHashMap<>();
        win.put("tokens", w.tokens());
        win.put("activations", w.activations());
        win.put("focus", w.focus());
        ex.put("window", win);
      }
      top.add(ex);
    }
    f.put("top", top);
    return f;
  }

  /**
   * Every latent's dashboard entry ({@link #featureEntry}) with, when {@code effects} is not null,
   * its top promoted ({@code logits_positive}) and suppressed ({@code logits_negative}) tokens.
   */
  public static List<Map<String, Object>> featureEntries(FeatureDashboards dash, List<LogitEffects.Effects> effects) {
    int dSae = dash.examples().density().length;
    List<Map<String, Object>> out = new ArrayList<>(dSae);
    for (int j = 0; j < dSae; j++) {
      Map<String, Object> f = featureEntry(dash, j);
      if (effects != null) {
        f.put("logits_positive", tokenEffects(effects.get(j).positive()));
        f.put("logits_negative", tokenEffects(effects.get(j).negative()));
      }
      out.add(f);
    }
    return out;
  }

  /**
   * The top {@code n} promoted and suppressed tokens of each latent's decoder vector (in raw target
   * units) written at {@code writeHook}, or null when they do not apply: n is 0, no model session,
   * or a hook that does not write the residual stream of a causal model.
   */
  public static List<LogitEffects.Effects> logitEffects(SparseCoder coder, Optional<ModelSession> session,
      String writeHook, int n) {
    if (n == 0 || session.isEmpty() || !LogitEffects.applies(session.get().info(), writeHook)) {
      return null;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      // decoder rows live in the normalised space; raw directions are those over the target scale
      NDArray directions = coder.wDec().div(coder.outputScale());
      directions.attach(m);
      return LogitEffects.of(session.get(), directions, n);
    }
  }

  /**
   * Runs up to {@code sequences} held-out windows three times (clean, with the coder's output in
   * place of {@code writeHook}'s activation, computed from {@code readHook}'s, and with
   * {@code writeHook} zero-ablated) and returns the losses, loss recovered and KL
   * ({@link SpliceEvaluator}); or a map with {@code skipped} and the reason when it cannot run:
   * {@code sequences} is 0, no model session, an encoder, or no window of two tokens.
   */
  public static Map<String, Object> splice(JobContext ctx, Result r, Optional<ModelSession> session, String readHook,
      String writeHook, int sequences) {
    SparseCoder coder = r.trainer().coder();
    Map<String, Object> out = new LinkedHashMap<>();
    String why = sequences == 0 ? "splice_sequences = 0"
        : session.isEmpty() ? "the model session of the input is not reachable from this job"
        : !session.get().info().causal() ? "model '" + session.get().info().id() + "' is an encoder: no next-token loss"
        : null;
    List<int[]> windows = why != null ? List.of() : r.heldOut().windows(session.get().info().maxContext());
    if (why == null && windows.isEmpty()) {
      why = "the held-out rows hold no window of 2 or more consecutive tokens";
    }
    if (why != null) {
      out.put("skipped", why);
      return out;
    }
    ctx.checkCancelled();
    SpliceEvaluator.Result e = SpliceEvaluator.evaluate(session.get(),
        windows.subList(0, Math.min(windows.size(), sequences)), new SpliceEvaluator.Splice(readHook, writeHook, a -> {
          Shape shape = a.getShape();
          NDArray flat = a.reshape(-1, shape.get(shape.dimension() - 1));
          return coder.forward(flat).get(1).reshape(shape.slice(0, shape.dimension() - 1).add(coder.dOut()));
        }), 8);
    out.put("sequences", e.sequences());
    out.put("predictions", e.predictions());
    out.put("clean_loss", e.cleanLoss());
    out.put("spliced_loss", e.splicedLoss());
    out.put("zero_ablated_loss", e.ablatedLoss());
    out.put("loss_recovered", e.lossRecovered());
    out.put("kl_divergence", e.klDivergence());
    ctx.log().info("{} -> {} spliced into {}: loss {} -> {} (zero-ablated {}), loss recovered {}, KL {}", readHook,
        writeHook, session.get().info().id(), e.cleanLoss(), e.splicedLoss(), e.ablatedLoss(), e.lossRecovered(),
        e.klDivergence());
    return out;
  }

  /** Token effects as JSON-ready maps ({@code token}, {@code text}, {@code effect}). */
  public static List<Map<String, Object>> tokenEffects(List<LogitEffects.TokenEffect> list) {
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
}
