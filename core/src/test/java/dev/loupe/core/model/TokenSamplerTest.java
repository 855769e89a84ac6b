package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Greedy choice, top-k and nucleus filtering and seeded sampling, on hand-made distributions. */
class TokenSamplerTest {

  @Test
  void topPKeepsTheSmallestMostLikelyPrefixReachingP() {
    double[] p = {0.1, 0.4, 0.05, 0.3, 0.15};

    double[] kept = TokenSampler.keepTopP(p, 0.8); // 0.4 + 0.3 = 0.7 < 0.8, + 0.15 = 0.85 >= 0.8

    assertThat(kept[1]).isCloseTo(0.4 / 0.85, within(1e-12));
    assertThat(kept[3]).isCloseTo(0.3 / 0.85, within(1e-12));
    assertThat(kept[4]).isCloseTo(0.15 / 0.85, within(1e-12));
    assertThat(kept[0]).isZero();
    assertThat(kept[2]).isZero();
  }

  @Test
  void topPStopsAtTheTokenThatReachesPExactly() {
    double[] kept = TokenSampler.keepTopP(new double[] {0.25, 0.5, 0.25}, 0.75);

    assertThat(kept[1]).isCloseTo(2.0 / 3, within(1e-12));
    assertThat(kept[0]).isCloseTo(1.0 / 3, within(1e-12)); // ties broken by lower id
    assertThat(kept[2]).isZero();
  }

  @Test
  void topPAlwaysKeepsAtLeastTheMostLikelyToken() {
    double[] kept = TokenSampler.keepTopP(new double[] {0.2, 0.7, 0.1}, 1e-9);

    assertThat(kept).containsExactly(0, 1, 0);
  }

  @Test
  void topKKeepsTheKMostLikelyRenormalised() {
    double[] kept = TokenSampler.keepTopK(new double[] {0.1, 0.4, 0.2, 0.3}, 2);

    assertThat(kept[1]).isCloseTo(0.4 / 0.7, within(1e-12));
    assertThat(kept[3]).isCloseTo(0.3 / 0.7, within(1e-12));
    assertThat(kept[0] + kept[2]).isZero();
  }

  @Test
  void logitOrderIsDescendingWithTiesByIdAcrossSigns() {
    float[] logits = {-1f, 2.5f, -0f, 0f, 2.5f, Float.NEGATIVE_INFINITY, -3.5f, 1e-30f};

    assertThat(TokenSampler.byDescendingLogit(logits, 0, logits.length)).containsExactly(1, 4, 7, 2, 3, 0, 6, 5);
  }

  @Test
  void logitOrderMatchesTheOrderOfTheSoftmax() {
    java.util.Random r = new java.util.Random(5);
    float[] logits = new float[1000];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) (r.nextGaussian() * 4);
    }
    logits[17] = logits[400]; // a tie

    assertThat(TokenSampler.byDescendingLogit(logits, 0, 1000))
        .containsExactly(TokenSampler.byDescendingProbability(TokenSampler.softmax(logits, 0, 1000)));
  }

  @Test
  void greedyTakesTheLargestLogitAndTheLowestIdOnTies() {
    TokenSampler greedy = new TokenSampler(0, 0, 1, 1);

    assertThat(greedy.next(new float[] {1f, 3f, 2f, 3f}, 0, 4)).isEqualTo(1);
    assertThat(greedy.next(new float[] {9f, 1f, 3f, 2f, 3f}, 1, 4)).isEqualTo(1);
  }

  @Test
  void samplingFollowsTheDistribution() {
    TokenSampler s = new TokenSampler(1, 0, 1, 42);
    float[] logits = {0f, (float) Math.log(3)}; // p = 0.25, 0.75
    int ones = 0;
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      ones += s.next(logits, 0, 2);
    }
    assertThat(ones / (double) n).isCloseTo(0.75, within(0.02));
  }

  @Test
  void samplingNeverPicksAFilteredToken() {
    TokenSampler s = new TokenSampler(2.0, 2, 1, 7);
    float[] logits = {5f, 4f, 3.9f, 1f};
    for (int i = 0; i < 1000; i++) {
      assertThat(s.next(logits, 0, 4)).isIn(0, 1);
    }
  }

  @Test
  void outOfRangeSettingsNameTheOption() {
    assertThatThrownBy(() -> new TokenSampler(-1, 0, 1, 0)).hasMessageContaining("--temperature");
    assertThatThrownBy(() -> new TokenSampler(1, -2, 1, 0)).hasMessageContaining("--top-k");
    assertThatThrownBy(() -> new TokenSampler(1, 0, 0, 0)).hasMessageContaining("--top-p");
    assertThatThrownBy(() -> new TokenSampler(1, 0, 1.5, 0)).hasMessageContaining("--top-p");
  }
}
