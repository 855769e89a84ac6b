package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Impossible hyper-parameters fail at once with a message naming the field and the value. */
class TrainerConfigTest {
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
  void rejectsANonPositiveLearningRate() {
    assertThatThrownBy(() -> TrainerConfig.builder().learningRate(0).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessage("learningRate must be a positive finite number, got 0.0");
  }

  @Test
  void rejectsANegativeL1Coefficient() {
    assertThatThrownBy(() -> TrainerConfig.builder().l1Coefficient(-0.5).build())
        .hasMessage("l1Coefficient must be >= 0 and finite, got -0.5");
  }

  @Test
  void rejectsAdamBetasOutsideTheUnitInterval() {
    assertThatThrownBy(() -> TrainerConfig.builder().adam(0.9, 1.0, 1e-8).build())
        .hasMessage("adamBeta2 must be in [0, 1), got 1.0");
  }

  @Test
  void rejectsDecayLongerThanTheRun() {
    assertThatThrownBy(() -> TrainerConfig.builder().totalSteps(100).lrDecaySteps(200).build())
        .hasMessage("lrDecaySteps = 200 exceeds totalSteps = 100");
    assertThatThrownBy(() -> TrainerConfig.builder().lrDecaySteps(200).build())
        .hasMessageContaining("needs totalSteps > 0");
  }

  @Test
  void rejectsKLargerThanDSae() {
    assertThatThrownBy(() -> SparseCoder.initialize(manager, 4, 8, new SparseActivation.TopK(9), 1, 0.1, 1))
        .hasMessage("topk k = 9 exceeds d_sae = 8; choose k <= d_sae");
    assertThatThrownBy(() -> new SparseActivation.BatchTopK(0)).hasMessage("batchtopk k must be at least 1, got 0");
  }

  @Test
  void rejectsATargetL0AboveDSae() {
    try (SparseCoder c = SparseCoder.initialize(manager, 4, 8, new SparseActivation.JumpRelu(), 1, 0.1, 1)) {
      TrainerConfig config = TrainerConfig.builder().targetL0(12).build();
      assertThatThrownBy(() -> new SparseCoderTrainer(c, config)).hasMessage("targetL0 = 12.0 exceeds d_sae = 8");
    }
  }

  @Test
  void rejectsTheDecoderNormL1OnATopKCoder() {
    try (SparseCoder c = SparseCoder.initialize(manager, 4, 8, new SparseActivation.TopK(2), 1, 0.1, 1)) {
      TrainerConfig config = TrainerConfig.builder().decoderNormWeightedL1(true).build();
      assertThatThrownBy(() -> new SparseCoderTrainer(c, config)).hasMessageContaining("decoderNormWeightedL1")
          .hasMessageContaining("topk");
    }
  }

  @Test
  void learningRateWarmsUpAndDecaysLinearly() {
    try (SparseCoder c = SparseCoder.initialize(manager, 4, 8, new SparseActivation.Relu(), 1, 0.1, 1);
         SparseCoderTrainer t = new SparseCoderTrainer(c, TrainerConfig.builder().learningRate(1e-3)
             .lrWarmupSteps(10).lrDecaySteps(20).totalSteps(100).l1Coefficient(2).l1WarmupSteps(4).build())) {
      assertThat(t.learningRate(0)).isEqualTo(1e-4, org.assertj.core.data.Offset.offset(1e-12));
      assertThat(t.learningRate(9)).isEqualTo(1e-3);
      assertThat(t.learningRate(50)).isEqualTo(1e-3);
      assertThat(t.learningRate(90)).isEqualTo(5e-4, org.assertj.core.data.Offset.offset(1e-12));
      assertThat(t.learningRate(100)).isZero();
      assertThat(t.l1Coefficient(1)).isEqualTo(1.0);
      assertThat(t.l1Coefficient(10)).isEqualTo(2.0);
    }
  }
}
