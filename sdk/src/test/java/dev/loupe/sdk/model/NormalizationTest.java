package dev.loupe.sdk.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NormalizationTest {

  @Test
  void layerNormCentresScalesAndAppliesGainAndBias() {
    Normalization n = new Normalization("blocks.0.ln1.hook_normalized", "blocks.0.hook_resid_pre",
        new float[] {1, 2, 1, 1}, new float[] {0, 0, 1, 0}, true, 0);
    float[] out = n.apply(new float[] {1, 2, 3, 4, 0, 0, 0, 8});
    double s = Math.sqrt(1.25);
    assertThat(out).containsExactly(new float[] {(float) (-1.5 / s), (float) (-1.0 / s), (float) (1 + 0.5 / s),
        (float) (1.5 / s), -2 / (float) Math.sqrt(12), -4 / (float) Math.sqrt(12), 1 - 2 / (float) Math.sqrt(12),
        6 / (float) Math.sqrt(12)}, within(1e-6f));
    assertThat(n.scales(new float[] {1, 2, 3, 4, 0, 0, 0, 8})).containsExactly(new double[] {s, Math.sqrt(12)},
        within(1e-12));
  }

  @Test
  void rmsNormNeitherCentresNorShifts() {
    float[] ones = {1, 1};
    Normalization n = new Normalization("ln_final.hook_normalized", "blocks.1.hook_resid_post", ones,
        new float[2], false, 0.5);
    assertThat(n.apply(new float[] {3, 4})).containsExactly(new float[] {(float) (3 / Math.sqrt(13)),
        (float) (4 / Math.sqrt(13))}, within(1e-7f));
    assertThat(n.identityAffine()).isTrue();
    assertThat(n.toString()).contains("RMSNorm").contains("ln_final.hook_normalized");
  }

  /** Frozen sigma makes the norm affine: a read-out splits exactly over the input's components. */
  @Test
  void withTheScaleFrozenAReadOutSplitsOverComponents() {
    Random r = new Random(1);
    int d = 16;
    float[] gain = new float[d];
    float[] bias = new float[d];
    float[] e = new float[d];
    float[][] parts = new float[3][d];
    float[] x = new float[d];
    for (int j = 0; j < d; j++) {
      gain[j] = (float) (1 + 0.3 * r.nextGaussian());
      bias[j] = (float) (0.3 * r.nextGaussian());
      e[j] = (float) r.nextGaussian();
      for (float[] p : parts) {
        p[j] = (float) (r.nextGaussian() + 0.5);
        x[j] += p[j];
      }
    }
    Normalization n = new Normalization("blocks.0.ln2.hook_normalized", "blocks.0.hook_resid_mid", gain, bias, true,
        1e-5);
    float[] out = n.apply(x);
    double direct = 0;
    for (int j = 0; j < d; j++) {
      direct += e[j] * out[j];
    }
    double sigma = n.scales(x)[0];
    double[] ge = new double[d];
    double mean = 0;
    for (int j = 0; j < d; j++) {
      ge[j] = gain[j] * e[j];
      mean += ge[j] / d;
    }
    double split = 0;
    for (float[] p : parts) {
      for (int j = 0; j < d; j++) {
        split += (ge[j] - mean) / sigma * p[j];
      }
    }
    for (int j = 0; j < d; j++) {
      split += e[j] * bias[j];
    }
    assertThat(split).isCloseTo(direct, within(1e-5));
  }

  @Test
  void arraysAreCopiedInAndOut() {
    float[] gain = {1, 2};
    float[] bias = {0, 1};
    Normalization n = new Normalization("h", "in", gain, bias, true, 1e-5);
    gain[0] = 9;
    bias[0] = 9;
    n.gain()[1] = 9;
    n.bias()[1] = 9;
    assertThat(n.gain()).containsExactly(1, 2);
    assertThat(n.bias()).containsExactly(0, 1);
    assertThat(n).isEqualTo(new Normalization("h", "in", new float[] {1, 2}, new float[] {0, 1}, true, 1e-5))
        .hasSameHashCodeAs(new Normalization("h", "in", new float[] {1, 2}, new float[] {0, 1}, true, 1e-5))
        .isNotEqualTo(new Normalization("h", "in", new float[] {1, 2}, new float[] {0, 1}, false, 1e-5));
  }

  @Test
  void badArgumentsAreRefused() {
    assertThatThrownBy(() -> new Normalization("h", "in", new float[2], new float[3], true, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gain has 2 entries but bias has 3");
    assertThatThrownBy(() -> new Normalization("h", "in", new float[0], new float[0], true, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
    assertThatThrownBy(() -> new Normalization("h", "in", new float[1], new float[1], true, -1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eps");
    assertThatThrownBy(() -> new Normalization("h", "in", new float[1], new float[1], true, Double.NaN))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eps");
    assertThatThrownBy(() -> new Normalization(null, "in", new float[1], new float[1], true, 0))
        .isInstanceOf(NullPointerException.class);
    Normalization n = new Normalization("h", "in", new float[] {1, 1}, new float[2], true, 0);
    assertThatThrownBy(() -> n.apply(new float[3])).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("3 values are not whole rows of width 2");
  }

  @Test
  void sessionsThatDoNotDescribeTheirNormsSaySo() {
    ModelSession s = new ModelSession() {
      @Override
      public ModelInfo info() {
        return new ModelInfo("fake", "toy", true, 1, 2, 1, 2, 4, 8, 8, 0, List.of(), Map.of());
      }

      @Override
      public int[] encode(String text) {
        return new int[0];
      }

      @Override
      public String decode(int[] tokenIds) {
        return "";
      }

      @Override
      public String tokenText(int tokenId) {
        return "";
      }

      @Override
      public RunResult run(int[][] tokens, Set<String> capture) {
        throw new UnsupportedOperationException();
      }

      @Override
      public Trace trace(int[][] tokens) {
        throw new UnsupportedOperationException();
      }

      @Override
      public NDArray unembed(NDArray residual) {
        throw new UnsupportedOperationException();
      }
    };
    assertThatThrownBy(() -> s.normalization("ln_final.hook_normalized"))
        .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("model fake (toy)");
  }
}
