package dev.loupe.core.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Direct logit effects are the logit lens without the per-token scale and the bias: for any
 * residual x, {@code unembed(x) = unembedDirections(x) / scale(x) + constant}.
 */
class DirectLogitEffectTest {

  @ParameterizedTest
  @ValueSource(strings = {"demo", "random-neox:2x64x4", "random-llama:2x64x4x2@7"})
  void theLogitLensIsTheDirectEffectOverTheNormScalePlusAConstant(String ref) {
    try (LocalModelSession s = LocalModelSession.open(ref); NDManager m = NDManager.newBaseManager()) {
      int d = s.info().dModel();
      boolean rms = s.info().architecture().equals("llama");
      Random random = new Random(3);
      float[][] constants = new float[2][];
      for (int i = 0; i < 2; i++) {
        float[] x = new float[d];
        double mean = 0;
        for (int j = 0; j < d; j++) {
          x[j] = (float) (random.nextGaussian() * (1 + i) + i);
          mean += x[j];
        }
        mean /= d;
        double var = 0;
        for (float v : x) {
          var += rms ? v * v : (v - mean) * (v - mean);
        }
        double scale = Math.sqrt(var / d + 1e-5);
        NDArray residual = m.create(x, new Shape(1, d));
        float[] lens = s.unembed(residual).toFloatArray();
        float[] direct = s.unembedDirections(residual).toFloatArray();
        assertThat(direct).hasSize(s.info().vocabSize());
        constants[i] = new float[lens.length];
        for (int v = 0; v < lens.length; v++) {
          constants[i][v] = (float) (lens[v] - direct[v] / scale);
        }
      }
      for (int v = 0; v < constants[0].length; v++) {
        assertThat(constants[1][v]).as("vocab %d", v).isCloseTo(constants[0][v],
            org.assertj.core.api.Assertions.within(2e-3f));
      }
      if (rms) {
        assertThat(constants[0][0]).isCloseTo(0f, org.assertj.core.api.Assertions.within(2e-3f));
      }
    }
  }

  @Test
  void encodersAndWrongWidthsAreRefused() {
    try (LocalModelSession s = LocalModelSession.open("demo"); NDManager m = NDManager.newBaseManager()) {
      assertThatThrownBy(() -> s.unembedDirections(m.zeros(new Shape(2, 7)))).hasMessageContaining("d_model = 192");
    }
    try (LocalModelSession s = LocalModelSession.open("random-bert:2x64x4"); NDManager m = NDManager.newBaseManager()) {
      assertThatThrownBy(() -> s.unembedDirections(m.zeros(new Shape(1, 64))))
          .isInstanceOf(UnsupportedOperationException.class);
    }
  }
}
