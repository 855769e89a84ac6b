package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The blocked ReLU step ({@code computeRelu}) computes the same loss, metrics and gradients as the
 * generic dense path for every member of the family (SAE, decoder-norm weighted L1, transcoder with
 * a skip connection, crosscoder), in one block and in uneven blocks, and training stays in step.
 */
class SparseReluPathTest {
  private static final int D_IN = 12;
  private static final int D_SAE = 40;
  private static final int ROWS = 53;
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  private static float[] randoms(int n, long seed, double scale) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * scale);
    }
    return v;
  }

  /** A ReLU coder with non-trivial biases and input scale. */
  private static SparseCoder coder(SparseCoder.Layout layout, long seed) {
    SparseCoder coder = SparseCoder.initialize(manager, layout, new SparseActivation.Relu(), 1.0, 0, seed);
    coder.bEnc().set(randoms(layout.dSae(), seed + 1, 0.1));
    coder.bDec().set(randoms(layout.dOut(), seed + 2, 0.2));
    if (layout.sources() == 1) {
      coder.setInputScale(0.8f);
    } else {
      float[] scales = new float[layout.sources()];
      for (int s = 0; s < scales.length; s++) {
        scales[s] = 0.6f + 0.3f * s;
      }
      coder.setInputScales(scales);
    }
    if (layout.skip()) {
      coder.wSkip().set(randoms(layout.dIn() * layout.dOut(), seed + 3, 0.05));
    }
    if (!layout.autoencoder()) {
      coder.setOutputScale(1.4f);
    }
    return coder;
  }

  private static NDArray rows(int width, long seed) {
    return manager.create(randoms(ROWS * width, seed, 1), new Shape(ROWS, width));
  }

  private static SparseCoderTrainer.Gradients gradients(SparseCoderTrainer t, NDArray x, NDArray y, NDManager m,
      boolean blocked, int blockRows) {
    t.blockedRelu = blocked;
    t.reluBlockRows = blockRows;
    try {
      return t.gradients(x, y, m);
    } finally {
      t.blockedRelu = true;
      t.reluBlockRows = 0;
    }
  }

  private static void assertSameAsGenericPath(SparseCoderTrainer t, NDArray x, NDArray y) {
    for (int blockRows : new int[] {0, 7, 20}) {
      try (NDManager m = manager.newSubManager()) {
        SparseCoderTrainer.Gradients want = gradients(t, x, y, m, false, 0);
        SparseCoderTrainer.Gradients got = gradients(t, x, y, m, true, blockRows);
        String as = "blocks of " + blockRows + " rows";
        assertThat(got.loss()).as(as).isCloseTo(want.loss(), within(1e-5 * want.loss()));
        assertThat(got.reconstruction()).as(as).isCloseTo(want.reconstruction(), within(1e-5 * want.reconstruction()));
        assertThat(got.sparsityLoss()).as(as).isPositive().isCloseTo(want.sparsityLoss(),
            within(1e-5 * want.sparsityLoss()));
        assertThat(got.fve()).as(as).isCloseTo(want.fve(), within(1e-5));
        assertThat(got.l0()).as(as).isEqualTo(want.l0());
        assertThat(got.firedCounts()).as(as).isEqualTo(want.firedCounts());
        assertThat(got.l1Coefficient()).as(as).isEqualTo(want.l1Coefficient());
        assertThat(got.gradients().keySet()).as(as).containsExactlyElementsOf(want.gradients().keySet());
        for (Map.Entry<String, NDArray> g : want.gradients().entrySet()) {
          float[] w = g.getValue().toType(DataType.FLOAT32, false).toFloatArray();
          NDArray gotArray = got.gradients().get(g.getKey());
          assertThat(gotArray.getShape()).as("%s shape, %s", g.getKey(), as).isEqualTo(g.getValue().getShape());
          float[] a = gotArray.toType(DataType.FLOAT32, false).toFloatArray();
          float scale = 0;
          for (float v : w) {
            scale = Math.max(scale, Math.abs(v));
          }
          assertThat(scale).as("%s is not all zero", g.getKey()).isPositive();
          for (int i = 0; i < w.length; i++) {
            assertThat(a[i]).as("%s[%d], %s", g.getKey(), i, as).isCloseTo(w[i], within(1e-5f * scale));
          }
        }
      }
    }
  }

  @Test
  void saeWithUnitNormDecoder() {
    SparseCoder coder = coder(SparseCoder.Layout.sae(D_IN, D_SAE), 1);
    assertSameAsGenericPath(new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.7).build()),
        rows(D_IN, 2), null);
  }

  @Test
  void saeWithDecoderNormWeightedL1() {
    SparseCoder coder = coder(SparseCoder.Layout.sae(D_IN, D_SAE), 3);
    float[] norms = new float[D_SAE];
    for (int j = 0; j < D_SAE; j++) {
      norms[j] = 0.3f + 0.05f * j;
    }
    coder.wDec().muli(manager.create(norms).reshape(D_SAE, 1));
    assertSameAsGenericPath(new SparseCoderTrainer(coder,
        TrainerConfig.builder().l1Coefficient(0.4).decoderNormWeightedL1(true).build()), rows(D_IN, 4), null);
  }

  @Test
  void saeWhoseReluCarriesAThreshold() {
    // a loaded "standard" coder may carry thresholds, which ReLU ignores on both paths
    SparseCoder coder = coder(SparseCoder.Layout.sae(D_IN, D_SAE), 5);
    coder.threshold().set(randoms(D_SAE, 6, 0.3));
    assertSameAsGenericPath(new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.5).build()),
        rows(D_IN, 7), null);
  }

  @Test
  void transcoderWithSkipConnection() {
    int dOut = 9;
    SparseCoder coder = coder(SparseCoder.Layout.transcoder(D_IN, dOut, D_SAE, true), 8);
    assertSameAsGenericPath(new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.6).build()),
        rows(D_IN, 9), rows(dOut, 10));
  }

  @Test
  void crosscoderWithFreeDecoder() {
    SparseCoder coder = coder(SparseCoder.Layout.crosscoder(5, 3, D_SAE), 11);
    assertSameAsGenericPath(new SparseCoderTrainer(coder, TrainerConfig.builder().l1Coefficient(0.3).build()),
        rows(15, 12), null);
  }

  @Test
  void trainingStepsStayInStepWithTheGenericPath() {
    TrainerConfig config = TrainerConfig.builder().learningRate(1e-3).l1Coefficient(2).build();
    SparseCoderTrainer blocked = new SparseCoderTrainer(coder(SparseCoder.Layout.sae(D_IN, D_SAE), 13), config);
    SparseCoderTrainer generic = new SparseCoderTrainer(coder(SparseCoder.Layout.sae(D_IN, D_SAE), 13), config);
    blocked.reluBlockRows = 16;
    generic.blockedRelu = false;
    for (int step = 0; step < 5; step++) {
      NDArray x = rows(D_IN, 20 + step);
      StepMetrics a = blocked.step(x);
      StepMetrics b = generic.step(x);
      assertThat(a.loss()).isCloseTo(b.loss(), within(1e-4 * b.loss()));
      assertThat(a.l0()).isEqualTo(b.l0());
    }
    float[] wa = blocked.coder().weights(SparseCoder.W_DEC);
    float[] wb = generic.coder().weights(SparseCoder.W_DEC);
    for (int i = 0; i < wa.length; i++) {
      assertThat(wa[i]).isCloseTo(wb[i], within(1e-4f));
    }
  }

  @Test
  void blocksHoldAboutTwoMillionCodeEntries() {
    assertThat(SparseCoderTrainer.reluBlockRows(4096, 4096)).isEqualTo(512);
    assertThat(SparseCoderTrainer.reluBlockRows(4096, 6144)).isEqualTo(341);
    assertThat(SparseCoderTrainer.reluBlockRows(100, 4096)).isEqualTo(100);
    assertThat(SparseCoderTrainer.reluBlockRows(4096, 1 << 22)).isEqualTo(1);
  }
}
