package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
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
    return coder.activation() instanceof SparseActivation.JumpRelu
        ? java.util.List.of(SparseCoder.W_ENC, SparseCoder.B_ENC, SparseCoder.W_DEC, SparseCoder.B_DEC, SparseCoder.THRESHOLD)
        : java.util.List.of(SparseCoder.W_ENC, SparseCoder.B_ENC, SparseCoder.W_DEC, SparseCoder.B_DEC);
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
    if (rows < 1 || batch.length != (long) rows * coder.dIn()) {
      throw new IllegalArgumentException("batch has " + batch.length + " values; expected rows (" + rows
          + ") x d_in (" + coder.dIn() + ")");
    }
    try (NDManager m = coder.manager().newSubManager()) {
      return step(m.create(batch, new Shape(rows, coder.dIn())));
    }
  }

  /**
   * One optimisation step on raw inputs [n, d_in]. Rows holding NaN or infinity are dropped and
   * counted, never trained on; a batch with no finite row takes no step (its metrics show 0 rows).
   *
   * @throws IllegalArgumentException when the batch's width is not the coder's d_in
   */
  public StepMetrics step(NDArray batch) {
    Shape shape = batch.getShape();
    if (shape.dimension() != 2 || shape.get(1) != coder.dIn()) {
      throw new IllegalArgumentException("batch must have shape [n, d_in = " + coder.dIn() + "], got " + shape);
    }
    try (NDManager m = coder.manager().newSubManager()) {
      attachWorkingSet(m, batch, true);
      NDArray x = SparseMetrics.dropNonFiniteRows(batch);
      int total = (int) shape.get(0);
      int good = (int) x.getShape().get(0);
      int skipped = total - good;
      skippedRows += skipped;
      if (good == 0) {
        return new StepMetrics(step, 0, skipped, 0, 0, 0, 0, 0, 0, 0, 0, tracker.deadFraction(), 0);
      }
      Gradients g = compute(x, null, m);
      double lr = learningRate(step);
      applyAdam(g, lr, m);
      long[] fired = g.firedCounts;
      tracker.update(fired, good);
      if (coder.activation() instanceof SparseActivation.BatchTopK && !Double.isNaN(g.minKept)) {
        batchTopKThreshold = Double.isNaN(batchTopKThreshold) ? g.minKept
            : config.thresholdMomentum() * batchTopKThreshold + (1 - config.thresholdMomentum()) * g.minKept;
        coder.threshold().set(new NDIndex(":"), (float) batchTopKThreshold);
      }
      step++;
      tokens += good;
      int resampled = 0;
      if (config.resampleEverySteps() > 0 && step % config.resampleEverySteps() == 0) {
        resampled = resample(g.xNormalized, g.rowLoss);
      }
      return new StepMetrics(step, good, skipped, g.loss, g.mse, g.fve, g.l0,
          g.sparsityLoss, g.auxLoss, lr, g.l1, tracker.deadFraction(), resampled);
    }
  }

  /**
   * The loss on raw inputs [n, d_in] (all rows finite) and its gradient for every trained tensor, at
   * the current step's L1 coefficient and dead set; nothing is updated. For gradient checks and for
   * plugins that combine coders (a crosscoder sums several).
   */
  public Gradients gradients(NDArray batch, NDManager manager) {
    return gradients(batch, null, manager);
  }

  Gradients gradients(NDArray batch, NDArray auxTarget, NDManager manager) {
    try (NDManager m = manager.newSubManager()) {
      attachWorkingSet(m, batch, false);
      if (auxTarget != null) {
        m.tempAttachAll(auxTarget);
      }
      Gradients g = compute(batch, auxTarget, m);
      g.gradients.values().forEach(a -> a.attach(manager));
      g.xNormalized.attach(manager);
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
   * @param auxTarget when non-null, the AuxK target residual (normally {@code x - x_hat}, held
   *     constant); tests pin it to check the AuxK gradient by finite differences
   */
  Gradients compute(NDArray raw, NDArray auxTarget, NDManager m) {
    if (sparseCodes && sparsePathApplies()) {
      return computeSparse(raw, auxTarget, m);
    }
    NDArray wEnc = coder.wEnc();
    NDArray wDec = coder.wDec();
    NDArray bDec = coder.bDec();
    NDArray bEnc = coder.bEnc();
    NDArray theta = coder.threshold();
    DataType dt = wEnc.getDataType();
    long n = raw.getShape().get(0);
    int dSae = coder.dSae();
    SparseActivation act = coder.activation();

    NDArray x = raw.toType(dt, true).mul(coder.inputScale());
    NDArray xc = coder.applyBDecToInput() ? x.sub(bDec) : x;
    NDArray pre = xc.matMul(wEnc).add(bEnc);
    NDList codes = act.train(pre, theta);
    NDArray f = codes.get(0);
    NDArray gate = codes.get(1);
    NDArray xhat = f.matMul(wDec).add(bDec);
    NDArray e = xhat.sub(x);
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
      if (config.decoderNormWeightedL1()) {
        NDArray norms = wDec.norm(new int[] {1});
        NDArray fSum = f.sum(new int[] {0});
        sparsity = l1 / n * fSum.mul(norms).sum().toType(DataType.FLOAT64, false).getDouble();
        dF = dF.add(norms.mul(l1 / n));
        gWDec = gWDec.add(wDec.mul(fSum.div(norms.maximum(1e-30)).mul(l1 / n).expandDims(1)));
      } else {
        sparsity = l1 / n * f.sum().toType(DataType.FLOAT64, false).getDouble();
        dF = dF.add(l1 / n);
      }
    } else if (act instanceof SparseActivation.JumpRelu) {
      double eps = config.jumpReluBandwidth();
      double target = config.targetL0();
      NDArray kernel = pre.sub(theta).abs().lt(eps / 2).toType(dt, false);
      double l0 = gate.sum().toType(DataType.FLOAT64, false).getDouble() / n;
      double dev = l0 / target - 1;
      sparsity = config.l0Coefficient() * dev * dev;
      // d f / d theta := -(theta / eps) K((pre - theta) / eps); d H / d theta := -(1 / eps) K(...)
      NDArray dThetaRec = dF.mul(kernel).sum(new int[] {0}).mul(theta).mul(-1.0 / eps);
      double spScale = config.l0Coefficient() * 2 * dev / target / n * (-1.0 / eps);
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
        float[] deadMask = new float[dSae];
        for (int j : dead) {
          deadMask[j] = 1;
        }
        NDArray dm = m.create(deadMask).toType(dt, false);
        // dead latents keep their pre-activation; live ones are pushed below any dead value
        NDArray masked = pre.mul(dm).add(dm.sub(1).mul(1e30));
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

    Map<String, NDArray> grads = new LinkedHashMap<>();
    grads.put(SparseCoder.W_ENC, gWEnc);
    grads.put(SparseCoder.B_ENC, gBEnc);
    grads.put(SparseCoder.W_DEC, gWDec);
    grads.put(SparseCoder.B_DEC, gBDec);
    if (gTheta != null) {
      grads.put(SparseCoder.THRESHOLD, gTheta);
    }

    // every activation's gate is 1 exactly where the code is non-zero, so it counts firings too
    float[] firedPerLatent = gate.sum(new int[] {0}).toType(DataType.FLOAT32, false).toFloatArray();
    long[] fired = new long[dSae];
    long firedTotal = 0;
    for (int j = 0; j < dSae; j++) {
      fired[j] = Math.round(firedPerLatent[j]);
      firedTotal += fired[j];
    }
    double l0 = (double) firedTotal / n;
    double minKept = Double.NaN;
    if (act instanceof SparseActivation.BatchTopK) {
      NDArray kept = f.booleanMask(f.gt(0));
      if (kept.size() > 0) {
        minKept = kept.min().toType(DataType.FLOAT64, false).getDouble();
      }
    }
    double total = x.sub(x.mean(new int[] {0})).square().sum().toType(DataType.FLOAT64, false).getDouble();
    double fve = total > 0 ? 1 - rec * n / total : 0;
    return new Gradients(rec + sparsity + aux, rec, rec / coder.dIn(), fve, l0, sparsity, aux, l1, grads, fired,
        minKept, x, rowLoss);
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
   * gradient cost n x k x d_in each instead of n x d_sae x d_in. AuxK's code is sparse the same way.
   */
  Gradients computeSparse(NDArray raw, NDArray auxTarget, NDManager m) {
    NDArray wEnc = coder.wEnc();
    NDArray wDec = coder.wDec();
    NDArray bDec = coder.bDec();
    NDArray bEnc = coder.bEnc();
    DataType dt = wEnc.getDataType();
    int n = (int) raw.getShape().get(0);
    int dSae = coder.dSae();
    int dIn = coder.dIn();
    int k = ((SparseActivation.TopK) coder.activation()).k();

    NDArray x = raw.toType(dt, true).mul(coder.inputScale());
    NDArray xc = coder.applyBDecToInput() ? x.sub(bDec) : x;
    NDArray pre = xc.matMul(wEnc).add(bEnc);
    SparseRows f = SparseRows.topK(pre, k);
    NDArray xhat = f.times(wDec, m).add(bDec);
    NDArray e = xhat.sub(x);
    NDArray rowLoss = e.square().sum(new int[] {1});
    double rec = rowLoss.sum().toType(DataType.FLOAT64, false).getDouble() / n;

    NDArray grad = e.mul(2.0 / n);
    NDArray gWDec = f.transposeTimes(grad, m);
    float[] wDecValues = wDec.toFloatArray();
    // the gate is 1 exactly at the kept entries, so dL/dpre is (G W_dec^T) there and 0 elsewhere
    SparseRows dPre = f.withValues(f.rowDots(grad.toFloatArray(), wDecValues, dIn));

    double aux = 0;
    if (config.auxKCoefficient() > 0) {
      int[] dead = tracker.dead();
      if (dead.length > 0) {
        int kAux = Math.min(config.kAux(), dead.length);
        float[] deadMask = new float[dSae];
        for (int j : dead) {
          deadMask[j] = 1;
        }
        NDArray dm = m.create(deadMask).toType(dt, false);
        NDArray masked = pre.mul(dm).add(dm.sub(1).mul(1e30));
        SparseRows a = SparseRows.topK(masked, kAux);
        NDArray r = auxTarget != null ? auxTarget : e.neg();
        NDArray ehat = a.times(wDec, m);
        double denom = r.sub(r.mean(new int[] {0})).square().sum().toType(DataType.FLOAT64, false).getDouble();
        if (denom > 0) {
          NDArray diff = ehat.sub(r);
          aux = config.auxKCoefficient() * diff.square().sum().toType(DataType.FLOAT64, false).getDouble() / denom;
          NDArray gAux = diff.mul(2 * config.auxKCoefficient() / denom);
          gWDec = gWDec.add(a.transposeTimes(gAux, m));
          dPre = dPre.plus(a.withValues(a.rowDots(gAux.toFloatArray(), wDecValues, dIn)));
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
    long[] fired = f.columnCounts();
    double l0 = (double) f.nnz() / n;
    double total = x.sub(x.mean(new int[] {0})).square().sum().toType(DataType.FLOAT64, false).getDouble();
    double fve = total > 0 ? 1 - rec * n / total : 0;
    return new Gradients(rec + aux, rec, rec / dIn, fve, l0, 0, aux, 0, grads, fired, Double.NaN, x, rowLoss);
  }

  private void applyAdam(Gradients g, double lr, NDManager m) {
    long t = step + 1;
    double b1 = config.adamBeta1();
    double b2 = config.adamBeta2();
    double c1 = 1 - Math.pow(b1, t);
    double c2 = 1 - Math.pow(b2, t);
    boolean unitNorm = !config.decoderNormWeightedL1();
    for (Map.Entry<String, NDArray> entry : g.gradients.entrySet()) {
      String name = entry.getKey();
      NDArray grad = entry.getValue();
      NDArray param = coder.tensor(name);
      if (unitNorm && name.equals(SparseCoder.W_DEC)) {
        // Only the component that changes a row's direction survives the renormalisation below;
        // removing the radial part keeps Adam's moments about the part that matters.
        grad = grad.sub(param.mul(grad.mul(param).sum(new int[] {1}, true)));
      }
      NDArray mom = adamM.get(name);
      NDArray vel = adamV.get(name);
      mom.muli(b1).addi(grad.mul(1 - b1));
      vel.muli(b2).addi(grad.square().mul(1 - b2));
      NDArray update = mom.div(c1).div(vel.div(c2).sqrt().add(config.adamEpsilon())).mul(lr);
      if (name.equals(SparseCoder.THRESHOLD)) {
        param.muli(update.neg().exp());
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
   * its encoder column, encoder bias 0 and fresh Adam moments.
   *
   * @param inputs normalised inputs [n, d_in] to draw from
   * @param rowLoss each row's reconstruction loss [n]
   * @return how many latents were resampled
   */
  int resample(NDArray inputs, NDArray rowLoss) {
    int[] dead = tracker.dead();
    if (dead.length == 0) {
      return 0;
    }
    int dIn = coder.dIn();
    int dSae = coder.dSae();
    // seeded by step so a resumed run draws what the uninterrupted one would have
    Random random = new Random(config.seed() * 1_000_003L + step);
    float[] x = inputs.toType(DataType.FLOAT32, false).toFloatArray();
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
      double norm = 0;
      for (int i = 0; i < dIn; i++) {
        norm += (double) x[row * dIn + i] * x[row * dIn + i];
      }
      norm = Math.sqrt(norm);
      for (int i = 0; i < dIn; i++) {
        float dir = norm > 0 ? (float) (x[row * dIn + i] / norm) : (float) (random.nextGaussian() / Math.sqrt(dIn));
        wDec[j * dIn + i] = dir;
        wEnc[i * dSae + j] = (float) (dir * encNorm);
        zero(m, v, SparseCoder.W_DEC, j * dIn + i);
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
    private final NDArray rowLoss;

    Gradients(double loss, double reconstruction, double mse, double fve, double l0, double sparsityLoss,
        double auxLoss, double l1, Map<String, NDArray> gradients, long[] firedCounts, double minKept,
        NDArray xNormalized, NDArray rowLoss) {
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
