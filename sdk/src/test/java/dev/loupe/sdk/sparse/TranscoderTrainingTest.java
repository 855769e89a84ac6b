package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Training transcoders on planted ground truth: 64 sparse features, each with a random input
 * direction in 32 dimensions (in superposition) and its own random output direction in 24
 * dimensions. A transcoder must find the features from the input and write their output
 * directions into its decoder rows; with a skip connection it also fits a dense linear map
 * planted on top of the sparse part. A skip connection may take over any linear share of the
 * sparse map as well, so a skip transcoder's decoder rows are compared with the directions its
 * learned skip leaves to the sparse code.
 */
class TranscoderTrainingTest {
  private static final int D_IN = 32;
  private static final int D_OUT = 24;
  private static final int FEATURES = 64;
  private static final int D_SAE = 128;
  private static final int BATCH = 256;
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  private static PlantedTranscoderFeatures data(double linearGain, long seed) {
    return new PlantedTranscoderFeatures(D_IN, D_OUT, FEATURES, 3.0 / FEATURES, linearGain, seed);
  }

  /** A transcoder with input and output scales fitted to a data sample, trained for {@code steps}. */
  private static SparseCoderTrainer train(SparseActivation act, boolean skip, TrainerConfig config,
      PlantedTranscoderFeatures data, int steps) {
    SparseCoder coder = SparseCoder.initialize(manager, SparseCoder.Layout.transcoder(D_IN, D_OUT, D_SAE, skip), act,
        1.0, 0.5, 7);
    PlantedTranscoderFeatures.Batch sample = data.batch(2048);
    try (NDManager m = manager.newSubManager()) {
      coder.setInputScale(SparseCoderInit.inputScale(m.create(sample.x(), new Shape(2048, D_IN))));
      coder.setOutputScale(SparseCoderInit.inputScale(m.create(sample.y(), new Shape(2048, D_OUT))));
    }
    SparseCoderTrainer trainer = new SparseCoderTrainer(coder, config);
    for (int s = 0; s < steps; s++) {
      PlantedTranscoderFeatures.Batch b = data.batch(BATCH);
      trainer.step(b.x(), b.y(), BATCH);
    }
    return trainer;
  }

  private static double recovery(SparseCoderTrainer t, PlantedTranscoderFeatures data) {
    return data.meanMaxCosine(t.coder().weights(SparseCoder.W_DEC), D_SAE);
  }

  /**
   * Recovery of the output directions the sparse code must write beside the learned skip
   * connection (see {@link PlantedTranscoderFeatures#outputDirectionsGivenSkip}): a skip
   * transcoder is free to move any linear share of the sparse map into W_skip, so its decoder
   * rows match {@code v_i + u_i (A - Â)}, not {@code v_i} itself.
   */
  private static double recoveryGivenSkip(SparseCoderTrainer t, PlantedTranscoderFeatures data) {
    SparseCoder c = t.coder();
    // the skip map in raw units: W_skip x input scale / output scale
    float[] skip = c.weights(SparseCoder.W_SKIP);
    for (int i = 0; i < skip.length; i++) {
      skip[i] *= c.inputScale() / c.outputScale();
    }
    return data.outputDirectionsGivenSkip(skip).meanMaxCosine(c.weights(SparseCoder.W_DEC), D_SAE);
  }

  /** FVE of the coder's output against the targets of 2048 held-out rows. */
  private static double heldOutFve(SparseCoderTrainer t, PlantedTranscoderFeatures data) {
    PlantedTranscoderFeatures.Batch b = data.batch(2048);
    try (NDManager m = manager.newSubManager()) {
      return SparseMetrics.evaluate(t.coder(), m.create(b.x(), new Shape(2048, D_IN)),
          m.create(b.y(), new Shape(2048, D_OUT))).fve();
    }
  }

  private static TrainerConfig topKConfig(int steps) {
    return TrainerConfig.builder().learningRate(3e-3).kAux(16).deadTokenWindow(5000).lrDecaySteps(steps / 5)
        .totalSteps(steps).build();
  }

  private static TrainerConfig reluConfig(double l1, int steps) {
    return TrainerConfig.builder().learningRate(3e-3).l1Coefficient(l1).l1WarmupSteps(200).lrWarmupSteps(50)
        .lrDecaySteps(steps / 5).totalSteps(steps).build();
  }

  @Test
  void topKTranscoderRecoversThePlantedOutputDirections() {
    PlantedTranscoderFeatures data = data(0, 1);
    try (SparseCoderTrainer t = train(new SparseActivation.TopK(4), false, topKConfig(2000), data, 2000)) {
      assertThat(recovery(t, data)).isGreaterThanOrEqualTo(0.9);
    }
  }

  @Test
  void reluTranscoderWithL1RecoversThePlantedOutputDirections() {
    PlantedTranscoderFeatures data = data(0, 2);
    try (SparseCoderTrainer t = train(new SparseActivation.Relu(), false, reluConfig(2, 2500), data, 2500)) {
      assertThat(recovery(t, data)).isGreaterThanOrEqualTo(0.9);
    }
  }

  /**
   * A dense linear map as large as the sparse part is planted on top ({@code y += x A}); no
   * handful of latents can write it, the skip connection can.
   */
  @Test
  void skipTopKTranscoderFitsThePlantedLinearPartBesideTheSparseFeatures() {
    PlantedTranscoderFeatures data = data(1.5, 3);
    try (SparseCoderTrainer t = train(new SparseActivation.TopK(6), true, topKConfig(2000), data, 2000)) {
      assertThat(heldOutFve(t, data)).isGreaterThanOrEqualTo(0.95);
      assertThat(recoveryGivenSkip(t, data)).isGreaterThanOrEqualTo(0.9);
    }
  }

  @Test
  void skipReluTranscoderFitsThePlantedLinearPartBesideTheSparseFeatures() {
    PlantedTranscoderFeatures data = data(1.5, 4);
    try (SparseCoderTrainer t = train(new SparseActivation.Relu(), true, reluConfig(0.2, 3000), data, 3000)) {
      assertThat(heldOutFve(t, data)).isGreaterThanOrEqualTo(0.95);
      assertThat(recoveryGivenSkip(t, data)).isGreaterThanOrEqualTo(0.9);
    }
  }
}
