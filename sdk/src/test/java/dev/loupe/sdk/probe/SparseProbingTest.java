package dev.loupe.sdk.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SparseProbingTest {
  private static final int N = 2000;
  private static final int D = 40;
  private static final int[] TRAIN = Synthetic.range(0, 1500);
  private static final int[] TEST = Synthetic.range(1500, 2000);

  @Test
  void dedicatedNeuronIsFoundAtKEqualsOne() {
    Synthetic data = Planted.dedicated(N, D, 21);
    SparseProbing.Sweep sweep = SparseProbing.sweep(data.x, data.y, TRAIN, TEST, SparseProbing.powersOfTwo(D));

    SparseProbing.Step k1 = sweep.steps().get(0);
    assertThat(k1.k()).isEqualTo(1);
    assertThat(k1.features()).containsExactly(Planted.DEDICATED);
    assertThat(k1.test().f1()).isGreaterThan(0.95);
    assertThat(sweep.firstReaching(0.9).k()).isEqualTo(1);
  }

  @Test
  void featureSpreadOverFourNeuronsNeedsKOfAtLeastFour() {
    Synthetic data = Planted.spread(N, D, 22);
    SparseProbing.Sweep sweep = SparseProbing.sweep(data.x, data.y, TRAIN, TEST, SparseProbing.powersOfTwo(D));

    SparseProbing.Step k1 = sweep.steps().get(0);
    SparseProbing.Step k4 = sweep.steps().get(2);
    assertThat(k4.k()).isEqualTo(4);
    assertThat(k4.features()).containsExactlyInAnyOrder(Planted.SPREAD);
    assertThat(k1.test().f1()).isLessThan(0.8);
    assertThat(k4.test().f1()).isGreaterThan(0.95);
    assertThat(k4.test().f1() - k1.test().f1()).isGreaterThan(0.2);
    assertThat(sweep.firstReaching(0.9).k()).isEqualTo(4);
  }

  @Test
  void nestedRefitNeverLowersTrainingF1OrRaisesTheTrainingObjective() {
    // Weak, noisy signal over many columns so that refits genuinely move around.
    Synthetic data = Synthetic.linear(600, 30, 2.5, 23);
    int[] ks = Synthetic.range(1, 31);
    SparseProbing.Sweep sweep = SparseProbing.sweep(data.x, data.y, Synthetic.range(0, 400), Synthetic.range(400, 600),
        ks, FeatureRanking.fStatistic(), LogisticRegression.defaults());

    List<SparseProbing.Step> steps = sweep.steps();
    assertThat(steps).hasSize(30);
    for (int i = 1; i < steps.size(); i++) {
      SparseProbing.Step before = steps.get(i - 1);
      SparseProbing.Step after = steps.get(i);
      assertThat(after.features()).startsWith(before.features());
      assertThat(after.train().f1()).as("train F1 at k=%d", after.k()).isGreaterThanOrEqualTo(before.train().f1());
      assertThat(after.fit().objective()).as("objective at k=%d", after.k())
          .isLessThanOrEqualTo(before.fit().objective() * (1 + 1e-12));
    }
  }

  @Test
  void keptProbeReadsAllKColumnsAndReproducesItsScores() {
    Synthetic data = Synthetic.linear(600, 30, 2.5, 23);
    SparseProbing.Sweep sweep = SparseProbing.sweep(data.x, data.y, Synthetic.range(0, 400), Synthetic.range(400, 600),
        Synthetic.range(1, 31), FeatureRanking.fStatistic(), LogisticRegression.defaults());

    for (SparseProbing.Step step : sweep.steps()) {
      FeatureMatrix train = data.x.select(Synthetic.range(0, 400), step.features());
      int[] labels = Arrays.copyOf(data.y, 400);
      assertThat(step.model().features()).isEqualTo(step.k());
      assertThat(ConfusionMatrix.binary(labels, step.model().predict(train)).f1()).isEqualTo(step.train().f1());
    }
  }

  @Test
  void multiclassSweepReportsMacroF1() {
    Synthetic data = Synthetic.clusters(900, 12, 3, 5.0, 24);
    SparseProbing.Sweep sweep = SparseProbing.sweep(data.x, data.y, Synthetic.range(0, 600), Synthetic.range(600, 900),
        new int[] {1, 4, 12}, FeatureRanking.fStatistic(), LogisticRegression.defaults());

    SparseProbing.Step all = sweep.steps().get(2);
    assertThat(all.model().classes()).isEqualTo(3);
    assertThat(all.test().f1()).isGreaterThan(sweep.steps().get(0).test().f1());
    assertThat(all.test().accuracy()).isGreaterThan(0.8);
  }

  @Test
  void powersOfTwoEndAtTheFeatureCount() {
    assertThat(SparseProbing.powersOfTwo(40)).containsExactly(1, 2, 4, 8, 16, 32, 40);
    assertThat(SparseProbing.powersOfTwo(16)).containsExactly(1, 2, 4, 8, 16);
  }

  @Test
  void overlappingSplitsAndBadKsAreRejectedBeforeAnyFit() {
    Synthetic data = Planted.dedicated(100, 8, 25);
    assertThatThrownBy(() -> SparseProbing.sweep(data.x, data.y, Synthetic.range(0, 60), Synthetic.range(50, 100), 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("testRows: row 50 is also in trainRows");
    assertThatThrownBy(() -> SparseProbing.sweep(data.x, data.y, Synthetic.range(0, 60), Synthetic.range(60, 100), 2, 2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ks:");
    assertThatThrownBy(() -> SparseProbing.sweep(data.x, data.y, Synthetic.range(0, 60), Synthetic.range(60, 100), 9))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..8");
  }
}
