package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Model diffing on two synthetic "models" with planted shared and exclusive features: a crosscoder
 * trained on them classifies the features by relative decoder norm, and Latent Scaling tells
 * truly exclusive latents from Complete Shrinkage and Latent Decoupling on a hand-built coder.
 */
class CrosscoderDiffTest {
  private static final int D = 16;
  private static final int SHARED = 24;
  private static final int ONLY_A = 8;
  private static final int ONLY_B = 8;
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  /**
   * Two models' activations on the same tokens: shared features appear in both (the same unit
   * direction in both, as for a base model and its fine-tune), exclusive ones in one model only;
   * model b's activations are three times larger, which per-source scaling must undo.
   */
  private static final class TwoModels {
    final int features = SHARED + ONLY_A + ONLY_B;
    final float[][] dirA = new float[features][];
    final float[][] dirB = new float[features][];
    final SplittableRandom random;

    TwoModels(long seed) {
      random = new SplittableRandom(seed);
      for (int f = 0; f < features; f++) {
        float[] u = unit();
        dirA[f] = f < SHARED + ONLY_A ? u : null;
        dirB[f] = f < SHARED || f >= SHARED + ONLY_A ? u : null;
      }
    }

    private float[] unit() {
      double[] v = new double[D];
      double sq = 0;
      for (int i = 0; i < D; i++) {
        v[i] = Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
        sq += v[i] * v[i];
      }
      float[] u = new float[D];
      for (int i = 0; i < D; i++) {
        u[i] = (float) (v[i] / Math.sqrt(sq));
      }
      return u;
    }

    CrosscoderDiff.Category truth(int f) {
      return f < SHARED ? CrosscoderDiff.Category.SHARED
          : f < SHARED + ONLY_A ? CrosscoderDiff.Category.A_ONLY : CrosscoderDiff.Category.B_ONLY;
    }

    /** Rows of [a (D values), b (D values)]. */
    float[] batch(int rows) {
      float[] x = new float[rows * 2 * D];
      for (int r = 0; r < rows; r++) {
        for (int f = 0; f < features; f++) {
          if (random.nextDouble() < 2.0 / features) {
            float mag = (float) (0.5 + random.nextDouble());
            for (int i = 0; i < D; i++) {
              if (dirA[f] != null) {
                x[r * 2 * D + i] += mag * dirA[f][i];
              }
              if (dirB[f] != null) {
                x[r * 2 * D + D + i] += 3 * mag * dirB[f][i];
              }
            }
          }
        }
      }
      return x;
    }

    /** For each planted feature, the latent whose concatenated decoder row is most similar. */
    int[] bestLatents(SparseCoder coder) {
      float[] w = coder.weights(SparseCoder.W_DEC);
      int[] best = new int[features];
      for (int f = 0; f < features; f++) {
        float[] target = new float[2 * D];
        for (int i = 0; i < D; i++) {
          target[i] = dirA[f] == null ? 0 : dirA[f][i];
          target[D + i] = dirB[f] == null ? 0 : dirB[f][i];
        }
        double bestCos = -2;
        for (int j = 0; j < coder.dSae(); j++) {
          double dot = 0;
          double n1 = 0;
          double n2 = 0;
          for (int i = 0; i < 2 * D; i++) {
            dot += w[j * 2 * D + i] * target[i];
            n1 += (double) w[j * 2 * D + i] * w[j * 2 * D + i];
            n2 += target[i] * target[i];
          }
          double cos = n1 > 0 ? dot / Math.sqrt(n1 * n2) : -2;
          if (cos > bestCos) {
            bestCos = cos;
            best[f] = j;
          }
        }
      }
      return best;
    }
  }

  private static SparseCoderTrainer train(SparseActivation act, TrainerConfig config, TwoModels data, int steps) {
    SparseCoder coder = SparseCoder.initialize(manager, SparseCoder.Layout.crosscoder(D, 2, 96), act, 0.5, 0, 11);
    try (NDManager m = manager.newSubManager()) {
      coder.setInputScales(SparseCoderInit.sourceScales(m.create(data.batch(2048), new Shape(2048, 2 * D)), 2));
    }
    SparseCoderTrainer t = new SparseCoderTrainer(coder, config);
    for (int s = 0; s < steps; s++) {
      t.step(data.batch(256), 256);
    }
    return t;
  }

