package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Trains a {@link SparseCoder} one batch at a time with hand-derived gradients (no autograd, so
 * several trainers may run in one JVM at once) and Adam. Per activation it implements the
 * published objective:
 * <ul>
 *   <li>ReLU: squared error + L1 with warm-up, decoder rows at unit norm with the parallel gradient
 *       component removed before each step (Bricken et al. 2023, "Towards Monosemanticity"); or the
 *       L1 weighted by decoder row norms with a free decoder (Conerly et al. 2024, "Circuits
 *       Updates, April 2024").
 *   <li>TopK and BatchTopK: squared error + AuxK on dead latents (Gao et al. 2024, "Scaling and
 *       evaluating sparse autoencoders"; Bussmann et al. 2024, "BatchTopK Sparse Autoencoders", whose
 *       inference threshold is a running average of the smallest kept activation).
 *   <li>JumpReLU: squared error + {@code lambda (L0/target - 1)^2}, thresholds learned in log space
 *       through straight-through estimators with a rectangle kernel of width epsilon (Rajamanoharan
 *       et al. 2024, "Jumping Ahead"; the L0-target form is the dictionary_learning trainer's).
 * </ul>
 * Dead latents are tracked over a token window and may be resampled as in Towards Monosemanticity.
 *
 * <p>The same objectives train every member of the family ({@link SparseCoder.Layout}): a
 * transcoder's error is against its target (and its skip connection is trained with the rest); a
 * crosscoder's decoder is free, its L1 penalty weights each latent by the sum of its per-source
 * decoder norms (Lindsey et al. 2024, "Sparse Crosscoders") and its BatchTopK selects by the
 * activation times that sum (the BatchTopK crosscoder of Minder et al. 2025, "Overcoming Sparsity
 * Artifacts in Crosscoders to Interpret Chat-Tuning"), whose inference threshold is then divided
 * by each latent's norm sum.
 *
 * <p>Losses use the sum of squared errors over d_in, averaged over rows. Not thread-safe: one thread
 * drives a trainer; distinct trainers are independent.
 */
public final class SparseCoderTrainer implements AutoCloseable {
  private final SparseCoder coder;
  private final TrainerConfig config;
  private final DeadLatentTracker tracker;
  private final NDManager stateManager;
  private final Map<String, NDArray> adamM = new LinkedHashMap<>();
  private final Map<String, NDArray> adamV = new LinkedHashMap<>();
  private long step;
  private long tokens;
  private long skippedRows;
  private double batchTopKThreshold = Double.NaN;
  /** Tests turn the sparse TopK path off to compare it with the dense one. */
  boolean sparseCodes = true;
  /** Tests turn the blocked ReLU path ({@link #computeRelu}) off to compare it with the generic dense one. */
  boolean blockedRelu = true;
  /** Rows per block of the ReLU path; 0 picks {@link #reluBlockRows(int, int)}. Tests force small blocks. */
  int reluBlockRows = 0;

  /**
   * @throws IllegalArgumentException when the config does not fit the coder (k > d_sae, a JumpReLU
   *     target L0 above d_sae, the decoder-norm L1 on a non-ReLU coder), naming the value
   */
  public SparseCoderTrainer(SparseCoder coder, TrainerConfig config) {
    this.coder = Objects.requireNonNull(coder, "coder");
    this.config = Objects.requireNonNull(config, "config");
    config.validateFor(coder);
    this.tracker = new DeadLatentTracker(coder.dSae(), config.deadTokenWindow());
    this.stateManager = coder.manager().newSubManager();
    for (String name : trainedTensors()) {
      NDArray p = coder.tensor(name);
      adamM.put(name, stateManager.zeros(p.getShape(), p.getDataType()));
      adamV.put(name, stateManager.zeros(p.getShape(), p.getDataType()));
    }
  }

  private java.util.List<String> trainedTensors() {
    java.util.List<String> names = new java.util.ArrayList<>(
        java.util.List.of(SparseCoder.W_ENC, SparseCoder.B_ENC, SparseCoder.W_DEC, SparseCoder.B_DEC));
    if (coder.activation() instanceof SparseActivation.JumpRelu) {
      names.add(SparseCoder.THRESHOLD);
    }
    if (coder.wSkip() != null) {
      names.add(SparseCoder.W_SKIP);
    }
    return names;
  }

  /**
   * Whether decoder rows keep their norms (no unit-norm constraint): the decoder-norm weighted L1
   * variant and every crosscoder, whose per-source norms are what the model diff reads.
   */
  boolean decoderFree() {
    return config.decoderNormWeightedL1() || coder.sources() > 1;
  }

  public SparseCoder coder() {
    return coder;
  }

  public TrainerConfig config() {
    return config;
  }

  public DeadLatentTracker deadLatents() {
    return tracker;
  }

  /** Steps taken. */
  public long step() {
    return step;
  }

  /** Rows trained on. */
  public long tokens() {
    return tokens;
  }

  /** Rows skipped because they held NaN or infinity. */
  public long skippedRows() {
    return skippedRows;
  }

  /** BatchTopK's current inference threshold estimate (NaN before the first step or for other activations). */
  public double batchTopKThreshold() {
    return batchTopKThreshold;
  }

  /**
   * Adam's first and second moments by tensor name ({@code "m." + name}, {@code "v." + name}),
   * live; the bias-correction step count is {@link #step()}. For checkpoints.
   */
  public Map<String, NDArray> optimizerState() {
    Map<String, NDArray> s = new LinkedHashMap<>();
    adamM.forEach((k, v) -> s.put("m." + k, v));
    adamV.forEach((k, v) -> s.put("v." + k, v));
    return s;
  }

  /** Restores counters saved from {@link #step()}, {@link #tokens()}, {@link #skippedRows()} and the BatchTopK threshold. */
  public void restoreCounters(long step, long tokens, long skippedRows, double batchTopKThreshold) {
    if (step < 0 || tokens < 0 || skippedRows < 0) {
      throw new IllegalArgumentException("counters must be >= 0, got step " + step + ", tokens " + tokens
          + ", skipped rows " + skippedRows);
    }
    this.step = step;
    this.tokens = tokens;
    this.skippedRows = skippedRows;
    this.batchTopKThreshold = batchTopKThreshold;
  }

  /** The learning rate for the step with 0-based index {@code t}: linear warm-up, then linear decay to 0. */
  public double learningRate(long t) {
    double lr = config.learningRate();
    if (config.lrWarmupSteps() > 0) {
      lr *= Math.min(1.0, (t + 1.0) / config.lrWarmupSteps());
    }
    if (config.lrDecaySteps() > 0) {
      lr *= Math.max(0.0, Math.min(1.0, (double) (config.totalSteps() - t) / config.lrDecaySteps()));
    }
    return lr;
  }

  /** The L1 coefficient for step {@code t}: linear warm-up to {@link TrainerConfig#l1Coefficient()}. */
  public double l1Coefficient(long t) {
    double l1 = config.l1Coefficient();
    if (config.l1WarmupSteps() > 0) {
      l1 *= Math.min(1.0, (t + 1.0) / config.l1WarmupSteps());
    }
    return l1;
  }

  /** {@link #step(NDArray)} on a row-major float array of {@code rows} rows of d_in values. */
  public StepMetrics step(float[] batch, int rows) {
    return step(batch, null, rows);
  }

  /**
   * {@link #step(NDArray, NDArray)} on row-major float arrays of {@code rows} rows: inputs of d_in
   * values and, for a transcoder, targets of d_out values (null for autoencoders).
   */
  public StepMetrics step(float[] inputs, float[] targets, int rows) {
    if (rows < 1 || inputs.length != (long) rows * coder.dIn()) {
      throw new IllegalArgumentException("batch has " + inputs.length + " values; expected rows (" + rows
          + ") x d_in (" + coder.dIn() + ")");
    }
    if (targets != null && targets.length != (long) rows * coder.dOut()) {
      throw new IllegalArgumentException("targets have " + targets.length + " values; expected rows (" + rows
          + ") x d_out (" + coder.dOut() + ")");
    }
    try (NDManager m = coder.manager().newSubManager()) {
      return step(m.create(inputs, new Shape(rows, coder.dIn())),
          targets == null ? null : m.create(targets, new Shape(rows, coder.dOut())));
    }
  }

  /**
   * One optimisation step of an autoencoder (SAE, crosscoder) on raw inputs [n, d_in]; see
   * {@link #step(NDArray, NDArray)}.
   */
  public StepMetrics step(NDArray batch) {
    return step(batch, null);
  }

  /**
   * One optimisation step on raw inputs [n, d_in] and, for a transcoder, raw targets [n, d_out]
   * (null for autoencoders, whose target is the input). Rows holding NaN or infinity (in the input
   * or the target) are dropped and counted, never trained on; a batch with no finite row takes no
   * step (its metrics show 0 rows).
   *
   * @throws IllegalArgumentException when a width is not the coder's, or a transcoder gets no
   *     targets or an autoencoder gets some
   */
  public StepMetrics step(NDArray batch, NDArray targets) {
    checkBatch(batch, targets);
    Shape shape = batch.getShape();
    try (NDManager m = coder.manager().newSubManager()) {
      attachWorkingSet(m, batch, true);
      NDArray x;
      NDArray y = null;
      if (targets == null) {
        x = SparseMetrics.dropNonFiniteRows(batch);
      } else if (SparseMetrics.allFinite(batch) && SparseMetrics.allFinite(targets)) {
        m.tempAttachAll(targets);
        x = batch;
        y = targets;
      } else {
        m.tempAttachAll(targets);
        NDArray keep = SparseMetrics.finiteRows(batch).logicalAnd(SparseMetrics.finiteRows(targets));
        x = batch.get(keep);
        y = targets.get(keep);
      }
      int total = (int) shape.get(0);
      int good = (int) x.getShape().get(0);
      int skipped = total - good;
      skippedRows += skipped;
      if (good == 0) {
        return new StepMetrics(step, 0, skipped, 0, 0, 0, 0, 0, 0, 0, 0, tracker.deadFraction(), 0);
      }
      Gradients g = compute(x, y, null, m);
      double lr = learningRate(step);
      applyAdam(g, lr, m);
      long[] fired = g.firedCounts;
      tracker.update(fired, good);
      if (coder.activation() instanceof SparseActivation.BatchTopK && !Double.isNaN(g.minKept)) {
        boolean restart = Double.isNaN(batchTopKThreshold)
            || (config.thresholdStartStep() > 0 && step == config.thresholdStartStep());
        batchTopKThreshold = restart ? g.minKept
            : config.thresholdMomentum() * batchTopKThreshold + (1 - config.thresholdMomentum()) * g.minKept;
        setBatchTopKThreshold();
      }
      step++;
      tokens += good;
      int resampled = 0;
      if (config.resampleEverySteps() > 0 && step % config.resampleEverySteps() == 0) {
        resampled = resample(g.xNormalized, g.yNormalized, g.rowLoss);
      }
      return new StepMetrics(step, good, skipped, g.loss, g.mse, g.fve, g.l0,
          g.sparsityLoss, g.auxLoss, lr, g.l1, tracker.deadFraction(), resampled);
    }
  }

  private void checkBatch(NDArray batch, NDArray targets) {
    Shape shape = batch.getShape();
    if (shape.dimension() != 2 || shape.get(1) != coder.dIn()) {
      throw new IllegalArgumentException("batch must have shape [n, d_in = " + coder.dIn() + "], got " + shape);
    }
    boolean autoencoder = coder.layout().autoencoder();
    if (autoencoder && targets != null) {
      throw new IllegalArgumentException("a " + coder.layout().kind() + " reconstructs its input; pass no targets");
    }
    if (!autoencoder) {
      if (targets == null) {
        throw new IllegalArgumentException("a " + coder.layout().kind() + " needs targets [n, d_out = "
            + coder.dOut() + "] beside its inputs");
      }
      Shape t = targets.getShape();
      if (t.dimension() != 2 || t.get(0) != shape.get(0) || t.get(1) != coder.dOut()) {
        throw new IllegalArgumentException("targets must have shape [n = " + shape.get(0) + ", d_out = "
            + coder.dOut() + "], got " + t);
      }
    }
  }

  /**
   * BatchTopK's inference rule is {@code score > theta} with the score the one training selected
   * by: the activation itself, or for a free decoder the activation times the latent's decoder
   * norm (sum), i.e. a per-latent threshold {@code theta / norm}.
   */
  private void setBatchTopKThreshold() {
    if (!decoderFree()) {
      coder.threshold().set(new NDIndex(":"), (float) batchTopKThreshold);
      return;
    }
    float[][] norms = coder.decoderNormsPerSource();
    float[] thr = new float[coder.dSae()];
    for (int j = 0; j < thr.length; j++) {
      double sum = 0;
      for (float v : norms[j]) {
        sum += v;
      }
      thr[j] = (float) (batchTopKThreshold / Math.max(sum, 1e-12));
    }
    coder.threshold().set(thr);
  }

  /**
   * The loss on raw inputs [n, d_in] (all rows finite) and its gradient for every trained tensor, at
   * the current step's L1 coefficient and dead set; nothing is updated. For gradient checks and for
   * plugins that combine coders (a crosscoder sums several).
   */
  public Gradients gradients(NDArray batch, NDManager manager) {
    return gradients(batch, null, null, manager);
  }

  /** As {@link #gradients(NDArray, NDManager)} for a transcoder's inputs [n, d_in] and targets [n, d_out]. */
  public Gradients gradients(NDArray batch, NDArray targets, NDManager manager) {
    return gradients(batch, targets, null, manager);
  }

  Gradients gradients(NDArray batch, NDArray targets, NDArray auxTarget, NDManager manager) {
    checkBatch(batch, targets);
    try (NDManager m = manager.newSubManager()) {
      attachWorkingSet(m, batch, false);
      if (auxTarget != null) {
        m.tempAttachAll(auxTarget);
      }
      if (targets != null) {
        m.tempAttachAll(targets);
      }
      Gradients g = compute(batch, targets, auxTarget, m);
      g.gradients.values().forEach(a -> a.attach(manager));
      g.xNormalized.attach(manager);
      g.yNormalized.attach(manager);
      g.rowLoss.attach(manager);
      return g;
    }
  }

  /**
   * Results of DJL operations belong to their first operand's manager; lending the weights (and
   * optimiser state and batch) to the step's manager keeps every temporary there, freed at once.
   */
  private void attachWorkingSet(NDManager m, NDArray batch, boolean withOptimizer) {
    java.util.List<ai.djl.ndarray.NDResource> lent = new java.util.ArrayList<>(coder.tensors().values());
    lent.add(batch);
    if (withOptimizer) {
      lent.addAll(adamM.values());
      lent.addAll(adamV.values());
    }
    m.tempAttachAll(lent.toArray(new ai.djl.ndarray.NDResource[0]));
  }

  /**
   * @param target raw targets [n, d_out] for a transcoder, null for autoencoders
   * @param auxTarget when non-null, the AuxK target residual (normally {@code y - y_hat}, held
   *     constant); tests pin it to check the AuxK gradient by finite differences
   */
  Gradients compute(NDArray raw, NDArray target, NDArray auxTarget, NDManager m) {
    if (sparseCodes && sparsePathApplies()) {
      return computeSparse(raw, target, auxTarget, m);
    }
    if (blockedRelu && coder.activation() instanceof SparseActivation.Relu && raw.getShape().get(0) > 0) {
      return computeRelu(raw, target, m);
    }
    NDArray wEnc = coder.wEnc();
    NDArray wDec = coder.wDec();
    NDArray bDec = coder.bDec();
    NDArray bEnc = coder.bEnc();
    NDArray wSkip = coder.wSkip();
    NDArray theta = coder.threshold();
    DataType dt = wEnc.getDataType();
    long n = raw.getShape().get(0);
    int dSae = coder.dSae();
    SparseActivation act = coder.activation();
    boolean free = decoderFree();

    NDArray x = coder.scaleInput(raw.toType(dt, false));
    NDArray y = target == null ? x : coder.scaleTarget(target.toType(dt, false));
    NDArray xc = coder.applyBDecToInput() ? x.sub(bDec) : x;
    NDArray pre = xc.matMul(wEnc).add(bEnc);
    // a free decoder's norms weight the L1 penalty and BatchTopK's selection
    NDArray[] normsAndDirections = free ? decoderNormsAndDirections(wDec) : null;
    NDArray norms = free ? normsAndDirections[0] : null;
    NDList codes = act instanceof SparseActivation.BatchTopK b && free ? b.trainWeighted(pre, norms) : act.train(pre, theta);
    NDArray f = codes.get(0);
    NDArray gate = codes.get(1);
    NDArray yhat = f.matMul(wDec).add(bDec);
    if (wSkip != null) {
      yhat = yhat.add(x.matMul(wSkip));
    }
    NDArray e = yhat.sub(y);
    NDArray rowLoss = e.square().sum(new int[] {1});
    double rec = rowLoss.sum().toType(DataType.FLOAT64, false).getDouble() / n;

    NDArray grad = e.mul(2.0 / n);
    NDArray gWDec = f.transpose().matMul(grad);
    NDArray gBDec = grad.sum(new int[] {0});
    NDArray dF = grad.matMul(wDec.transpose());

    double sparsity = 0;
    double l1 = 0;
    NDArray gTheta = null;
    if (act instanceof SparseActivation.Relu) {
      l1 = l1Coefficient(step);
      if (free) {
        NDArray fSum = f.sum(new int[] {0});
        sparsity = l1 / n * fSum.mul(norms).sum().toType(DataType.FLOAT64, false).getDouble();
        dF = dF.add(norms.mul(l1 / n));
        gWDec = gWDec.add(normsAndDirections[1].mul(fSum.mul(l1 / n).expandDims(1)));
      } else {
        sparsity = l1 / n * f.sum().toType(DataType.FLOAT64, false).getDouble();
        dF = dF.add(l1 / n);
      }
    } else if (act instanceof SparseActivation.JumpRelu) {
      double eps = config.jumpReluBandwidth();
      double target0 = config.targetL0();
      NDArray kernel = pre.sub(theta).abs().lt(eps / 2).toType(dt, false);
      double l0 = gate.sum().toType(DataType.FLOAT64, false).getDouble() / n;
      double dev = l0 / target0 - 1;
      sparsity = config.l0Coefficient() * dev * dev;
      // d f / d theta := -(theta / eps) K((pre - theta) / eps); d H / d theta := -(1 / eps) K(...)
      NDArray dThetaRec = dF.mul(kernel).sum(new int[] {0}).mul(theta).mul(-1.0 / eps);
      double spScale = config.l0Coefficient() * 2 * dev / target0 / n * (-1.0 / eps);
      NDArray dThetaSp = kernel.sum(new int[] {0}).mul(spScale);
      // trained in log space: d/d log(theta) = theta d/d theta
      gTheta = dThetaRec.add(dThetaSp).mul(theta);
    }
    NDArray dPre = dF.mul(gate);

    double aux = 0;
    boolean topK = act instanceof SparseActivation.TopK || act instanceof SparseActivation.BatchTopK;
    if (topK && config.auxKCoefficient() > 0) {
      int[] dead = tracker.dead();
      if (dead.length > 0) {
        int kAux = Math.min(config.kAux(), dead.length);
        NDArray masked = deadOnly(pre, dead, m);
        NDArray a = SparseActivation.keepTopPerRow(masked, kAux);
        NDArray r = auxTarget != null ? auxTarget : e.neg();
        NDArray ehat = a.matMul(wDec);
        double denom = r.sub(r.mean(new int[] {0})).square().sum().toType(DataType.FLOAT64, false).getDouble();
        if (denom > 0) {
          NDArray diff = ehat.sub(r);
          aux = config.auxKCoefficient() * diff.square().sum().toType(DataType.FLOAT64, false).getDouble() / denom;
          NDArray gAux = diff.mul(2 * config.auxKCoefficient() / denom);
          gWDec = gWDec.add(a.transpose().matMul(gAux));
          dPre = dPre.add(gAux.matMul(wDec.transpose()).mul(a.gt(0).toType(dt, false)));
        }
      }
    }

    NDArray gWEnc = xc.transpose().matMul(dPre);
    NDArray gBEnc = dPre.sum(new int[] {0});
    if (coder.applyBDecToInput()) {
      gBDec = gBDec.sub(wEnc.matMul(gBEnc.reshape(dSae, 1)).reshape(coder.dIn()));
    }

    Map<String, NDArray> grads = gradientMap(gWEnc, gBEnc, gWDec, gBDec, gTheta,
        wSkip != null ? x.transpose().matMul(grad) : null);

    // every activation's gate is 1 exactly where the code is non-zero, so it counts firings too
    long[] fired = firedCounts(gate.sum(new int[] {0}));
    double l0 = (double) java.util.Arrays.stream(fired).sum() / n;
    double minKept = Double.NaN;
    if (act instanceof SparseActivation.BatchTopK) {
      NDArray scores = free ? f.mul(norms) : f;
      NDArray kept = scores.booleanMask(f.gt(0));
      if (kept.size() > 0) {
        minKept = kept.min().toType(DataType.FLOAT64, false).getDouble();
      }
    }
    double fve = fractionOfVarianceExplained(y, rec, n);
    return new Gradients(rec + sparsity + aux, rec, rec / coder.dOut(), fve, l0, sparsity, aux, l1, grads, fired,
        minKept, x, y, rowLoss);
  }

  /**
   * The rows per block of {@link #computeRelu}: about 2M code entries (8 MB in float32) per
   * [rows, d_sae] array, so that a block's pre-activations and code gradient stay in the last-level
   * cache between the element-wise passes and are served from the allocator's free lists instead of
   * fresh (page-faulting, kernel-zeroed) memory mappings, as a whole batch's 64 MB arrays are.
   */
  static int reluBlockRows(int n, int dSae) {
    return Math.max(1, Math.min(n, (1 << 21) / Math.max(1, dSae)));
  }

  /**
   * The dense path specialised to ReLU + L1, with the same loss and gradients (up to float
   * rounding): rows are processed in blocks (every term but Adam's is a sum over rows), each block
   * with two fused bias-matmuls ({@code pre = xc W_enc + b_enc}; {@code dF = G W_dec^T + l1/n}, the
   * L1 term's constant gradient, or for a free decoder {@code l1/n x} each latent's norm sum, as the
   * bias), the gate taken as {@code sign(f)} (0/1 in the code's type, where a boolean mask
   * costs several times more to multiply by and to count with) and applied in place, and the
   * weight gradients summed over blocks. ReLU's full-batch [n, d_sae] arrays are never built.
   */
  Gradients computeRelu(NDArray raw, NDArray target, NDManager m) {
    NDArray wEnc = coder.wEnc();
    NDArray wDec = coder.wDec();
    NDArray bDec = coder.bDec();
    NDArray bEnc = coder.bEnc();
    NDArray wSkip = coder.wSkip();
    DataType dt = wEnc.getDataType();
    int n = (int) raw.getShape().get(0);
    int dSae = coder.dSae();
    boolean free = decoderFree();
    double l1 = l1Coefficient(step);

    NDArray x = coder.scaleInput(raw.toType(dt, false));
    NDArray y = target == null ? x : coder.scaleTarget(target.toType(dt, false));
    NDArray xc = coder.applyBDecToInput() ? x.sub(bDec) : x;
    NDArray[] normsAndDirections = free ? decoderNormsAndDirections(wDec) : null;
    // d(L1)/df: l1/n for every code entry, times the latent's decoder norm sum for a free decoder
    NDArray l1Gradient = free ? normsAndDirections[0].mul(l1 / n) : m.ones(new Shape(dSae), dt).muli(l1 / n);
    NDArray wEncT = wEnc.transpose();

    int block = reluBlockRows > 0 ? reluBlockRows : reluBlockRows(n, dSae);
    NDArray gWEnc = null;
    NDArray gWDec = null;
    NDArray gWSkip = null;
    NDArray gBEnc = null;
    NDArray gBDec = null;
    NDArray fSum = null;
    NDArray firedSum = null;
    NDList rowLosses = new NDList();
    for (int r0 = 0; r0 < n; r0 += block) {
      int r1 = Math.min(n, r0 + block);
      try (NDManager b = m.newSubManager()) {
        NDIndex rows = new NDIndex(r0 + ":" + r1);
        NDArray xcB = block >= n ? xc : xc.get(rows);
        NDArray xB = xc == x ? xcB : block >= n ? x : x.get(rows);
        NDArray yB = y == x ? xB : block >= n ? y : y.get(rows);
        // lent to the block's manager so that the products made from them are freed with the block
        java.util.Set<NDArray> lent = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        lent.addAll(java.util.List.of(xcB, xB, yB));
        b.tempAttachAll(lent.toArray(new NDArray[0]));
        NDArray pre = linear(xcB, wEncT, bEnc);
        NDArray f = pre.getNDArrayInternal().relu();
        pre.close();
        // f >= 0, so its sign is the gate as 0/1 in the code's own type: cheaper to make, to multiply
        // by and to count with than a boolean mask
        NDArray gate = f.sign();
        NDArray e = f.matMul(wDec).addi(bDec);
        if (wSkip != null) {
          e.addi(xB.matMul(wSkip));
        }
        e.subi(yB);
        NDArray rowLoss = e.square().sum(new int[] {1});
        NDArray grad = e.muli(2.0 / n);
        NDArray dPre = linear(grad, wDec, l1Gradient).muli(gate);
        NDArray[] kept = {
          rowLoss,
          gWDec = accumulate(f.transpose().matMul(grad), gWDec),
          gWEnc = accumulate(xcB.transpose().matMul(dPre), gWEnc),
          gWSkip = wSkip == null ? null : accumulate(xB.transpose().matMul(grad), gWSkip),
          gBDec = accumulate(grad.sum(new int[] {0}), gBDec),
          gBEnc = accumulate(columnSums(dPre), gBEnc),
          fSum = accumulate(columnSums(f), fSum),
          firedSum = accumulate(columnSums(gate), firedSum),
        };
        for (NDArray k : kept) {
          if (k != null) {
            k.attach(m);
          }
        }
        rowLosses.add(rowLoss);
      }
    }
    NDArray rowLoss = rowLosses.size() == 1 ? rowLosses.get(0) : NDArrays.concat(rowLosses);
    double rec = rowLoss.sum().toType(DataType.FLOAT64, false).getDouble() / n;
    double sparsity;
    if (free) {
      sparsity = l1 / n * fSum.mul(normsAndDirections[0]).sum().toType(DataType.FLOAT64, false).getDouble();
      gWDec = gWDec.add(normsAndDirections[1].mul(fSum.mul(l1 / n).expandDims(1)));
    } else {
      sparsity = l1 / n * fSum.sum().toType(DataType.FLOAT64, false).getDouble();
    }
    if (coder.applyBDecToInput()) {
      gBDec = gBDec.sub(wEnc.matMul(gBEnc.reshape(dSae, 1)).reshape(coder.dIn()));
    }

    Map<String, NDArray> grads = gradientMap(gWEnc, gBEnc, gWDec, gBDec, null, gWSkip);
    long[] fired = firedCounts(firedSum);
    double fve = fractionOfVarianceExplained(y, rec, n);
    return new Gradients(rec + sparsity, rec, rec / coder.dOut(), fve,
        (double) java.util.Arrays.stream(fired).sum() / n, sparsity, 0, l1, grads, fired, Double.NaN, x, y, rowLoss);
  }

  /** Gradients by tensor name, in the order Adam updates them; theta and W_skip only when given. */
  private static Map<String, NDArray> gradientMap(NDArray gWEnc, NDArray gBEnc, NDArray gWDec, NDArray gBDec,
      NDArray gTheta, NDArray gWSkip) {
    Map<String, NDArray> grads = new LinkedHashMap<>();
    grads.put(SparseCoder.W_ENC, gWEnc);
    grads.put(SparseCoder.B_ENC, gBEnc);
    grads.put(SparseCoder.W_DEC, gWDec);
    grads.put(SparseCoder.B_DEC, gBDec);
    if (gTheta != null) {
      grads.put(SparseCoder.THRESHOLD, gTheta);
    }
    if (gWSkip != null) {
      grads.put(SparseCoder.W_SKIP, gWSkip);
    }
    return grads;
  }

  /** Rows each latent fired on, from its per-latent sum of 0/1 gates (whole numbers below 2^24, exact in float32). */
  private static long[] firedCounts(NDArray perLatentSums) {
    float[] sums = perLatentSums.toType(DataType.FLOAT32, false).toFloatArray();
    long[] fired = new long[sums.length];
    for (int j = 0; j < sums.length; j++) {
      fired[j] = Math.round(sums[j]);
    }
    return fired;
  }

  /** {@code input weight^T + bias} in one fused product (the bias broadcast over rows). */
  private static NDArray linear(NDArray input, NDArray weight, NDArray bias) {
    return input.getNDArrayInternal().linear(input, weight, bias).singletonOrThrow();
  }

  /**
   * Column sums [d] of a block [rows, d] as a product with a row of ones (a matrix-vector product
   * runs at about twice the speed of libtorch's column reduction here).
   */
  private static NDArray columnSums(NDArray a) {
    Shape shape = a.getShape();
    return a.getManager().ones(new Shape(1, shape.get(0)), a.getDataType()).matMul(a).reshape(shape.get(1));
  }

  private static NDArray accumulate(NDArray part, NDArray sum) {
    return sum == null ? part : sum.addi(part);
  }

  /** 1 - (reconstruction error summed over rows) / (the targets' total variance about their mean); 0 for constant targets. */
  private static double fractionOfVarianceExplained(NDArray y, double rec, long n) {
    NDArray centred = y.sub(y.mean(new int[] {0}));
    double total = centred.muli(centred).sum().toType(DataType.FLOAT64, false).getDouble();
    return total > 0 ? 1 - rec * n / total : 0;
  }

  /**
   * Each latent's decoder norm summed over sources [d_sae] (for one source: the row norm), and
   * that sum's gradient with respect to W_dec [d_sae, d_out] (each source's part of a row over
   * its norm).
   */
  private NDArray[] decoderNormsAndDirections(NDArray wDec) {
    int dSae = coder.dSae();
    int sources = coder.sources();
    int dOut = coder.dOut();
    NDArray blocks = wDec.reshape(dSae, sources, dOut / sources);
    NDArray blockNorms = blocks.norm(new int[] {2}, true);
    NDArray norms = blockNorms.sum(new int[] {1}).reshape(dSae);
    NDArray directions = blocks.div(blockNorms.maximum(1e-30)).reshape(dSae, dOut);
    return new NDArray[] {norms, directions};
  }

  /** Pre-activations with every live latent pushed below any dead one (for AuxK's top-k). */
  private static NDArray deadOnly(NDArray pre, int[] dead, NDManager m) {
    float[] deadMask = new float[(int) pre.getShape().get(1)];
    for (int j : dead) {
      deadMask[j] = 1;
    }
    NDArray dm = m.create(deadMask).toType(pre.getDataType(), false);
    return pre.mul(dm).add(dm.sub(1).mul(1e30));
  }

  /**
   * Whether steps take the sparse path ({@link #computeSparse}): float32 TopK codes with at most a
   * quarter of the latents active, where the sparse products beat dense matrix multiplies.
   */
  boolean sparsePathApplies() {
    return coder.activation() instanceof SparseActivation.TopK t && 4L * t.k() <= coder.dSae()
        && coder.wEnc().getDataType() == DataType.FLOAT32;
  }

  /**
   * The same loss and gradients as the dense path for TopK codes, with the code kept as its n x k
   * non-zero entries: only the encoder's forward product is dense; decoding, the decoder gradient,
   * the code gradient (at the active entries only, the others are gated to 0) and the encoder
   * gradient cost n x k x d each instead of n x d_sae x d. AuxK's code is sparse the same way.
   */
  Gradients computeSparse(NDArray raw, NDArray target, NDArray auxTarget, NDManager m) {
    NDArray wEnc = coder.wEnc();
    NDArray wDec = coder.wDec();
    NDArray bDec = coder.bDec();
    NDArray bEnc = coder.bEnc();
    NDArray wSkip = coder.wSkip();
    DataType dt = wEnc.getDataType();
    int n = (int) raw.getShape().get(0);
    int dSae = coder.dSae();
    int dIn = coder.dIn();
    int dOut = coder.dOut();
    int k = ((SparseActivation.TopK) coder.activation()).k();

    NDArray x = coder.scaleInput(raw.toType(dt, false));
    NDArray y = target == null ? x : coder.scaleTarget(target.toType(dt, false));
    NDArray xc = coder.applyBDecToInput() ? x.sub(bDec) : x;
    NDArray pre = xc.matMul(wEnc).add(bEnc);
    SparseRows f = SparseRows.topK(pre, k);
    NDArray yhat = f.times(wDec, m).add(bDec);
    if (wSkip != null) {
      yhat = yhat.add(x.matMul(wSkip));
    }
    NDArray e = yhat.sub(y);
    NDArray rowLoss = e.square().sum(new int[] {1});
    double rec = rowLoss.sum().toType(DataType.FLOAT64, false).getDouble() / n;

    NDArray grad = e.mul(2.0 / n);
    NDArray gWDec = f.transposeTimes(grad, m);
    float[] wDecValues = wDec.toFloatArray();
    // the gate is 1 exactly at the kept entries, so dL/dpre is (G W_dec^T) there and 0 elsewhere
    SparseRows dPre = f.withValues(f.rowDots(grad.toFloatArray(), wDecValues, dOut));

    double aux = 0;
    if (config.auxKCoefficient() > 0) {
      int[] dead = tracker.dead();
      if (dead.length > 0) {
        int kAux = Math.min(config.kAux(), dead.length);
        SparseRows a = SparseRows.topK(deadOnly(pre, dead, m), kAux);
        NDArray r = auxTarget != null ? auxTarget : e.neg();
        NDArray ehat = a.times(wDec, m);
        double denom = r.sub(r.mean(new int[] {0})).square().sum().toType(DataType.FLOAT64, false).getDouble();
        if (denom > 0) {
          NDArray diff = ehat.sub(r);
          aux = config.auxKCoefficient() * diff.square().sum().toType(DataType.FLOAT64, false).getDouble() / denom;
          NDArray gAux = diff.mul(2 * config.auxKCoefficient() / denom);
          gWDec = gWDec.add(a.transposeTimes(gAux, m));
          dPre = dPre.plus(a.withValues(a.rowDots(gAux.toFloatArray(), wDecValues, dOut)));
        }
      }
    }

    NDArray gWEnc = dPre.transposeTimes(xc, m).transpose();
    NDArray gBEnc = m.create(dPre.columnSums()).toType(dt, false);
    NDArray gBDec = grad.sum(new int[] {0});
    if (coder.applyBDecToInput()) {
      gBDec = gBDec.sub(wEnc.matMul(gBEnc.reshape(dSae, 1)).reshape(dIn));
    }

    Map<String, NDArray> grads = new LinkedHashMap<>();
    grads.put(SparseCoder.W_ENC, gWEnc);
    grads.put(SparseCoder.B_ENC, gBEnc);
    grads.put(SparseCoder.W_DEC, gWDec);
    grads.put(SparseCoder.B_DEC, gBDec);
    if (wSkip != null) {
      grads.put(SparseCoder.W_SKIP, x.transpose().matMul(grad));
    }
    long[] fired = f.columnCounts();
    double l0 = (double) f.nnz() / n;
    double fve = fractionOfVarianceExplained(y, rec, n);
    return new Gradients(rec + aux, rec, rec / dOut, fve, l0, 0, aux, 0, grads, fired, Double.NaN, x, y, rowLoss);
  }

  private void applyAdam(Gradients g, double lr, NDManager m) {
    long t = step + 1;
    double b1 = config.adamBeta1();
    double b2 = config.adamBeta2();
    double c1 = 1 - Math.pow(b1, t);
    double c2 = 1 - Math.pow(b2, t);
    boolean unitNorm = !decoderFree();
    for (Map.Entry<String, NDArray> entry : g.gradients.entrySet()) {
      String name = entry.getKey();
      NDArray grad = entry.getValue();
      NDArray param = coder.tensor(name);
      // The gradients are this step's temporaries, so they are updated in place; the arithmetic
      // (and so every rounding) is that of m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
      // update = lr (m / c1) / (sqrt(v / c2) + eps), with four temporaries instead of nine (in-place
      // pow(v / c2, 0.5) would save one more but does not round as sqrt does in libtorch 2.7).
      if (unitNorm && name.equals(SparseCoder.W_DEC)) {
        // Only the component that changes a row's direction survives the renormalisation below;
        // removing the radial part keeps Adam's moments about the part that matters.
        grad.subi(param.mul(grad.mul(param).sum(new int[] {1}, true)));
      }
      NDArray mom = adamM.get(name);
      NDArray vel = adamV.get(name);
      NDArray scaledSquare = grad.square().muli(1 - b2);
      mom.muli(b1).addi(grad.muli(1 - b1));
      vel.muli(b2).addi(scaledSquare);
      NDArray denominator = vel.div(c2).sqrt().addi(config.adamEpsilon());
      NDArray update = mom.div(c1).divi(denominator).muli(lr);
      if (name.equals(SparseCoder.THRESHOLD)) {
        param.muli(update.negi().exp());
      } else {
        param.subi(update);
      }
    }
    if (unitNorm) {
      NDArray wDec = coder.wDec();
      NDArray norms = wDec.norm(new int[] {1}, true).maximum(1e-12);
      wDec.divi(norms);
    }
  }

  /**
   * Resamples the latents that are dead now (Bricken et al. 2023, "Towards Monosemanticity"): each
   * gets the direction of an input drawn with probability proportional to its squared loss as its
   * decoder row, that direction times {@code resampleEncoderScale} x the mean alive encoder norm as
   * its encoder column, encoder bias 0 and fresh Adam moments. A transcoder's decoder row takes
   * the drawn row's target direction and its encoder column the input direction.
   *
   * @param inputs normalised inputs [n, d_in] to draw from
   * @param targets normalised targets [n, d_out] (the inputs for autoencoders)
   * @param rowLoss each row's reconstruction loss [n]
   * @return how many latents were resampled
   */
  int resample(NDArray inputs, NDArray targets, NDArray rowLoss) {
    int[] dead = tracker.dead();
    if (dead.length == 0) {
      return 0;
    }
    int dIn = coder.dIn();
    int dOut = coder.dOut();
    int dSae = coder.dSae();
    // seeded by step so a resumed run draws what the uninterrupted one would have
    Random random = new Random(config.seed() * 1_000_003L + step);
    float[] x = inputs.toType(DataType.FLOAT32, false).toFloatArray();
    float[] y = targets == inputs ? x : targets.toType(DataType.FLOAT32, false).toFloatArray();
    float[] loss = rowLoss.toType(DataType.FLOAT32, false).toFloatArray();
    int n = loss.length;
    double[] cumulative = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += (double) loss[i] * loss[i];
      cumulative[i] = sum;
    }
    float[] wEnc = coder.weights(SparseCoder.W_ENC);
    float[] wDec = coder.weights(SparseCoder.W_DEC);
    float[] bEnc = coder.weights(SparseCoder.B_ENC);
    boolean[] isDead = new boolean[dSae];
    for (int j : dead) {
      isDead[j] = true;
    }
    double aliveNorm = 0;
    int alive = 0;
    for (int j = 0; j < dSae; j++) {
      if (!isDead[j]) {
        double s = 0;
        for (int i = 0; i < dIn; i++) {
          s += (double) wEnc[i * dSae + j] * wEnc[i * dSae + j];
        }
        aliveNorm += Math.sqrt(s);
        alive++;
      }
    }
    aliveNorm = alive > 0 ? aliveNorm / alive : 1;
    double encNorm = config.resampleEncoderScale() * aliveNorm;
    Map<String, float[]> m = new LinkedHashMap<>();
    Map<String, float[]> v = new LinkedHashMap<>();
    for (String name : adamM.keySet()) {
      m.put(name, adamM.get(name).toType(DataType.FLOAT32, false).toFloatArray());
      v.put(name, adamV.get(name).toType(DataType.FLOAT32, false).toFloatArray());
    }
    for (int j : dead) {
      int row = pick(random, cumulative, sum, n);
      double xNorm = norm(x, row * dIn, dIn);
      double yNorm = norm(y, row * dOut, dOut);
      for (int i = 0; i < dOut; i++) {
        wDec[j * dOut + i] = yNorm > 0 ? (float) (y[row * dOut + i] / yNorm) : (float) (random.nextGaussian() / Math.sqrt(dOut));
        zero(m, v, SparseCoder.W_DEC, j * dOut + i);
      }
      for (int i = 0; i < dIn; i++) {
        float dir = xNorm > 0 ? (float) (x[row * dIn + i] / xNorm) : (float) (random.nextGaussian() / Math.sqrt(dIn));
        wEnc[i * dSae + j] = (float) (dir * encNorm);
        zero(m, v, SparseCoder.W_ENC, i * dSae + j);
      }
      bEnc[j] = 0;
      zero(m, v, SparseCoder.B_ENC, j);
      if (m.containsKey(SparseCoder.THRESHOLD)) {
        zero(m, v, SparseCoder.THRESHOLD, j);
      }
      tracker.revive(j);
    }
    coder.wEnc().set(wEnc);
    coder.wDec().set(wDec);
    coder.bEnc().set(bEnc);
    for (String name : adamM.keySet()) {
      adamM.get(name).set(m.get(name));
      adamV.get(name).set(v.get(name));
    }
    return dead.length;
  }

  private static double norm(float[] v, int from, int n) {
    double sq = 0;
    for (int i = from; i < from + n; i++) {
      sq += (double) v[i] * v[i];
    }
    return Math.sqrt(sq);
  }

  private static void zero(Map<String, float[]> m, Map<String, float[]> v, String name, int index) {
    m.get(name)[index] = 0;
    v.get(name)[index] = 0;
  }

  private static int pick(Random random, double[] cumulative, double sum, int n) {
    if (!(sum > 0)) {
      return random.nextInt(n);
    }
    double u = random.nextDouble() * sum;
    int i = java.util.Arrays.binarySearch(cumulative, u);
    i = i >= 0 ? i : -i - 1;
    return Math.min(i, n - 1);
  }

  /** Frees the optimiser state (the coder stays open). */
  @Override
  public void close() {
    stateManager.close();
  }

  /**
   * A loss and its gradient per trained tensor (SAELens names; for JumpReLU the threshold's entry
   * is the gradient with respect to log(threshold)), with what the step measured. Arrays belong to
   * the manager passed in.
   */
  public static final class Gradients {
    private final double loss;
    private final double reconstruction;
    private final double mse;
    private final double fve;
    private final double l0;
    private final double sparsityLoss;
    private final double auxLoss;
    private final double l1;
    private final Map<String, NDArray> gradients;
    private final long[] firedCounts;
    private final double minKept;
    private final NDArray xNormalized;
    private final NDArray yNormalized;
    private final NDArray rowLoss;

    Gradients(double loss, double reconstruction, double mse, double fve, double l0, double sparsityLoss,
        double auxLoss, double l1, Map<String, NDArray> gradients, long[] firedCounts, double minKept,
        NDArray xNormalized, NDArray yNormalized, NDArray rowLoss) {
      this.loss = loss;
      this.reconstruction = reconstruction;
      this.mse = mse;
      this.fve = fve;
      this.l0 = l0;
      this.sparsityLoss = sparsityLoss;
      this.auxLoss = auxLoss;
      this.l1 = l1;
      this.gradients = gradients;
      this.firedCounts = firedCounts;
      this.minKept = minKept;
      this.xNormalized = xNormalized;
      this.yNormalized = yNormalized;
      this.rowLoss = rowLoss;
    }

    /** Total loss: reconstruction + sparsity + auxiliary. */
    public double loss() {
      return loss;
    }

    /** Sum of squared errors over d_in, mean over rows. */
    public double reconstruction() {
      return reconstruction;
    }

    public double mse() {
      return mse;
    }

    public double fve() {
      return fve;
    }

    public double l0() {
      return l0;
    }

    public double sparsityLoss() {
      return sparsityLoss;
    }

    public double auxLoss() {
      return auxLoss;
    }

    /** The L1 coefficient used (0 unless ReLU). */
    public double l1Coefficient() {
      return l1;
    }

    /** Gradient per trained tensor name. */
    public Map<String, NDArray> gradients() {
      return java.util.Collections.unmodifiableMap(gradients);
    }

    /** Rows on which each latent fired. */
    public long[] firedCounts() {
      return firedCounts.clone();
    }
  }
}
