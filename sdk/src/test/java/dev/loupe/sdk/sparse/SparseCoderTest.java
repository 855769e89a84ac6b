package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The coder's inference path, its data-dependent initialisation and its input checks. */
class SparseCoderTest {
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  @Test
  void encodeAndDecodeFollowTheSaeLensEquations() {
    // d_in 2, d_sae 3, by hand: pre = (s x - b_dec) W_enc + b_enc, out = (f W_dec + b_dec) / s
    float[] wEnc = {1, 0, -1, 0, 1, 1};
    float[] wDec = {1, 0, 0, 1, 0.5f, 0.5f};
    try (SparseCoder c = SparseCoder.of(manager, 2, 3, new SparseActivation.Relu(), true, 2f, wEnc,
        new float[] {0, 0.5f, 0}, wDec, new float[] {1, 1}, null);
         NDManager m = manager.newSubManager()) {
      NDArray x = m.create(new float[] {1, 2}, new Shape(1, 2));
      // s x - b_dec = (1, 3); pre = (1, 3.5, 2)
      assertThat(c.preActivations(x).toFloatArray()).containsExactly(1f, 3.5f, 2f);
      assertThat(c.encode(x).toFloatArray()).containsExactly(1f, 3.5f, 2f);
      // f W_dec + b_dec = (1 + 1 + 1, 3.5 + 1 + 1) = (3, 5.5); / 2
      assertThat(c.forward(x).get(1).toFloatArray()).containsExactly(1.5f, 2.75f);
    }
  }

  @Test
  void topKKeepsTheKLargestPositiveValuesOfEachRow() {
    try (NDManager m = manager.newSubManager()) {
      NDArray pre = m.create(new float[] {3, -1, 5, 2, 0.5f, -2, -3, 1, -4}, new Shape(3, 3));
      float[] code = new SparseActivation.TopK(2).apply(pre, null).toFloatArray();
      assertThat(code).containsExactly(3, 0, 5, 2, 0.5f, 0, 0, 1, 0);
    }
  }

  @Test
  void batchTopKKeepsKTimesRowsValuesOverTheWholeBatch() {
    try (NDManager m = manager.newSubManager()) {
      NDArray pre = m.create(new float[] {9, 8, 7, 1, 2, 0.5f}, new Shape(2, 3));
      var train = new SparseActivation.BatchTopK(1).train(pre, m.zeros(new Shape(3)));
      // the two largest of the batch both sit in row 0: row 1 gets none
      assertThat(train.get(0).toFloatArray()).containsExactly(9, 8, 0, 0, 0, 0);
      assertThat(SparseMetrics.l0(train.get(0))).isEqualTo(1.0);
    }
  }

  @Test
  void inputScaleMakesTheMeanSquaredNormDIn() {
    PlantedFeatures data = new PlantedFeatures(8, 16, 0.2, 1);
    try (NDManager m = manager.newSubManager()) {
      NDArray x = m.create(data.batch(1000), new Shape(1000, 8));
      float s = SparseCoderInit.inputScale(x);
      double meanSq = x.mul(s).square().sum(new int[] {1}).mean().getFloat();
      assertThat(meanSq).isCloseTo(8.0, within(1e-3));
    }
  }

  @Test
  void geometricMedianResistsOutliersWhereTheMeanDoesNot() {
    try (NDManager m = manager.newSubManager()) {
      // five points around (1, 1) and one far outlier
      float[] pts = {1, 1, 1.1f, 1, 0.9f, 1, 1, 1.1f, 1, 0.9f, 100, 100};
      float[] median = SparseCoderInit.geometricMedian(m.create(pts, new Shape(6, 2)), 200, 1e-9);
      assertThat(median[0]).isCloseTo(1f, within(0.05f));
      assertThat(median[1]).isCloseTo(1f, within(0.05f));
    }
  }

  @Test
  void initialisationFromASampleIgnoresNonFiniteRows() {
    try (SparseCoder c = SparseCoder.initialize(manager, 2, 4, new SparseActivation.Relu(), 1, 0.1, 1);
         NDManager m = manager.newSubManager()) {
      NDArray x = m.create(new float[] {1, 0, 0, 1, Float.NaN, 3, -1, 0, 0, -1, Float.POSITIVE_INFINITY, 0},
          new Shape(6, 2));
      SparseCoderInit.fromSample(c, x);
      // the four finite rows have squared norm 1, so the scale is sqrt(2) and the median 0
      assertThat(c.inputScale()).isCloseTo((float) Math.sqrt(2), within(1e-6f));
      assertThat(c.bDec().toFloatArray()).containsExactly(new float[] {0, 0}, within(1e-4f));
    }
  }

