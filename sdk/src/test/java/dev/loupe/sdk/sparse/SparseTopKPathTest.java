package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The sparse TopK step computes the same loss and gradients as the dense one, with and without AuxK. */
class SparseTopKPathTest {
  private static final int D_IN = 24;
  private static final int D_SAE = 96;
  private static final int ROWS = 300;
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  private static SparseCoderTrainer trainer(TrainerConfig config, long seed) {
    SparseCoder coder = SparseCoder.initialize(manager, D_IN, D_SAE, new SparseActivation.TopK(8), 1.0, 0, seed);
    Random r = new Random(seed);
    float[] bEnc = new float[D_SAE];
    for (int j = 0; j < D_SAE; j++) {
      bEnc[j] = (float) (r.nextGaussian() * 0.1);
    }
    coder.bEnc().set(bEnc);
    float[] bDec = new float[D_IN];
    for (int i = 0; i < D_IN; i++) {
      bDec[i] = (float) (r.nextGaussian() * 0.2);
    }
    coder.bDec().set(bDec);
    coder.setInputScale(0.7f);
    return new SparseCoderTrainer(coder, config);
  }

  private static NDArray batch(long seed) {
    Random r = new Random(seed);
    float[] v = new float[ROWS * D_IN];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return manager.create(v, new Shape(ROWS, D_IN));
  }

  private static void assertSameGradients(SparseCoderTrainer t, NDArray x) {
    assertSameGradients(t, x, null);
  }

  /** As above for a transcoder's inputs and targets (null for autoencoders). */
  private static void assertSameGradients(SparseCoderTrainer t, NDArray x, NDArray y) {
    assertThat(t.sparsePathApplies()).isTrue();
    try (NDManager m = manager.newSubManager()) {
      t.sparseCodes = true;
      SparseCoderTrainer.Gradients sparse = t.gradients(x, y, m);
      t.sparseCodes = false;
      SparseCoderTrainer.Gradients dense = t.gradients(x, y, m);
      t.sparseCodes = true;
      assertThat(sparse.loss()).isCloseTo(dense.loss(), within(1e-5 * dense.loss()));
      assertThat(sparse.auxLoss()).isCloseTo(dense.auxLoss(), within(1e-6 + 1e-5 * dense.auxLoss()));
      assertThat(sparse.l0()).isEqualTo(dense.l0());
      assertThat(sparse.firedCounts()).isEqualTo(dense.firedCounts());
      assertThat(sparse.fve()).isCloseTo(dense.fve(), within(1e-5));
      for (Map.Entry<String, NDArray> g : dense.gradients().entrySet()) {
        float[] want = g.getValue().toFloatArray();
        float[] got = sparse.gradients().get(g.getKey()).toFloatArray();
        assertThat(got).as(g.getKey()).hasSize(want.length);
        float scale = 0;
        for (float w : want) {
          scale = Math.max(scale, Math.abs(w));
        }
        assertThat(scale).as("%s is not all zero", g.getKey()).isPositive();
        for (int i = 0; i < want.length; i++) {
          assertThat(got[i]).as("%s[%d]", g.getKey(), i).isCloseTo(want[i], within(1e-5f * scale));
        }
      }
    }
  }

  @Test
  void sameLossAndGradientsAsTheDensePath() {
    assertSameGradients(trainer(TrainerConfig.builder().build(), 1), batch(2));
  }

  @Test
  void sameAuxKGradientsOnDeadLatents() {
    SparseCoderTrainer t = trainer(TrainerConfig.builder().auxKCoefficient(0.5).kAux(6).deadTokenWindow(1).build(), 3);
    long[] fired = new long[D_SAE];
    for (int j = 0; j < D_SAE; j++) {
      fired[j] = j % 3 == 0 ? 0 : 1;
    }
    t.deadLatents().update(fired, 1);
    assertThat(t.deadLatents().dead()).hasSize(D_SAE / 3);
    NDArray x = batch(4);
    assertSameGradients(t, x);
    try (NDManager m = manager.newSubManager()) {
      assertThat(t.gradients(x, m).auxLoss()).isPositive();
    }
  }

