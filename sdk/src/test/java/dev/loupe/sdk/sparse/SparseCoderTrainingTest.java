package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Training on data with planted sparse features in superposition (64 directions in 32 dimensions):
 * each objective recovers the planted directions in its decoder and meets its sparsity contract.
 */
class SparseCoderTrainingTest {
  private static final int D_IN = 32;
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

  private static PlantedFeatures data(long seed) {
    return new PlantedFeatures(D_IN, FEATURES, 3.0 / FEATURES, seed);
  }

  /** A coder initialised from a data sample (scale and geometric-median b_dec), trained for {@code steps}. */
  private static SparseCoderTrainer train(SparseActivation act, TrainerConfig config, PlantedFeatures data, int steps) {
    SparseCoder coder = SparseCoder.initialize(manager, D_IN, D_SAE, act, 1.0, 0.5, 7);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderInit.fromSample(coder, m.create(data.batch(2048), new Shape(2048, D_IN)));
    }
    SparseCoderTrainer trainer = new SparseCoderTrainer(coder, config);
    for (int s = 0; s < steps; s++) {
      trainer.step(data.batch(BATCH), BATCH);
    }
    return trainer;
  }

  private static double recovery(SparseCoderTrainer t, PlantedFeatures data) {
    return data.meanMaxCosine(t.coder().weights(SparseCoder.W_DEC), D_SAE);
  }

  @Test
  void reluWithL1RecoversPlantedFeatures() {
    PlantedFeatures data = data(1);
    TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).l1Coefficient(3).l1WarmupSteps(200)
        .lrWarmupSteps(50).lrDecaySteps(300).totalSteps(1500).build();
    try (SparseCoderTrainer t = train(new SparseActivation.Relu(), config, data, 1500)) {
      assertThat(recovery(t, data)).isGreaterThanOrEqualTo(0.9);
    }
  }

  @Test
  void topKRecoversPlantedFeaturesWithExactlyKActiveLatents() {
    PlantedFeatures data = data(2);
    TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).kAux(16).deadTokenWindow(5000)
        .lrDecaySteps(300).totalSteps(1500).build();
    try (SparseCoderTrainer t = train(new SparseActivation.TopK(4), config, data, 1500);
         NDManager m = manager.newSubManager()) {
      assertThat(recovery(t, data)).isGreaterThanOrEqualTo(0.9);
      // Gao et al. apply ReLU after TopK: a row keeps exactly k latents unless fewer than k
      // pre-activations are positive, and then keeps all of those
      NDArray x = m.create(data.batchWithAtLeastOneFeature(2048), new Shape(2048, D_IN));
      int[] l0 = SparseMetrics.l0PerRow(t.coder().encode(x));
      int[] positive = SparseMetrics.l0PerRow(t.coder().preActivations(x).maximum(0f));
      int exactlyK = 0;
      for (int i = 0; i < l0.length; i++) {
        assertThat(l0[i]).as("row %d", i).isEqualTo(Math.min(4, positive[i]));
        exactlyK += l0[i] == 4 ? 1 : 0;
      }
      assertThat(exactlyK).isGreaterThan(l0.length * 95 / 100);
    }
  }

  @Test
  void batchTopKRecoversPlantedFeaturesWithMeanL0K() {
    PlantedFeatures data = data(3);
    TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).kAux(16).deadTokenWindow(5000)
        .thresholdMomentum(0.99).lrDecaySteps(300).totalSteps(1500).build();
    try (SparseCoderTrainer t = train(new SparseActivation.BatchTopK(4), config, data, 1500);
         NDManager m = manager.newSubManager()) {
      assertThat(recovery(t, data)).isGreaterThanOrEqualTo(0.9);
      StepMetrics last = t.step(data.batch(BATCH), BATCH);
      assertThat(last.l0()).isEqualTo(4.0);
      // the learned threshold makes inference sparse on its own, near the training L0
      NDArray code = t.coder().encode(m.create(data.batch(2048), new Shape(2048, D_IN)));
      assertThat(SparseMetrics.l0(code)).isCloseTo(4.0, within(1.0));
    }
  }

  @Test
  void jumpReluReachesItsTargetL0() {
    PlantedFeatures data = data(4);
    TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).targetL0(8).l0Coefficient(10)
        .jumpReluBandwidth(0.1).build();
    try (SparseCoderTrainer t = train(new SparseActivation.JumpRelu(), config, data, 1500);
         NDManager m = manager.newSubManager()) {
      NDArray code = t.coder().encode(m.create(data.batch(2048), new Shape(2048, D_IN)));
      // held-out rows; the planted data alone would settle near 3 active latents
      assertThat(SparseMetrics.l0(code)).isCloseTo(8.0, within(0.8));
    }
  }

  /**
   * Gradients are closed-form (no autograd session), so trainers on different threads run at the
   * same time and each ends where it would have alone.
   */
  @Test
  void trainersRunConcurrentlyAndMatchSequentialRuns() throws Exception {
    PlantedFeatures data = data(6);
    float[][] batches = new float[40][];
    for (int i = 0; i < batches.length; i++) {
      batches[i] = data.batch(BATCH);
    }
    SparseActivation[] acts = {new SparseActivation.TopK(4), new SparseActivation.Relu(), new SparseActivation.JumpRelu()};
    float[][] alone = new float[acts.length][];
    for (int a = 0; a < acts.length; a++) {
      alone[a] = trainOn(acts[a], batches);
    }
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(acts.length);
    try {
      java.util.List<java.util.concurrent.Future<float[]>> together = new java.util.ArrayList<>();
      for (SparseActivation act : acts) {
        together.add(pool.submit(() -> trainOn(act, batches)));
      }
      for (int a = 0; a < acts.length; a++) {
        float[] w = together.get(a).get();
        for (int i = 0; i < w.length; i++) {
          assertThat(w[i]).as("%s W_dec[%d]", acts[a].name(), i).isCloseTo(alone[a][i], within(1e-4f));
        }
      }
    } finally {
      pool.shutdown();
    }
  }

  private static float[] trainOn(SparseActivation act, float[][] batches) {
    try (SparseCoder coder = SparseCoder.initialize(manager, D_IN, D_SAE, act, 1.0, 0.5, 7);
         SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().learningRate(1e-3).build())) {
      for (float[] b : batches) {
        t.step(b, BATCH);
      }
      return coder.weights(SparseCoder.W_DEC);
    }
  }

  /**
   * Half the latents start with an encoder bias so negative they never fire, hence never get a
   * gradient: without resampling they stay dead; resampling (Towards Monosemanticity) revives them.
   */
  @Test
  void resamplingRevivesDeadLatents() {
    double withoutResampling = deadAfterTraining(0);
    double withResampling = deadAfterTraining(100);
    assertThat(withoutResampling).isGreaterThanOrEqualTo(0.5);
    assertThat(withResampling).isLessThan(withoutResampling / 2);
  }

  private static double deadAfterTraining(long resampleEvery) {
    PlantedFeatures data = data(5);
    SparseCoder coder = SparseCoder.initialize(manager, D_IN, D_SAE, new SparseActivation.Relu(), 1.0, 0.5, 7);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderInit.fromSample(coder, m.create(data.batch(2048), new Shape(2048, D_IN)));
    }
    float[] bEnc = new float[D_SAE];
    java.util.Arrays.fill(bEnc, 0, D_SAE / 2, -100f);
    coder.bEnc().set(bEnc);
    TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).l1Coefficient(1).deadTokenWindow(BATCH * 50L)
        .resampleEverySteps(resampleEvery).build();
    try (SparseCoderTrainer t = new SparseCoderTrainer(coder, config)) {
      for (int s = 0; s < 700; s++) {
        t.step(data.batch(BATCH), BATCH);
      }
      // measure over a fresh window so every latent had the chance to fire
      t.deadLatents().resetDensity();
      for (int s = 0; s < 20; s++) {
        t.step(data.batch(BATCH), BATCH);
      }
      return SparseMetrics.deadFraction(t.deadLatents().density());
    } finally {
      coder.close();
    }
  }

  @Test
  void batchTopKThresholdAverageRestartsAtItsStartStep() {
    PlantedFeatures data = data(21);
    double[] after = new double[2];
    for (int restart = 0; restart < 2; restart++) {
      // a momentum this close to 1 keeps whatever value the average (re)started from
      TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).auxKCoefficient(0).thresholdMomentum(0.9999999)
          .thresholdStartStep(restart == 0 ? 0 : 20).build();
      try (SparseCoderTrainer t = train(new SparseActivation.BatchTopK(4), config, data, 1)) {
        double first = t.batchTopKThreshold();
        double atStart = Double.NaN;
        for (int s = 1; s < 30; s++) {
          t.step(data.batch(BATCH), BATCH);
          if (s == 20) {
            atStart = t.batchTopKThreshold();
          }
        }
        after[restart] = t.batchTopKThreshold();
        if (restart == 0) {
          assertThat(after[0]).isCloseTo(first, within(1e-4 * first));
        } else {
          assertThat(after[1]).isCloseTo(atStart, within(1e-4 * atStart));
          assertThat(after[1]).isNotCloseTo(first, within(1e-2 * first));
        }
      }
    }
  }
}