  @Test
  void decoderRowsStayAtUnitNormWhileTraining() {
    PlantedFeatures data = new PlantedFeatures(8, 16, 0.2, 2);
    try (SparseCoder c = SparseCoder.initialize(manager, 8, 24, new SparseActivation.Relu(), 1, 0.1, 1);
         SparseCoderTrainer t = new SparseCoderTrainer(c, TrainerConfig.builder().learningRate(1e-2).build())) {
      for (int i = 0; i < 20; i++) {
        t.step(data.batch(32), 32);
      }
      try (NDManager m = manager.newSubManager()) {
        m.tempAttachAll(c.wDec());
        for (float n : c.wDec().norm(new int[] {1}).toFloatArray()) {
          assertThat(n).isCloseTo(1f, within(1e-5f));
        }
      }
    }
  }

  @Test
  void nonFiniteRowsAreSkippedAndCountedNeverTrainedOn() {
    try (SparseCoder c = SparseCoder.initialize(manager, 2, 4, new SparseActivation.Relu(), 1, 0.1, 1);
         SparseCoderTrainer t = new SparseCoderTrainer(c, TrainerConfig.builder().build())) {
      float[] before = c.weights(SparseCoder.W_ENC);
      StepMetrics s = t.step(new float[] {1, 0, Float.NaN, 1, 0, Float.NEGATIVE_INFINITY}, 3);
      assertThat(s.rows()).isEqualTo(1);
      assertThat(s.skippedRows()).isEqualTo(2);
      assertThat(Double.isFinite(s.loss())).isTrue();
      assertThat(c.weights(SparseCoder.W_ENC)).doesNotContain(Float.NaN);
      assertThat(c.weights(SparseCoder.W_ENC)).isNotEqualTo(before);

      StepMetrics none = t.step(new float[] {Float.NaN, 1}, 1);
      assertThat(none.rows()).isZero();
      assertThat(t.step()).isEqualTo(1);
      assertThat(t.skippedRows()).isEqualTo(3);
    }
  }

  @Test
  void inputsOfTheWrongWidthAreRejectedNamingDIn() {
    try (SparseCoder c = SparseCoder.initialize(manager, 4, 8, new SparseActivation.Relu(), 1, 0.1, 1);
         SparseCoderTrainer t = new SparseCoderTrainer(c, TrainerConfig.builder().build());
         NDManager m = manager.newSubManager()) {
      assertThatThrownBy(() -> c.encode(m.zeros(new Shape(3, 5)))).hasMessageContaining("d_in = 4").hasMessageContaining("(3, 5)");
      assertThatThrownBy(() -> t.step(new float[10], 2)).hasMessageContaining("d_in (4)");
    }
  }

  // ---- the family's input checks ----

  private static SparseCoder transcoder() {
    return SparseCoder.initialize(manager, SparseCoder.Layout.transcoder(4, 3, 8, true), new SparseActivation.Relu(), 1,
        0.1, 1);
  }

