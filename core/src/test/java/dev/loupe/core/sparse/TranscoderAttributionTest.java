package dev.loupe.core.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.Normalization;
import dev.loupe.sdk.sparse.SparseActivation;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.TranscoderAttribution;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Transcoder feature attribution on real forward passes: on every token the contributions of the
 * upstream features, the upstream bias and skip term, the upstream error, the rest of the
 * residual stream and the constant sum to the downstream feature's pre-activation (Dunefsky et
 * al. 2024's linearisation with the LayerNorm scale frozen), for LayerNorm and RMSNorm models.
 */
class TranscoderAttributionTest {

  /** A transcoder with random weights, biases, scales and skip connection: the identity must hold for any. */
  private static SparseCoder transcoder(NDManager m, int d, int dSae, long seed) {
    SparseCoder c = SparseCoder.initialize(m, SparseCoder.Layout.transcoder(d, d, dSae, true),
        new SparseActivation.TopK(8), 1.0, 0, seed);
    Random r = new Random(seed);
    c.bEnc().set(gaussian(r, dSae, 0.3f));
    c.bDec().set(gaussian(r, d, 0.2f));
    c.wSkip().set(gaussian(r, d * d, 0.05f));
    c.setInputScales(0.7f);
    c.setOutputScale(1.9f);
    return c;
  }

  private static float[] gaussian(Random r, int n, float scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * scale);
    }
    return v;
  }

  private static List<int[]> windows(LocalModelSession s, int count, int length, long seed) {
    Random r = new Random(seed);
    List<int[]> out = new ArrayList<>();
    for (int w = 0; w < count; w++) {
      int[] t = new int[length - (w % 3)];
      for (int i = 0; i < t.length; i++) {
        t[i] = r.nextInt(s.info().vocabSize());
      }
      out.add(t);
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"demo", "random-llama:3x64x4x2@3", "random-neox:3x64x4@5"})
  void contributionsSumToTheDownstreamPreActivationOnEveryToken(String ref) {
    try (LocalModelSession s = LocalModelSession.open(ref); NDManager m = NDManager.newBaseManager()) {
      int d = s.info().dModel();
      TranscoderAttribution.Transcoder up = new TranscoderAttribution.Transcoder(transcoder(m, d, 4 * d, 1),
          "blocks.0.ln2.hook_normalized", "blocks.0.hook_mlp_out");
      TranscoderAttribution.Transcoder down = new TranscoderAttribution.Transcoder(transcoder(m, d, 4 * d, 2),
          "blocks.2.ln2.hook_normalized", "blocks.2.hook_mlp_out");
      int[] latents = {0, 5, 17, 42, 100};
      TranscoderAttribution.Result r = TranscoderAttribution.attribute(s, up, down, windows(s, 6, 40, 7), latents,
          5, 4);
      assertThat(r.tokens()).isEqualTo(6 * 40 - (0 + 1 + 2 + 0 + 1 + 2));
      assertThat(r.maxSumError()).isLessThan(1e-4);
      assertThat(r.targets()).hasSize(latents.length);
      for (TranscoderAttribution.Target t : r.targets()) {
        if (t.fired() > 0) {
          double sum = t.meanFromFeatures() + t.meanFromUpstreamBiasAndSkip() + t.meanFromUpstreamError()
              + t.meanFromRestOfResidual() + t.constant();
          assertThat(sum).isCloseTo(t.meanPreActivation(), org.assertj.core.data.Offset.offset(1e-3));
          assertThat(t.byAttribution()).allSatisfy(e -> assertThat(e.tokens()).isPositive());
        }
      }
      assertThat(r.targets()).anySatisfy(t -> assertThat(t.fired()).isPositive());
    }
  }

  @Test
  void invariantScoresAreDecoderDotCentredGainTimesEncoder() {
    try (LocalModelSession s = LocalModelSession.open("demo"); NDManager m = NDManager.newBaseManager()) {
      int d = s.info().dModel();
      SparseCoder upC = transcoder(m, d, 64, 3);
      SparseCoder downC = transcoder(m, d, 32, 4);
      TranscoderAttribution.Transcoder up = new TranscoderAttribution.Transcoder(upC,
          "blocks.1.ln2.hook_normalized", "blocks.1.hook_mlp_out");
      TranscoderAttribution.Transcoder down = new TranscoderAttribution.Transcoder(downC,
          "blocks.3.ln2.hook_normalized", "blocks.3.hook_mlp_out");
      Normalization norm = s.normalization("blocks.3.ln2.hook_normalized");
      float[] scores = TranscoderAttribution.invariantScores(up, down, norm);
      float[] wDec = upC.weights(SparseCoder.W_DEC);
      float[] wEnc = downC.weights(SparseCoder.W_ENC);
      float[] gain = norm.gain();
      int i = 9;
      int j = 13;
      double mean = 0;
      double[] e = new double[d];
      for (int k = 0; k < d; k++) {
        e[k] = gain[k] * wEnc[k * 32 + j] * 0.7;
        mean += e[k] / d;
      }
      double want = 0;
      for (int k = 0; k < d; k++) {
        want += wDec[i * d + k] / 1.9 * (e[k] - mean);
      }
      assertThat((double) scores[i * 32 + j]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4 * Math.abs(want) + 1e-6));
    }
  }

  @Test
  void theUpstreamTranscoderMustReplaceAnEarlierMlp() {
    try (LocalModelSession s = LocalModelSession.open("demo"); NDManager m = NDManager.newBaseManager()) {
      int d = s.info().dModel();
      TranscoderAttribution.Transcoder late = new TranscoderAttribution.Transcoder(transcoder(m, d, 32, 5),
          "blocks.2.ln2.hook_normalized", "blocks.2.hook_mlp_out");
      TranscoderAttribution.Transcoder early = new TranscoderAttribution.Transcoder(transcoder(m, d, 32, 6),
          "blocks.1.ln2.hook_normalized", "blocks.1.hook_mlp_out");
      assertThatThrownBy(() -> TranscoderAttribution.attribute(s, late, early, windows(s, 1, 8, 1), new int[] {0}, 3, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("earlier MLP");
      TranscoderAttribution.Transcoder wrongRead = new TranscoderAttribution.Transcoder(transcoder(m, d, 32, 7),
          "blocks.2.hook_resid_mid", "blocks.2.hook_mlp_out");
      assertThatThrownBy(() -> TranscoderAttribution.attribute(s, early, wrongRead, windows(s, 1, 8, 1), new int[] {0},
          3, 1)).hasMessageContaining("blocks.2.ln2.hook_normalized");
    }
  }

  @Test
  void tokenDirectionsGiveEachTokensDirectLogitEffect() {
    try (LocalModelSession s = LocalModelSession.open("demo"); NDManager m = NDManager.newBaseManager()) {
      int d = s.info().dModel();
      int[] tokens = {'e', 'a', 0xC3};
      float[] dirs = dev.loupe.sdk.sparse.LogitEffects.tokenDirections(s, tokens);
      Random r = new Random(3);
      float[] x = gaussian(r, d, 1f);
      float[] logits = s.unembedDirections(m.create(x, new ai.djl.ndarray.types.Shape(1, d))).toFloatArray();
      for (int k = 0; k < tokens.length; k++) {
        double dot = 0;
        for (int i = 0; i < d; i++) {
          dot += (double) dirs[k * d + i] * x[i];
        }
        assertThat(dot).isCloseTo(logits[tokens[k]], org.assertj.core.data.Offset.offset(1e-3 * Math.abs(logits[tokens[k]]) + 1e-4));
      }
    }
  }
}
