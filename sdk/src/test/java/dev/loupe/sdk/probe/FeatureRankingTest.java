package dev.loupe.sdk.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FeatureRankingTest {
  // column 0: class 0 = 1,2,3 and class 1 = 4,5,6; column 1: constant; column 2: same in both classes
  private static final FeatureMatrix SMALL = FeatureMatrix.of(new float[][] {
      {1, 7, 1}, {2, 7, 2}, {3, 7, 3}, {4, 7, 1}, {5, 7, 2}, {6, 7, 3}});
  private static final int[] SMALL_LABELS = {0, 0, 0, 1, 1, 1};

  @Test
  void fStatisticMatchesTheAnovaTableByHand() {
    // between = 3*(2-3.5)^2 + 3*(5-3.5)^2 = 13.5 on 1 df; within = 2 + 2 = 4 on 4 df
    double[] f = FeatureRanking.fStatistic().scores(SMALL, SMALL_LABELS);
    assertThat(f[0]).isCloseTo(13.5, within(1e-12));
    assertThat(f[1]).isZero();
    assertThat(f[2]).isZero();
  }

  @Test
  void meanDifferenceIsTheGapBetweenClassMeans() {
    double[] m = FeatureRanking.meanDifference().scores(SMALL, SMALL_LABELS);
    assertThat(m[0]).isCloseTo(3, within(1e-12));
    assertThat(m[1]).isZero();
    assertThat(m[2]).isZero();
  }

  @Test
  void multiclassMeanDifferenceTakesTheMostDistinctClass() {
    FeatureMatrix x = FeatureMatrix.of(new float[][] {{0}, {0}, {1}, {1}, {10}, {10}});
    // class 2 vs rest: 10 - 0.5
    assertThat(FeatureRanking.meanDifference().scores(x, new int[] {0, 0, 1, 1, 2, 2})[0]).isCloseTo(9.5, within(1e-12));
  }

  @Test
  void orderBreaksTiesByIndex() {
    assertThat(FeatureRanking.order(new double[] {1, 3, 3, Double.POSITIVE_INFINITY, 0}))
        .containsExactly(3, 1, 2, 0, 4);
  }

  @Test
  void everyRankingPutsThePlantedNeuronsFirst() {
    Synthetic spread = Planted.spread(2000, 40, 31);
    for (FeatureRanking ranking : new FeatureRanking[] {
        FeatureRanking.meanDifference(), FeatureRanking.fStatistic(), FeatureRanking.l1Probe(0.01)}) {
      int[] top4 = Arrays.copyOf(ranking.order(spread.x, spread.y), 4);
      assertThat(top4).as(ranking.name()).containsExactlyInAnyOrder(Planted.SPREAD);
    }
  }

  @Test
  void l1RankingPlacesZeroedColumnsAfterSelectedOnes() {
    Synthetic spread = Planted.spread(2000, 40, 32);
    double[] scores = FeatureRanking.l1Probe(0.005).scores(spread.x, spread.y);
    double[] f = FeatureRanking.fStatistic().scores(spread.x, spread.y);
    long selected = Arrays.stream(scores).filter(s -> s > 0).count();
    assertThat(selected).as(Arrays.toString(scores)).isBetween(4L, 30L);
    for (int j : Planted.SPREAD) {
      assertThat(scores[j]).isPositive();
    }
    int[] order = FeatureRanking.order(scores);
    for (int i = (int) selected + 1; i < order.length; i++) {
      assertThat(f[order[i]]).isLessThanOrEqualTo(f[order[i - 1]]);
    }
  }
}
