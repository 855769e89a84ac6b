package dev.loupe.sdk.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class MetricsTest {

  @Test
  void binaryScoresMatchHandCountedConfusionMatrix() {
    // tp = 3 (rows 0, 2, 7), fn = 1 (row 1), fp = 1 (row 4), tn = 3
    int[] truth = {1, 1, 1, 0, 0, 0, 0, 1};
    int[] predicted = {1, 0, 1, 0, 1, 0, 0, 1};
    ConfusionMatrix m = ConfusionMatrix.binary(truth, predicted);

    assertThat(m.count(1, 1)).isEqualTo(3);
    assertThat(m.count(1, 0)).isEqualTo(1);
    assertThat(m.count(0, 1)).isEqualTo(1);
    assertThat(m.count(0, 0)).isEqualTo(3);
    assertThat(m.accuracy()).isEqualTo(0.75);
    assertThat(m.precision()).isEqualTo(0.75);
    assertThat(m.recall()).isEqualTo(0.75);
    assertThat(m.f1()).isEqualTo(0.75);
    // (3*3 - 1*1) / sqrt(4*4*4*4)
    assertThat(m.mcc()).isCloseTo(0.5, within(1e-12));
  }

  @Test
  void asymmetricBinaryCaseSeparatesPrecisionFromRecall() {
    // tp = 1, fp = 2, fn = 0, tn = 1
    ConfusionMatrix m = ConfusionMatrix.binary(new int[] {1, 0, 0, 0}, new int[] {1, 1, 1, 0});
    assertThat(m.precision()).isCloseTo(1.0 / 3, within(1e-12));
    assertThat(m.recall()).isEqualTo(1.0);
    assertThat(m.f1()).isCloseTo(0.5, within(1e-12));
    // (1*1 - 2*0) / sqrt(3 * 1 * 3 * 1)
    assertThat(m.mcc()).isCloseTo(1 / 3.0, within(1e-12));
  }

  @Test
  void multiclassMacroF1AndMatthewsCorrelation() {
    ConfusionMatrix m = ConfusionMatrix.of(new int[] {0, 0, 1, 1, 2, 2}, new int[] {0, 1, 1, 1, 2, 0}, 3);
    // per-class F1: 2*1/(2+2), 2*2/(3+2), 2*1/(1+2)
    assertThat(m.macroF1()).isCloseTo((0.5 + 0.8 + 2.0 / 3) / 3, within(1e-12));
    assertThat(m.probeF1()).isEqualTo(m.macroF1());
    assertThat(m.accuracy()).isCloseTo(4.0 / 6, within(1e-12));
    // Gorodkin: (c*s - sum t_k p_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)) = 12 / sqrt(22 * 24)
    assertThat(m.mcc()).isCloseTo(12 / Math.sqrt(22 * 24), within(1e-12));
  }

  @Test
  void undefinedRatiosAreZeroLikeScikitLearn() {
    ConfusionMatrix allNegative = ConfusionMatrix.binary(new int[] {1, 0, 0}, new int[] {0, 0, 0});
    assertThat(allNegative.precision()).isZero();
    assertThat(allNegative.f1()).isZero();
    assertThat(allNegative.mcc()).isZero();
  }

  @Test
  void aucCountsTiesBetweenClassesAsOneHalf() {
    // pairs (pos, neg): (0.4, 0.1) win, (0.4, 0.4) tie, (0.8, *) two wins -> 3.5 / 4
    assertThat(RocAuc.of(new double[] {0.1, 0.4, 0.4, 0.8}, new int[] {0, 0, 1, 1})).isEqualTo(0.875);
  }

  @Test
  void aucIsOneForPerfectZeroForReversedAndHalfForAllTied() {
    int[] labels = {0, 1, 0, 1};
    assertThat(RocAuc.of(new double[] {1, 2, 1, 3}, labels)).isEqualTo(1.0);
    assertThat(RocAuc.of(new double[] {3, 1, 2, 0}, labels)).isEqualTo(0.0);
    assertThat(RocAuc.of(new double[] {5, 5, 5, 5}, labels)).isEqualTo(0.5);
  }

  @Test
  void aucNeedsBothClasses() {
    assertThatThrownBy(() -> RocAuc.of(new double[] {1, 2}, new int[] {1, 1}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("labels").hasMessageContaining("no negative");
  }

  @Test
  void confusionMatrixRejectsMismatchedLengthsAndOutOfRangeClasses() {
    assertThatThrownBy(() -> ConfusionMatrix.binary(new int[] {0, 1}, new int[] {0}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("predicted");
    assertThatThrownBy(() -> ConfusionMatrix.of(new int[] {0, 3}, new int[] {0, 1}, 3))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("truth: entry 1 is 3");
  }
}