  private static double classifiedCorrectly(SparseCoder coder, TwoModels data) {
    List<CrosscoderDiff.Latent> latents = CrosscoderDiff.latents(coder, 0, 1, CrosscoderDiff.Thresholds.standard());
    int[] best = data.bestLatents(coder);
    int correct = 0;
    for (int f = 0; f < data.features; f++) {
      if (latents.get(best[f]).category() == data.truth(f)) {
        correct++;
      }
    }
    return (double) correct / data.features;
  }

  @Test
  void batchTopKCrosscoderClassifiesPlantedSharedAndExclusiveFeatures() {
    TwoModels data = new TwoModels(3);
    TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).auxKCoefficient(0)
        .lrDecaySteps(300).totalSteps(2000).build();
    try (SparseCoderTrainer t = train(new SparseActivation.BatchTopK(3), config, data, 2000)) {
      assertThat(classifiedCorrectly(t.coder(), data)).isGreaterThanOrEqualTo(0.9);
      // the scale of model b (3x) was normalised away: shared latents have relative norms near 0.5
      List<CrosscoderDiff.Latent> latents = CrosscoderDiff.latents(t.coder(), 0, 1, CrosscoderDiff.Thresholds.standard());
      int[] best = data.bestLatents(t.coder());
      for (int f = 0; f < SHARED; f++) {
        assertThat(latents.get(best[f]).cosine()).as("shared feature %d decoder cosine", f).isGreaterThan(0.9);
      }
    }
  }

  @Test
  void l1CrosscoderClassifiesPlantedSharedAndExclusiveFeatures() {
    TwoModels data = new TwoModels(4);
    TrainerConfig config = TrainerConfig.builder().learningRate(3e-3).l1Coefficient(0.5).l1WarmupSteps(200)
        .lrDecaySteps(300).totalSteps(2000).build();
    try (SparseCoderTrainer t = train(new SparseActivation.Relu(), config, data, 2000)) {
      assertThat(classifiedCorrectly(t.coder(), data)).isGreaterThanOrEqualTo(0.9);
    }
  }

  @Test
  void categoriesFollowTheRelativeNormThresholds() {
    CrosscoderDiff.Thresholds t = CrosscoderDiff.Thresholds.standard();
    assertThat(t.categorise(0.05)).isEqualTo(CrosscoderDiff.Category.A_ONLY);
    assertThat(t.categorise(0.1)).isEqualTo(CrosscoderDiff.Category.A_ONLY);
    assertThat(t.categorise(0.25)).isEqualTo(CrosscoderDiff.Category.MIXED);
    assertThat(t.categorise(0.45)).isEqualTo(CrosscoderDiff.Category.SHARED);
    assertThat(t.categorise(0.61)).isEqualTo(CrosscoderDiff.Category.MIXED);
    assertThat(t.categorise(0.95)).isEqualTo(CrosscoderDiff.Category.B_ONLY);
    assertThat(t.categorise(Double.NaN)).isEqualTo(CrosscoderDiff.Category.ZERO);
    assertThatThrownBy(() -> new CrosscoderDiff.Thresholds(0.3, 0.25)).hasMessageContaining("shared half-width");
    assertThat(CrosscoderDiff.histogram(new double[] {0, 0.05, 0.5, 1, Double.NaN}, 10, 0, 1))
        .containsExactly(2, 0, 0, 0, 0, 1, 0, 0, 0, 1);
  }

  @Test
  void diffingNeedsACrosscoder() {
    try (SparseCoder sae = SparseCoder.initialize(manager, 8, 16, new SparseActivation.Relu(), 1, 0, 1)) {
      assertThatThrownBy(() -> CrosscoderDiff.latents(sae, 0, 1, CrosscoderDiff.Thresholds.standard()))
          .hasMessageContaining("at least 2 sources");
    }
  }

  /**
   * A hand-built crosscoder over sources a and b (4 dimensions each) with three latents exclusive
   * to b and one to a: latent 0's direction is also in a's activations (Complete Shrinkage: the
   * error in a still holds it), latent 1's is not (truly b-only), latent 2's is reconstructed in a
   * by latent 3 (Latent Decoupling).
   */
  @Test
  void latentScalingSeparatesTrueExclusivesFromShrinkageAndDecoupling() {
    int d = 4;
    int dSae = 4;
    float[] wEnc = new float[2 * d * dSae];
    float[] wDec = new float[dSae * 2 * d];
    // latents 0, 1, 2 read b's dimensions 0, 1, 2 and write them in b only; latent 3 reads and writes a's dimension 2
    for (int j = 0; j < 3; j++) {
      wEnc[(d + j) * dSae + j] = 1;
      wDec[j * 2 * d + d + j] = 1;
    }
    wEnc[2 * dSae + 3] = 1;
    wDec[3 * 2 * d + 2] = 1;
    Map<String, float[]> w = Map.of(SparseCoder.W_ENC, wEnc, SparseCoder.B_ENC, new float[dSae],
        SparseCoder.W_DEC, wDec, SparseCoder.B_DEC, new float[2 * d]);
    try (SparseCoder coder = SparseCoder.of(manager, SparseCoder.Layout.crosscoder(d, 2, dSae),
        new SparseActivation.Relu(), false, new float[] {1, 1}, 1, w);
         NDManager m = manager.newSubManager()) {
      List<CrosscoderDiff.Latent> latents = CrosscoderDiff.latents(coder, 0, 1, CrosscoderDiff.Thresholds.standard());
      assertThat(latents).extracting(CrosscoderDiff.Latent::category).containsExactly(CrosscoderDiff.Category.B_ONLY,
          CrosscoderDiff.Category.B_ONLY, CrosscoderDiff.Category.B_ONLY, CrosscoderDiff.Category.A_ONLY);
      SplittableRandom r = new SplittableRandom(5);
      int rows = 500;
      float[] x = new float[rows * 2 * d];
      for (int i = 0; i < rows; i++) {
        float c0 = (float) r.nextDouble();
        float c1 = (float) r.nextDouble();
        float c2 = (float) r.nextDouble();
        x[i * 2 * d] = c0; // model a carries latent 0's direction too
        x[i * 2 * d + 2] = c2; // and latent 2's, which latent 3 reconstructs there
        x[i * 2 * d + d] = c0;
        x[i * 2 * d + d + 1] = c1;
        x[i * 2 * d + d + 2] = c2;
      }
      LatentScaling scaling = new LatentScaling(coder, 0, 1, LatentScaling.referenceByNorm(latents, 0, 1));
      scaling.add(m.create(x, new Shape(rows, 2 * d)));
      LatentScaling.Scalars[] s = scaling.result();
      assertThat(scaling.rows()).isEqualTo(rows);
      // Complete Shrinkage: a's error holds latent 0's direction at full strength
      assertThat(s[0].nuError()).isCloseTo(1, within(1e-5));
      assertThat(s[0].betaErrorB()).isCloseTo(1, within(1e-5));
      // truly b-only
      assertThat(s[1].nuError()).isCloseTo(0, within(1e-6));
      assertThat(s[1].nuRecon()).isCloseTo(0, within(1e-6));
      // Latent Decoupling: latent 3 reconstructs latent 2's direction in a
      assertThat(s[2].nuError()).isCloseTo(0, within(1e-6));
      assertThat(s[2].nuRecon()).isCloseTo(1, within(1e-5));
      assertThat(s[3].reference()).isEqualTo(0);
    }
  }

  @Test
  void latentScalingRefusesAnSaeAndBadReferences() {
    try (SparseCoder sae = SparseCoder.initialize(manager, 8, 16, new SparseActivation.Relu(), 1, 0, 1);
         SparseCoder cc = SparseCoder.initialize(manager, SparseCoder.Layout.crosscoder(4, 2, 3),
             new SparseActivation.Relu(), 1, 0, 1)) {
      assertThatThrownBy(() -> new LatentScaling(sae, 0, 1, new int[16])).hasMessageContaining("needs a crosscoder");
      assertThatThrownBy(() -> new LatentScaling(cc, 0, 1, new int[] {0, 1, 2}))
          .hasMessageContaining("reference[2] = 2");
    }
  }
}
