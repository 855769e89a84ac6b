package dev.loupe.sdk.probe;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProbeInputValidationTest {
  private static final FeatureMatrix FOUR_ROWS = FeatureMatrix.of(new float[][] {{1, 2}, {3, 4}, {5, 6}, {7, 8}});

  @Test
  void oneClassOnlyIsRejectedNamingTheLabels() {
    assertThatThrownBy(() -> LogisticRegression.defaults().fit(FOUR_ROWS, new int[] {1, 1, 1, 1}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("labels").hasMessageContaining("class 0 has no examples");
    assertThatThrownBy(() -> LogisticRegression.defaults().fit(FOUR_ROWS, new int[] {0, 0, 0, 0}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("labels: all 4 examples are class 0; expected examples of at least two classes");
  }

  @Test
  void noExamplesAreRejected() {
    FeatureMatrix empty = FeatureMatrix.of(new float[0], 0, 3);
    assertThatThrownBy(() -> LogisticRegression.defaults().fit(empty, new int[0]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels: no examples");
    assertThatThrownBy(() -> SparseProbing.sweep(FOUR_ROWS, new int[] {0, 1, 0, 1}, new int[0], new int[] {3}, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trainRows: no examples");
  }

  @Test
  void labelsAndRowsOfDifferentLengthsAreRejected() {
    assertThatThrownBy(() -> LogisticRegression.defaults().fit(FOUR_ROWS, new int[] {0, 1, 0}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("labels: got 3 labels for 4 feature rows; expected one label per row");
    assertThatThrownBy(() -> SingleFeatureScores.compute(FOUR_ROWS, new int[] {0, 1}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 2 labels for 4 feature rows");
    assertThatThrownBy(() -> FeatureRanking.fStatistic().scores(FOUR_ROWS, new int[] {0, 1, 0, 1, 1}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 5 labels for 4 feature rows");
  }

  @Test
  void nanAndInfiniteFeaturesAreRejectedWithTheirPosition() {
    assertThatThrownBy(() -> FeatureMatrix.of(new float[] {1, 2, 3, Float.NaN, 5, 6}, 3, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("features: row 1, column 1 is NaN; expected finite values");
    assertThatThrownBy(() -> FeatureMatrix.of(new double[][] {{1}, {Double.POSITIVE_INFINITY}}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 1, column 0 is Infinity");
  }

  @Test
  void malformedShapesAndOptionsAreRejected() {
    assertThatThrownBy(() -> FeatureMatrix.of(new float[5], 2, 3))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shape 2 x 3 needs 6 values, got 5");
    assertThatThrownBy(() -> FeatureMatrix.of(new float[][] {{1, 2}, {3}}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 1 has 1 values; expected 2");
    assertThatThrownBy(() -> LogisticRegression.builder().c(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("c: expected a positive");
    assertThatThrownBy(() -> LogisticRegression.defaults().fit(FOUR_ROWS, new int[] {0, 1, 0, 1}, new int[] {0, 9}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rows: row index 9 is out of range");
  }

  @Test
  void singleFeatureScoresNeedBinaryLabels() {
    assertThatThrownBy(() -> SingleFeatureScores.compute(FOUR_ROWS, new int[] {0, 1, 2, 1}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected binary labels 0 and 1");
  }

  @Test
  void modelRejectsFeaturesOfAnotherWidth() {
    LogisticModel model = LogisticRegression.defaults().fit(FOUR_ROWS, new int[] {0, 0, 1, 1});
    assertThatThrownBy(() -> model.predict(FeatureMatrix.of(new float[3], 1, 3)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 3 columns; expected 2");
  }
}