  @Test
  void trainingStepsStayInStepWithTheDensePath() {
    SparseCoderTrainer sparse = trainer(TrainerConfig.builder().learningRate(1e-3).build(), 5);
    SparseCoderTrainer dense = trainer(TrainerConfig.builder().learningRate(1e-3).build(), 5);
    dense.sparseCodes = false;
    for (int step = 0; step < 5; step++) {
      NDArray x = batch(10 + step);
      StepMetrics a = sparse.step(x);
      StepMetrics b = dense.step(x);
      assertThat(a.loss()).isCloseTo(b.loss(), within(1e-4 * b.loss()));
    }
    float[] wa = sparse.coder().weights(SparseCoder.W_DEC);
    float[] wb = dense.coder().weights(SparseCoder.W_DEC);
    for (int i = 0; i < wa.length; i++) {
      assertThat(wa[i]).isCloseTo(wb[i], within(1e-4f));
    }
  }

  private static final int D_OUT = 20;

  /** A TopK skip transcoder d_in 24 -> d_out 20 with non-zero biases and skip weights, input scale 0.7, output scale 1.4. */
  private static SparseCoderTrainer skipTranscoder(TrainerConfig config, long seed) {
    SparseCoder coder = SparseCoder.initialize(manager, SparseCoder.Layout.transcoder(D_IN, D_OUT, D_SAE, true),
        new SparseActivation.TopK(8), 1.0, 0, seed);
    coder.bEnc().set(gaussians(D_SAE, 0.1, seed + 1));
    coder.bDec().set(gaussians(D_OUT, 0.2, seed + 2));
    coder.wSkip().set(gaussians(D_IN * D_OUT, 0.1, seed + 3));
    coder.setInputScale(0.7f);
    coder.setOutputScale(1.4f);
    return new SparseCoderTrainer(coder, config);
  }

  private static float[] gaussians(int n, double scale, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * scale);
    }
    return v;
  }

  private static NDArray targets(long seed) {
    return manager.create(gaussians(ROWS * D_OUT, 1, seed), new Shape(ROWS, D_OUT));
  }

  @Test
  void skipTranscoderHasTheSameLossAndGradientsIncludingWSkip() {
    SparseCoderTrainer t = skipTranscoder(TrainerConfig.builder().build(), 6);
    NDArray x = batch(7);
    NDArray y = targets(8);
    assertSameGradients(t, x, y);
    try (NDManager m = manager.newSubManager()) {
      assertThat(t.gradients(x, y, m).gradients()).containsKey(SparseCoder.W_SKIP);
    }
  }

  @Test
  void skipTranscoderHasTheSameAuxKGradientsOnDeadLatents() {
    SparseCoderTrainer t = skipTranscoder(TrainerConfig.builder().auxKCoefficient(0.5).kAux(6).deadTokenWindow(1).build(), 9);
    long[] fired = new long[D_SAE];
    for (int j = 0; j < D_SAE; j++) {
      fired[j] = j % 4 == 1 ? 0 : 1;
    }
    t.deadLatents().update(fired, 1);
    assertThat(t.deadLatents().dead()).hasSize(D_SAE / 4);
    NDArray x = batch(10);
    NDArray y = targets(11);
    assertSameGradients(t, x, y);
    try (NDManager m = manager.newSubManager()) {
      assertThat(t.gradients(x, y, m).auxLoss()).isPositive();
    }
  }

  @Test
  void denseCodesAndOtherActivationsKeepTheDensePath() {
    SparseCoder wide = SparseCoder.initialize(manager, D_IN, 16, new SparseActivation.TopK(8), 1.0, 0, 1);
    assertThat(new SparseCoderTrainer(wide, TrainerConfig.builder().build()).sparsePathApplies()).isFalse();
    SparseCoder relu = SparseCoder.initialize(manager, D_IN, D_SAE, new SparseActivation.Relu(), 1.0, 0, 1);
    assertThat(new SparseCoderTrainer(relu, TrainerConfig.builder().build()).sparsePathApplies()).isFalse();
  }
}
