package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A BatchTopK crosscoder (Minder et al. 2025) trained on planted features over two sources of
 * width 16 whose raw scales differ fourfold: it keeps exactly k latents per row on average over
 * each training batch, and its inference rule is the same selection score, {@code relu(pre) x
 * summed decoder norm > theta}, written as a per-latent threshold {@code theta / norm sum}.
 */
class CrosscoderTrainingTest {
  private static final int D_SOURCE = 16;
  private static final int SOURCES = 2;
  private static final int D_SAE = 128;
  private static final int BATCH = 256;
  private static final int K = 4;
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  /** Rows of planted features over the concatenated sources, the second source's columns times 4. */
  private static float[] batch(PlantedFeatures data, int rows) {
    float[] x = data.batch(rows);
    for (int i = 0; i < x.length; i++) {
      if (i % (SOURCES * D_SOURCE) >= D_SOURCE) {
        x[i] *= 4;
      }
    }
    return x;
  }

  @Test
  void batchTopKCrosscoderKeepsMeanL0KAndInfersWithThresholdOverSummedDecoderNorm() {
    PlantedFeatures data = new PlantedFeatures(SOURCES * D_SOURCE, 64, 3.0 / 64, 1);
    try (SparseCoder coder = SparseCoder.initialize(manager, SparseCoder.Layout.crosscoder(D_SOURCE, SOURCES, D_SAE),
        new SparseActivation.BatchTopK(K), 1.0, 0, 7)) {
      try (NDManager m = manager.newSubManager()) {
        coder.setInputScales(SparseCoderInit.sourceScales(m.create(batch(data, 2048), new Shape(2048, SOURCES * D_SOURCE)),
            SOURCES));
      }
      assertThat(coder.inputScales()[1]).isCloseTo(coder.inputScales()[0] / 4, within(0.1f * coder.inputScales()[0]));
      TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).kAux(16).deadTokenWindow(5000)
          .thresholdMomentum(0.99).build();
      List<Double> l0 = new ArrayList<>();
      try (SparseCoderTrainer t = new SparseCoderTrainer(coder, config)) {
        for (int s = 0; s < 600; s++) {
          l0.add(t.step(batch(data, BATCH), BATCH).l0());
        }
        assertThat(l0).as("mean L0 of every training batch").containsOnly((double) K);

        double theta = t.batchTopKThreshold();
        assertThat(theta).isPositive();
        float[] threshold = coder.weights(SparseCoder.THRESHOLD);
        float[][] norms = coder.decoderNormsPerSource();
        float lowest = Float.MAX_VALUE;
        float highest = 0;
        for (int j = 0; j < D_SAE; j++) {
          double sum = norms[j][0] + norms[j][1];
          float want = (float) (theta / sum);
          assertThat(threshold[j]).as("threshold of latent %d", j).isCloseTo(want, within(1e-6f * want));
          lowest = Math.min(lowest, threshold[j]);
          highest = Math.max(highest, threshold[j]);
        }
        // the decoder is free, so the norms (and with them the thresholds) drift apart
        assertThat(highest).isGreaterThan(1.2f * lowest);

        // so inference on held-out rows is sparse on its own, near the training L0
        try (NDManager m = manager.newSubManager()) {
          double inference = SparseMetrics.l0(coder.encode(m.create(batch(data, 2048), new Shape(2048, SOURCES * D_SOURCE))));
          assertThat(inference).isCloseTo(K, within(1.0));
        }
      }
    }
  }
}
