package dev.loupe.sdk.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SingleFeatureScoresTest {

  @Test
  void smallColumnHasHandComputedAucAndBestThreshold() {
    // values 0.1 0.4 0.4 0.8 with labels 0 0 1 1: AUC 3.5/4; ">= 0.8" gives tp 1, fp 0, fn 1 -> F1 2/3;
    // ">= 0.4" gives tp 2, fp 1 -> F1 0.8 (best)
    FeatureMatrix x = FeatureMatrix.of(new float[] {0.4f, 0.1f, 0.8f, 0.4f}, 4, 1);
    SingleFeatureScores.Score s = SingleFeatureScores.compute(x, new int[] {0, 0, 1, 1})[0];

    assertThat(s.auc()).isEqualTo(0.875);
    assertThat(s.bestF1()).isCloseTo(0.8, within(1e-12));
    assertThat(s.threshold()).isEqualTo(0.4f);
    assertThat(s.above()).isTrue();
  }

  @Test
  void featureLowerForPositivesIsScoredBelowItsThreshold() {
    FeatureMatrix x = FeatureMatrix.of(new float[] {5, -1, 4, -2, 3, -3}, 6, 1);
    SingleFeatureScores.Score s = SingleFeatureScores.compute(x, new int[] {0, 1, 0, 1, 0, 1})[0];

    assertThat(s.auc()).isZero();
    assertThat(s.separation()).isEqualTo(1.0);
    assertThat(s.bestF1()).isEqualTo(1.0);
    assertThat(s.above()).isFalse();
    assertThat(s.threshold()).isEqualTo(-1f);
  }

  @Test
  void aucAgreesWithRocAucOnEveryColumnIncludingTiesAndSignedZeros() {
    Synthetic data = Synthetic.linear(500, 6, 1.0, 41);
    float[] v = data.x.values().clone();
    for (int i = 0; i < v.length; i++) {
      v[i] = Math.round(v[i] * 2) / 2f; // many ties, and both -0.0 and 0.0
    }
    FeatureMatrix x = FeatureMatrix.of(v, 500, 6);
    SingleFeatureScores.Score[] scores = SingleFeatureScores.compute(x, data.y);

    for (int j = 0; j < 6; j++) {
      float[] col = x.column(j);
      double[] d = new double[col.length];
      for (int i = 0; i < d.length; i++) {
        d[i] = col[i];
      }
      assertThat(scores[j].auc()).as("column %d", j).isCloseTo(RocAuc.of(d, data.y), within(1e-12));
    }
  }

  @Test
  void dedicatedNeuronStandsOutWhileSpreadNeuronsDoNot() {
    Synthetic dedicated = Planted.dedicated(3000, 64, 42);
    SingleFeatureScores.Score[] d = SingleFeatureScores.compute(dedicated.x, dedicated.y);
    assertThat(SingleFeatureScores.byBestF1(d)[0]).isEqualTo(Planted.DEDICATED);
    assertThat(d[Planted.DEDICATED].bestF1()).isGreaterThan(0.95);
    assertThat(d[Planted.DEDICATED].auc()).isGreaterThan(0.99);

    Synthetic spread = Planted.spread(3000, 64, 43);
    SingleFeatureScores.Score[] s = SingleFeatureScores.compute(spread.x, spread.y);
    for (int j : Planted.SPREAD) {
      assertThat(s[j].bestF1()).isLessThan(0.8);
      assertThat(s[j].auc()).isBetween(0.7, 0.9);
    }
  }
}
