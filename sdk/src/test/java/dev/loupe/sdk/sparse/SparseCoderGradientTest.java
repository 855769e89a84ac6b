package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The hand-derived gradients agree with central finite differences of the loss, in float64 on
 * tiny coders, for every activation's objective.
 */
class SparseCoderGradientTest {
  private static final int D_IN = 6;
  private static final int D_SAE = 10;
  private static final int ROWS = 7;
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  /** A float64 coder with non-trivial biases and scale, on inputs with some structure. */
  private static SparseCoder coder(SparseActivation act, long seed) {
    try (SparseCoder f32 = SparseCoder.initialize(manager, D_IN, D_SAE, act, 1.0, 0.3, seed)) {
      f32.bEnc().set(randoms(D_SAE, seed + 1, 0.2f));
      f32.bDec().set(randoms(D_IN, seed + 2, 0.3f));
      f32.setInputScale(1.3f);
      return f32.withDataType(DataType.FLOAT64);
    }
  }

  private static float[] randoms(int n, long seed, float scale) {
    java.util.Random r = new java.util.Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * scale);
    }
    return v;
  }

  private static NDArray batch(long seed) {
    return manager.create(randoms(ROWS * D_IN, seed, 1f), new Shape(ROWS, D_IN)).toType(DataType.FLOAT64, false);
  }

  /** Compares every gradient entry with (L(p + h) - L(p - h)) / 2h; the threshold is perturbed in log space. */
  private static void assertMatchesFiniteDifferences(SparseCoderTrainer trainer, ToDoubleFunction<SparseCoderTrainer> loss,
      Map<String, NDArray> analytic, String... names) {
    double h = 1e-6;
    for (String name : names) {
      NDArray param = trainer.coder().tensor(name);
      double[] base = param.toDoubleArray();
      double[] grad = analytic.get(name).toDoubleArray();
      for (int i = 0; i < base.length; i++) {
        double[] p = base.clone();
        boolean log = name.equals(SparseCoder.THRESHOLD);
        p[i] = log ? base[i] * Math.exp(h) : base[i] + h;
        param.set(p);
        double up = loss.applyAsDouble(trainer);
        p[i] = log ? base[i] * Math.exp(-h) : base[i] - h;
        param.set(p);
        double down = loss.applyAsDouble(trainer);
        param.set(base);
        double numeric = (up - down) / (2 * h);
        assertThat(grad[i]).as("d loss / d %s[%d]", name, i)
            .isCloseTo(numeric, org.assertj.core.data.Offset.offset(1e-6 + 1e-5 * Math.abs(numeric)));
      }
    }
  }

  private static double loss(SparseCoderTrainer t, NDArray x) {
    try (NDManager m = manager.newSubManager()) {
      return t.gradients(x, m).loss();
    }
  }

  private static final String[] ALL = {SparseCoder.W_ENC, SparseCoder.B_ENC, SparseCoder.W_DEC, SparseCoder.B_DEC};

  @Test
  void reluWithL1() {
    SparseCoder coder = coder(new SparseActivation.Relu(), 1);
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.7).build());
    NDArray x = batch(10);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, m);
      assertThat(g.sparsityLoss()).isPositive();
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x), g.gradients(), ALL);
    }
  }

  @Test
  void reluWithDecoderNormWeightedL1() {
    SparseCoder coder = coder(new SparseActivation.Relu(), 2);
    // rows of different norms, as the April 2024 variant lets them drift
    NDArray wDec = coder.wDec();
    wDec.muli(manager.create(new double[] {0.5, 1, 1.5, 2, 0.7, 1.2, 0.9, 1.1, 0.3, 1.8}).reshape(D_SAE, 1));
    SparseCoderTrainer t = new SparseCoderTrainer(coder,
        TrainerConfig.builder().l1Coefficient(0.4).decoderNormWeightedL1(true).build());
    NDArray x = batch(11);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, m);
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x), g.gradients(), ALL);
    }
  }

  @Test
  void reluInRowBlocks() {
    // the blocked ReLU path summed over uneven row blocks (3 + 3 + 1 rows)
    SparseCoder coder = coder(new SparseActivation.Relu(), 1);
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.7).build());
    t.reluBlockRows = 3;
    NDArray x = batch(10);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, m);
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x), g.gradients(), ALL);
    }
  }

  @Test
  void reluTranscoderWithSkipConnection() {
    int dOut = 4;
    SparseCoder coder;
    try (SparseCoder f32 = SparseCoder.initialize(manager, SparseCoder.Layout.transcoder(D_IN, dOut, D_SAE, true),
        new SparseActivation.Relu(), 1.0, 0, 7)) {
      f32.bEnc().set(randoms(D_SAE, 8, 0.2f));
      f32.bDec().set(randoms(dOut, 9, 0.3f));
      f32.wSkip().set(randoms(D_IN * dOut, 10, 0.1f));
      f32.setInputScale(1.3f);
      f32.setOutputScale(0.8f);
      coder = f32.withDataType(DataType.FLOAT64);
    }
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.5).build());
    t.reluBlockRows = 4;
    NDArray x = batch(14);
    NDArray y = manager.create(randoms(ROWS * dOut, 15, 1f), new Shape(ROWS, dOut)).toType(DataType.FLOAT64, false);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, y, m);
      assertThat(g.gradients()).containsKey(SparseCoder.W_SKIP);
      assertMatchesFiniteDifferences(t, tr -> {
        try (NDManager mm = manager.newSubManager()) {
          return tr.gradients(x, y, mm).loss();
        }
      }, g.gradients(), SparseCoder.W_ENC, SparseCoder.B_ENC, SparseCoder.W_DEC, SparseCoder.B_DEC,
          SparseCoder.W_SKIP);
    }
  }

  @Test
  void reluCrosscoderWithSourceNormWeightedL1() {
    // 2 sources of 3 dimensions; the free decoder's L1 weights each latent by its summed source norms
    SparseCoder coder;
    try (SparseCoder f32 = SparseCoder.initialize(manager, SparseCoder.Layout.crosscoder(3, 2, D_SAE),
        new SparseActivation.Relu(), 0.7, 0, 16)) {
      f32.bEnc().set(randoms(D_SAE, 17, 0.2f));
      f32.bDec().set(randoms(D_IN, 18, 0.3f));
      f32.setInputScales(1.3f, 0.6f);
      coder = f32.withDataType(DataType.FLOAT64);
    }
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.4).build());
    t.reluBlockRows = 5;
    NDArray x = batch(19);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, m);
      assertThat(g.sparsityLoss()).isPositive();
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x), g.gradients(), ALL);
    }
  }

  @Test
  void topKWithAuxKOnDeadLatents() {
    SparseCoder coder = coder(new SparseActivation.TopK(3), 3);
    SparseCoderTrainer t = new SparseCoderTrainer(coder,
        TrainerConfig.builder().auxKCoefficient(0.5).kAux(2).deadTokenWindow(1).build());
    // latents 0, 4, 7 and 9 have not fired in the window: AuxK reconstructs the residual with them
    long[] fired = {0, 1, 1, 1, 0, 1, 1, 0, 1, 0};
    t.deadLatents().update(fired, 1);
    NDArray x = batch(12);
    NDArray residual;
    try (NDManager m = manager.newSubManager()) {
      // the AuxK target x - x_hat is a constant (stop-gradient) in Gao et al.; pin it for the check
      m.tempAttachAll(x);
      NDArray recon = coder.forward(x).get(1);
      residual = x.sub(recon).mul(coder.inputScale());
      residual.attach(manager);
    }
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, null, residual, m);
      assertThat(g.auxLoss()).isPositive();
      assertMatchesFiniteDifferences(t, tr -> {
        try (NDManager mm = manager.newSubManager()) {
          return tr.gradients(x, null, residual, mm).loss();
        }
      }, g.gradients(), ALL);
    }
  }

  @Test
  void batchTopK() {
    SparseCoder coder = coder(new SparseActivation.BatchTopK(2), 4);
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().auxKCoefficient(0).build());
    NDArray x = batch(13);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, m);
      assertThat(g.l0()).isEqualTo(2.0);
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x), g.gradients(), ALL);
    }
  }

  @Test
  void jumpReluWeightsAwayFromThresholds() {
    SparseCoder coder = coder(new SparseActivation.JumpRelu(), 5);
    SparseCoderTrainer t = new SparseCoderTrainer(coder,
        TrainerConfig.builder().targetL0(2).l0Coefficient(0.8).jumpReluBandwidth(0.05).build());
    NDArray x = batch(14);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, m);
      assertThat(g.sparsityLoss()).isPositive();
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x), g.gradients(), ALL);
    }
  }

  /**
   * The straight-through threshold gradient of the L0 penalty {@code lambda (L0/T - 1)^2} is the
   * chain rule with the true (step-function) L0 outside and, inside, the exact derivative of L0
   * with H(z - theta) replaced by a ramp of width epsilon (the integral of the rectangle kernel):
   * checked against finite differences of that ramp L0.
   */
  @Test
  void jumpReluThresholdGradientOfL0PenaltyIsTheRampSmoothedDerivative() {
    double eps = 0.4;
    double target = 3;
    double lambda = 0.8;
    SparseCoder coder = coder(new SparseActivation.JumpRelu(), 6);
    NDArray x = batch(15);
    TrainerConfig.Builder b = TrainerConfig.builder().targetL0(target).jumpReluBandwidth(eps);
    SparseCoderTrainer with = new SparseCoderTrainer(coder, b.l0Coefficient(lambda).build());
    SparseCoderTrainer without = new SparseCoderTrainer(coder, b.l0Coefficient(0).build());
    try (NDManager m = manager.newSubManager()) {
      double[] gWith = with.gradients(x, m).gradients().get(SparseCoder.THRESHOLD).toDoubleArray();
      double[] gWithout = without.gradients(x, m).gradients().get(SparseCoder.THRESHOLD).toDoubleArray();
      m.tempAttachAll(x);
      double[] pre = coder.preActivations(x).toDoubleArray();
      double[] theta = coder.threshold().toDoubleArray();
      double h = 1e-6;
      int penalised = 0;
      for (int j = 0; j < D_SAE; j++) {
        double[] up = theta.clone();
        up[j] = theta[j] * Math.exp(h);
        double[] down = theta.clone();
        down[j] = theta[j] * Math.exp(-h);
        double dRamp = (rampL0(pre, up, eps) - rampL0(pre, down, eps)) / (2 * h);
        double numeric = lambda * 2 * (hardL0(pre, theta) / target - 1) / target * dRamp;
        assertThat(gWith[j] - gWithout[j]).as("L0 penalty d/d log threshold[%d]", j)
            .isCloseTo(numeric, org.assertj.core.data.Offset.offset(1e-6 + 1e-5 * Math.abs(numeric)));
        if (numeric != 0) {
          penalised++;
        }
      }
      assertThat(penalised).as("thresholds with pre-activations inside their kernel").isPositive();
    }
  }

  // ---- transcoders and crosscoders ----

  private static final int D_OUT = 4;
  private static final int D_SOURCE = 3;
  private static final int SOURCES = 3;
  private static final String[] WITH_SKIP = {SparseCoder.W_ENC, SparseCoder.B_ENC, SparseCoder.W_DEC, SparseCoder.B_DEC,
      SparseCoder.W_SKIP};

  /**
   * A float64 transcoder from d_in 6 to d_out 4 with non-trivial biases, input scale 1.3 and
   * output scale 0.7, and with a skip connection a random W_skip.
   */
  private static SparseCoder transcoder(SparseActivation act, boolean skip, long seed) {
    SparseCoder.Layout layout = SparseCoder.Layout.transcoder(D_IN, D_OUT, D_SAE, skip);
    try (SparseCoder f32 = SparseCoder.initialize(manager, layout, act, 1.0, 0.3, seed)) {
      f32.bEnc().set(randoms(D_SAE, seed + 1, 0.2f));
      f32.bDec().set(randoms(D_OUT, seed + 2, 0.3f));
      if (skip) {
        f32.wSkip().set(randoms(D_IN * D_OUT, seed + 3, 0.4f));
      }
      f32.setInputScale(1.3f);
      f32.setOutputScale(0.7f);
      return f32.withDataType(DataType.FLOAT64);
    }
  }

  /**
   * A float64 crosscoder over 3 sources of width 3 whose per-source decoder blocks have different
   * norms (0.3 to 2, as a model diff finds them), with non-trivial biases and input scales 1.3,
   * 0.6 and 2.1.
   */
  private static SparseCoder crosscoder(SparseActivation act, long seed) {
    SparseCoder.Layout layout = SparseCoder.Layout.crosscoder(D_SOURCE, SOURCES, D_SAE);
    try (SparseCoder f32 = SparseCoder.initialize(manager, layout, act, 1.0, 0, seed)) {
      float[] wDec = f32.weights(SparseCoder.W_DEC);
      java.util.Random r = new java.util.Random(seed);
      for (int j = 0; j < D_SAE; j++) {
        for (int b = 0; b < SOURCES; b++) {
          float norm = (float) (0.3 + 1.7 * r.nextDouble());
          for (int i = 0; i < D_SOURCE; i++) {
            wDec[j * D_SOURCE * SOURCES + b * D_SOURCE + i] *= norm;
          }
        }
      }
      f32.wDec().set(wDec);
      f32.bEnc().set(randoms(D_SAE, seed + 1, 0.2f));
      f32.bDec().set(randoms(D_SOURCE * SOURCES, seed + 2, 0.3f));
      f32.setInputScales(1.3f, 0.6f, 2.1f);
      return f32.withDataType(DataType.FLOAT64);
    }
  }

  private static NDArray rows(long seed, int width) {
    return manager.create(randoms(ROWS * width, seed, 1f), new Shape(ROWS, width)).toType(DataType.FLOAT64, false);
  }

  private static double loss(SparseCoderTrainer t, NDArray x, NDArray y) {
    try (NDManager m = manager.newSubManager()) {
      return t.gradients(x, y, m).loss();
    }
  }

  @Test
  void withDataTypeConvertsTheSkipConnectionToo() {
    SparseCoder coder = transcoder(new SparseActivation.Relu(), true, 20);
    assertThat(coder.tensors().values()).allSatisfy(a -> assertThat(a.getDataType()).isEqualTo(DataType.FLOAT64));
    assertThat(coder.wSkip().getShape()).isEqualTo(new Shape(D_IN, D_OUT));
  }

  @Test
  void skipTranscoderWithL1AndBothScales() {
    SparseCoder coder = transcoder(new SparseActivation.Relu(), true, 21);
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.7).build());
    NDArray x = batch(30);
    NDArray y = rows(31, D_OUT);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, y, m);
      assertThat(g.sparsityLoss()).isPositive();
      assertThat(g.gradients()).containsOnlyKeys(WITH_SKIP);
      assertThat(g.gradients().get(SparseCoder.W_SKIP).getShape()).isEqualTo(new Shape(D_IN, D_OUT));
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x, y), g.gradients(), WITH_SKIP);
    }
  }

  @Test
  void skipTranscoderTopKWithAuxKOnTheDensePath() {
    SparseCoder coder = transcoder(new SparseActivation.TopK(3), true, 22);
    SparseCoderTrainer t = new SparseCoderTrainer(coder,
        TrainerConfig.builder().auxKCoefficient(0.5).kAux(2).deadTokenWindow(1).build());
    t.sparseCodes = false;
    t.deadLatents().update(new long[] {0, 1, 1, 1, 0, 1, 1, 0, 1, 0}, 1);
    NDArray x = batch(32);
    NDArray y = rows(33, D_OUT);
    NDArray residual;
    try (NDManager m = manager.newSubManager()) {
      // AuxK's target y - y_hat (normalised units) is a constant; pin it for the check
      m.tempAttachAll(x, y);
      residual = y.sub(coder.forward(x).get(1)).mul(coder.outputScale());
      residual.attach(manager);
    }
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, y, residual, m);
      assertThat(g.auxLoss()).isPositive();
      assertThat(g.l0()).isEqualTo(3.0);
      assertMatchesFiniteDifferences(t, tr -> {
        try (NDManager mm = manager.newSubManager()) {
          return tr.gradients(x, y, residual, mm).loss();
        }
      }, g.gradients(), WITH_SKIP);
    }
  }

  @Test
  void transcoderJumpReluWeightsAwayFromThresholds() {
    SparseCoder coder = transcoder(new SparseActivation.JumpRelu(), false, 23);
    SparseCoderTrainer t = new SparseCoderTrainer(coder,
        TrainerConfig.builder().targetL0(2).l0Coefficient(0.8).jumpReluBandwidth(0.05).build());
    NDArray x = batch(34);
    NDArray y = rows(35, D_OUT);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, y, m);
      assertThat(g.sparsityLoss()).isPositive();
      assertThat(g.gradients()).doesNotContainKey(SparseCoder.W_SKIP).containsKey(SparseCoder.THRESHOLD);
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x, y), g.gradients(), ALL);
    }
  }

  @Test
  void crosscoderL1WeighsEachLatentBySumOfItsPerSourceDecoderNorms() {
    double l1 = 0.6;
    SparseCoder coder = crosscoder(new SparseActivation.Relu(), 24);
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(l1).build());
    NDArray x = rows(36, D_SOURCE * SOURCES);
    try (NDManager m = manager.newSubManager()) {
      double sparsity = t.gradients(x, m).sparsityLoss();
      m.tempAttachAll(x);
      double[] f = coder.encode(x).toDoubleArray();
      float[][] norms = coder.decoderNormsPerSource();
      double expected = 0;
      double rowNormWeighted = 0;
      for (int r = 0; r < ROWS; r++) {
        for (int j = 0; j < D_SAE; j++) {
          double sum = 0;
          double sq = 0;
          for (float n : norms[j]) {
            sum += n;
            sq += (double) n * n;
          }
          expected += f[r * D_SAE + j] * sum;
          rowNormWeighted += f[r * D_SAE + j] * Math.sqrt(sq);
        }
      }
      expected *= l1 / ROWS;
      rowNormWeighted *= l1 / ROWS;
      assertThat(sparsity).isPositive().isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6 * expected));
      // not the norm of the whole concatenated row (which the per-source blocks make smaller)
      assertThat(rowNormWeighted).isLessThan(0.9 * expected);
    }
  }

  @Test
  void crosscoderReluWithSummedNormL1AndPerSourceScales() {
    SparseCoder coder = crosscoder(new SparseActivation.Relu(), 25);
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.6).build());
    NDArray x = rows(37, D_SOURCE * SOURCES);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, m);
      assertThat(g.sparsityLoss()).isPositive();
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x), g.gradients(), ALL);
    }
  }

  /**
   * BatchTopK's selection is piecewise constant in the weights; on a batch whose k n-th and
   * (k n + 1)-th weighted scores are far apart, no 1e-6 nudge changes it, and the gradients are
   * those of the selected code.
   */
  @Test
  void batchTopKCrosscoderWithItsSelectionFixed() {
    int k = 2;
    SparseCoder coder = crosscoder(new SparseActivation.BatchTopK(k), 26);
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().auxKCoefficient(0).build());
    NDArray x = rows(38, D_SOURCE * SOURCES);
    double[] scores = weightedScores(coder, x, true);
    double[] sorted = scores.clone();
    java.util.Arrays.sort(sorted);
    int keep = k * ROWS;
    double kept = sorted[sorted.length - keep];
    double margin = kept - sorted[sorted.length - keep - 1];
    assertThat(margin).as("gap at the selection boundary").isGreaterThan(1e-3);
    // on this batch the norm weighting matters: ranking relu(pre) alone would keep other entries
    double[] relu = weightedScores(coder, x, false);
    double[] reluSorted = relu.clone();
    java.util.Arrays.sort(reluSorted);
    int differ = 0;
    for (int i = 0; i < scores.length; i++) {
      differ += (scores[i] >= kept) != (relu[i] >= reluSorted[relu.length - keep]) ? 1 : 0;
    }
    assertThat(differ).isPositive();
    try (NDManager m = manager.newSubManager()) {
      SparseCoderTrainer.Gradients g = t.gradients(x, m);
      assertThat(g.l0()).isEqualTo(k);
      // the kept entries are the top k n by relu(pre) x summed decoder norm
      long[] fired = g.firedCounts();
      for (int j = 0; j < D_SAE; j++) {
        long expected = 0;
        for (int r = 0; r < ROWS; r++) {
          expected += scores[r * D_SAE + j] >= kept ? 1 : 0;
        }
        assertThat(fired[j]).as("rows latent %d fired on", j).isEqualTo(expected);
      }
      assertMatchesFiniteDifferences(t, tr -> loss(tr, x), g.gradients(), ALL);
    }
  }

  /** relu(pre), times each latent's summed per-source decoder norm when weighted, [rows x d_sae] row-major. */
  private static double[] weightedScores(SparseCoder coder, NDArray x, boolean weighted) {
    try (NDManager m = manager.newSubManager()) {
      m.tempAttachAll(x);
      double[] pre = coder.preActivations(x).toDoubleArray();
      float[][] norms = coder.decoderNormsPerSource();
      double[] scores = new double[pre.length];
      for (int i = 0; i < pre.length; i++) {
        double sum = 0;
        for (float n : norms[i % D_SAE]) {
          sum += n;
        }
        scores[i] = Math.max(0, pre[i]) * (weighted ? sum : 1);
      }
      return scores;
    }
  }

  private static double rampL0(double[] pre, double[] theta, double eps) {
    double l0 = 0;
    for (int i = 0; i < ROWS; i++) {
      for (int j = 0; j < D_SAE; j++) {
        l0 += Math.max(0, Math.min(1, (pre[i * D_SAE + j] - theta[j]) / eps + 0.5));
      }
    }
    return l0 / ROWS;
  }

  private static double hardL0(double[] pre, double[] theta) {
    double l0 = 0;
    for (int i = 0; i < ROWS; i++) {
      for (int j = 0; j < D_SAE; j++) {
        l0 += pre[i * D_SAE + j] > theta[j] && pre[i * D_SAE + j] > 0 ? 1 : 0;
      }
    }
    return l0 / ROWS;
  }
}