  @Test
  void anSaeGivenTargetsIsRejected() {
    try (SparseCoder c = SparseCoder.initialize(manager, 4, 8, new SparseActivation.Relu(), 1, 0.1, 1);
         SparseCoderTrainer t = new SparseCoderTrainer(c, TrainerConfig.builder().build());
         NDManager m = manager.newSubManager()) {
      assertThatThrownBy(() -> t.step(m.zeros(new Shape(5, 4)), m.zeros(new Shape(5, 4))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sae").hasMessageContaining("pass no targets");
      assertThatThrownBy(() -> t.gradients(m.zeros(new Shape(5, 4)), m.zeros(new Shape(5, 4)), m))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pass no targets");
    }
  }

  @Test
  void aTranscoderWithoutTargetsIsRejected() {
    try (SparseCoder c = transcoder();
         SparseCoderTrainer t = new SparseCoderTrainer(c, TrainerConfig.builder().build());
         NDManager m = manager.newSubManager()) {
      assertThatThrownBy(() -> t.step(m.zeros(new Shape(5, 4))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("skip_transcoder needs targets")
          .hasMessageContaining("d_out = 3");
      assertThatThrownBy(() -> t.step(new float[20], 5))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs targets");
      assertThatThrownBy(() -> t.gradients(m.zeros(new Shape(5, 4)), m))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs targets");
    }
  }

  @Test
  void targetsOfTheWrongWidthOrRowCountAreRejectedNamingTheShape() {
    try (SparseCoder c = transcoder();
         SparseCoderTrainer t = new SparseCoderTrainer(c, TrainerConfig.builder().build());
         NDManager m = manager.newSubManager()) {
      NDArray x = m.zeros(new Shape(5, 4));
      assertThatThrownBy(() -> t.step(x, m.zeros(new Shape(5, 4))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("d_out = 3").hasMessageContaining("(5, 4)");
      assertThatThrownBy(() -> t.step(x, m.zeros(new Shape(6, 3))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n = 5").hasMessageContaining("(6, 3)");
      assertThatThrownBy(() -> t.step(new float[20], new float[16], 5))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("targets have 16 values")
          .hasMessageContaining("d_out (3)");
      assertThatThrownBy(() -> SparseMetrics.evaluate(c, x, m.zeros(new Shape(4, 3))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5 rows but targets 4");
    }
  }

  @Test
  void aLayoutWhoseSourcesDoNotDivideDInIsRejected() {
    assertThatThrownBy(() -> new SparseCoder.Layout(10, 8, 10, 3, true, false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("divide d_in = 10").hasMessageContaining("got 3");
    assertThatThrownBy(() -> SparseCoder.Layout.crosscoder(4, 1, 8))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 2 sources");
  }

  @Test
  void aCrosscoderTakesOnlyReluOrBatchTopK() {
    SparseCoder.Layout layout = SparseCoder.Layout.crosscoder(4, 2, 8);
    assertThatThrownBy(() -> SparseCoder.initialize(manager, layout, new SparseActivation.TopK(2), 1, 0.1, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("crosscoder").hasMessageContaining("not topk");
    assertThatThrownBy(() -> SparseCoder.initialize(manager, layout, new SparseActivation.JumpRelu(), 1, 0.1, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("crosscoder").hasMessageContaining("not jumprelu");
  }

  @Test
  void aTranscoderCannotSubtractBDecFromItsInput() {
    try (SparseCoder c = transcoder()) {
      java.util.Map<String, float[]> w = new java.util.LinkedHashMap<>();
      for (String name : c.tensors().keySet()) {
        w.put(name, c.weights(name));
      }
      assertThatThrownBy(() -> SparseCoder.of(manager, c.layout(), c.activation(), true, new float[] {1f}, 1f, w))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("apply_b_dec_to_input")
          .hasMessageContaining("transcoder");
    }
  }

  @Test
  void sourceScalesMakeEachSourcesMeanSquaredNormItsWidth() {
    PlantedFeatures data = new PlantedFeatures(12, 16, 0.2, 3);
    try (NDManager m = manager.newSubManager()) {
      // three sources of width 4 at raw scales 1, 10 and 0.1
      NDArray x = m.create(data.batch(1000), new Shape(1000, 12)).mul(m.create(new float[] {1, 1, 1, 1, 10, 10, 10, 10,
          0.1f, 0.1f, 0.1f, 0.1f}));
      float[] s = SparseCoderInit.sourceScales(x, 3);
      assertThat(s).hasSize(3);
      for (int b = 0; b < 3; b++) {
        NDArray block = x.get(new ai.djl.ndarray.index.NDIndex(":, " + (4 * b) + ":" + (4 * b + 4))).mul(s[b]);
        assertThat((double) block.square().sum(new int[] {1}).mean().getFloat()).as("source %d", b)
            .isCloseTo(4.0, within(1e-3));
      }
      assertThatThrownBy(() -> SparseCoderInit.sourceScales(x, 5)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("width 12").hasMessageContaining("5 sources");
    }
  }

  @Test
  void initialisationFromASampleGivesACrosscoderOneScalePerSource() {
    PlantedFeatures data = new PlantedFeatures(8, 16, 0.2, 4);
    try (SparseCoder c = SparseCoder.initialize(manager, SparseCoder.Layout.crosscoder(4, 2, 8),
        new SparseActivation.Relu(), 1, 0, 1);
         NDManager m = manager.newSubManager()) {
      NDArray x = m.create(data.batch(1000), new Shape(1000, 8)).mul(m.create(new float[] {1, 1, 1, 1, 5, 5, 5, 5}));
      SparseCoderInit.fromSample(c, x);
      assertThat(c.inputScales()).containsExactly(SparseCoderInit.sourceScales(x, 2));
      // b_dec is the geometric median of the sample scaled source by source
      assertThat(c.bDec().toFloatArray()).containsExactly(SparseCoderInit.geometricMedian(c.normalize(x), 100, 1e-6));
    }
  }

  /** A transcoder's b_dec lives in its output space, which a sample of inputs says nothing about. */
  @Test
  void initialisationFromAnInputSampleIsRejectedForATranscoder() {
    try (SparseCoder c = transcoder();
         NDManager m = manager.newSubManager()) {
      NDArray x = m.create(new float[] {1, 0, 0, 1, 0, 1, 1, 0}, new Shape(2, 4));
      assertThatThrownBy(() -> SparseCoderInit.fromSample(c, x)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("transcoder").hasMessageContaining("setOutputScale");
      assertThat(c.inputScale()).isEqualTo(1f);
    }
  }
}
