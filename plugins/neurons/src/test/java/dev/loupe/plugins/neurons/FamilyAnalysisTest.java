package dev.loupe.plugins.neurons;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.sdk.dataset.LabelledSample;
import dev.loupe.sdk.probe.FeatureMatrix;
import dev.loupe.sdk.probe.SingleFeatureScores;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The finder's numerics on hand-made rows. */
class FamilyAnalysisTest {

  @Test
  void correlatedCandidatesChainIntoOneGroupAndLonersAreDropped() {
    // x, x + 0.45 y and x + 1.1 y for y orthogonal to x: 0-1 and 1-2 correlate above 0.9, 0-2 only
    // at 0.67, so the group is a chain; column 3 (0.48..0.79 with the others) stays alone
    float[] x = {-3.5f, -2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.5f};
    float[] y = {1, -1, 1, -1, -1, 1, -1, 1};
    float[] lone = {3, 1, 4, 1, 5, 9, 2, 6};
    float[][] rows = new float[8][];
    for (int i = 0; i < 8; i++) {
      rows[i] = new float[] {x[i], x[i] + 0.45f * 2.29f * y[i], x[i] + 1.1f * 2.29f * y[i], lone[i]};
    }
    List<FamilyAnalysis.Group> groups = FamilyAnalysis.groups(FeatureMatrix.of(rows), new int[] {0, 1, 2, 3}, 0.9);

    assertThat(groups).hasSize(1);
    assertThat(groups.get(0).columns()).containsExactly(0, 1, 2);
    assertThat(groups.get(0).meanCorrelation()).isBetween(0.8, 0.85);
  }

  @Test
  void histogramsSplitEachSideOverTheColumnsRange() {
    FeatureMatrix x = FeatureMatrix.of(new float[][] {{0}, {1}, {2}, {3}, {4}});
    FamilyAnalysis.Histogram h = FamilyAnalysis.histogram(x, new int[] {0, 0, 1, 1, 1}, 0, 4);

    assertThat(h.min()).isZero();
    assertThat(h.max()).isEqualTo(4);
    assertThat(h.negative()).containsExactly(1, 1, 0, 0);
    assertThat(h.positive()).containsExactly(0, 0, 1, 2);
  }

  @Test
  void testF1UsesTheRuleChosenOnTrainingRows() {
    FeatureMatrix train = FeatureMatrix.of(new float[][] {{0}, {1}, {5}, {6}});
    SingleFeatureScores.Score[] rules = SingleFeatureScores.compute(train, new int[] {0, 0, 1, 1});
    // the rule is value >= 5: on these rows it finds one of two positives and no negative
    FeatureMatrix test = FeatureMatrix.of(new float[][] {{4}, {7}, {0}, {2}});
    double[] f1 = FamilyAnalysis.f1At(test, new int[] {1, 1, 0, 0}, rules);

    assertThat(rules[0].threshold()).isEqualTo(5f);
    assertThat(f1[0]).isEqualTo(2.0 / 3);
  }

  @Test
  void aClassAgainstTheRestIsBalancedFromEveryOtherClass() {
    LabelledSample sample = new LabelledSample("d", List.of("a", "b", "c"), 1, 100, 50, 1);
    float[] v = new float[300];
    int[] labels = new int[300];
    int[] docs = new int[300];
    for (int i = 0; i < 300; i++) {
      v[i] = i;
      labels[i] = i % 3;
      docs[i] = i / 3;
    }
    sample.add(new dev.loupe.sdk.activation.ActivationBatch("m", "h", 0, 300, 1, v, new int[300], docs, new int[300],
        null), labels);
    FamilyRows rows = FamilyRows.of(sample.balanced(), 2, 3);

    assertThat(rows.trainPerClass()).isPositive();
    assertThat(Arrays.stream(rows.labels()).sum()).isEqualTo(rows.trainPerClass() + rows.testPerClass());
    assertThat(rows.rows().rows()).isEqualTo(2 * (rows.trainPerClass() + rows.testPerClass()));
    for (int i = 0; i < rows.rows().rows(); i++) {
      // positives are rows of class c (i % 3 == 2), negatives never are
      assertThat((int) rows.rows().get(i, 0) % 3 == 2).isEqualTo(rows.labels()[i] == 1);
    }
  }
}
