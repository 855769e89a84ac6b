package dev.loupe.samples.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The one-pass statistics against a direct two-pass computation. */
class RunningMomentsTest {

  private static float[] gaussian(int rows, int width, double offset, double scale, long seed) {
    Random r = new Random(seed);
    float[] v = new float[rows * width];
    for (int i = 0; i < v.length; i++) {
      int d = i % width;
      v[i] = (float) (offset + d + scale * (1 + d) * r.nextGaussian());
    }
    return v;
  }

  private static double[][] twoPass(float[] v, int rows, int width) {
    double[] mean = new double[width];
    for (int r = 0; r < rows; r++) {
      for (int d = 0; d < width; d++) {
        mean[d] += v[r * width + d];
      }
    }
    for (int d = 0; d < width; d++) {
      mean[d] /= rows;
    }
    double[] var = new double[width];
    for (int r = 0; r < rows; r++) {
      for (int d = 0; d < width; d++) {
        double e = v[r * width + d] - mean[d];
        var[d] += e * e;
      }
    }
    for (int d = 0; d < width; d++) {
      var[d] /= rows;
    }
    return new double[][] {mean, var};
  }

  @Test
  void matchesTwoPassMeanAndVarianceAcrossBatches() {
    int rows = 3000;
    int width = 16;
    float[] v = gaussian(rows, width, 0, 1, 1);
    RunningMoments m = new RunningMoments(width);
    // Uneven batches, as a real source would deliver them.
    int[] cuts = {0, 1, 700, 701, 2048, 3000};
    for (int i = 0; i + 1 < cuts.length; i++) {
      float[] part = java.util.Arrays.copyOfRange(v, cuts[i] * width, cuts[i + 1] * width);
      m.addRows(part, cuts[i + 1] - cuts[i]);
    }
    double[][] expected = twoPass(v, rows, width);

    assertThat(m.count()).isEqualTo(rows);
    for (int d = 0; d < width; d++) {
      assertThat(m.mean()[d]).isCloseTo(expected[0][d], within(1e-12));
      assertThat(m.variance()[d]).isCloseTo(expected[1][d], within(1e-9 * (1 + expected[1][d])));
    }
  }

  @Test
  void staysAccurateWithALargeMeanAndSmallSpread() {
    // Values near 10 000 with a spread of 0.01: sum-of-squares would lose every digit here.
    int rows = 5000;
    int width = 4;
    float[] v = gaussian(rows, width, 10_000, 0.01, 2);
    RunningMoments m = new RunningMoments(width);
    m.addRows(v, rows);
    double[][] expected = twoPass(v, rows, width);

    for (int d = 0; d < width; d++) {
      assertThat(m.variance()[d]).isCloseTo(expected[1][d], within(expected[1][d] * 1e-6));
    }
  }

  @Test
  void normHistogramCountsEveryRowInTheObservedRange() {
    NormHistogram h = new NormHistogram(4, 0);
    for (double n : new double[] {1, 2, 3, 4, 5}) {
      h.add(n);
    }
    NormHistogram.Result r = h.finish();

    assertThat(r.edges()).containsExactly(1, 2, 3, 4, 5);
    assertThat(r.counts()).containsExactly(1, 1, 1, 2); // the maximum falls in the last bin
    assertThat(r.meanNorm()).isEqualTo(3.0);
  }

  @Test
  void aFixedRangeHistogramCountsOverflow() {
    NormHistogram h = new NormHistogram(2, 2.0);
    float[] rows = {3, 4, 0.5f, 0, 1.5f, 0};
    h.addRows(rows, 3, 2); // norms 5, 0.5, 1.5

    NormHistogram.Result r = h.finish();

    assertThat(r.counts()).containsExactly(1, 1);
    assertThat(r.overflow()).isEqualTo(1);
    assertThat(r.maxNorm()).isEqualTo(5.0);
  }

  @Test
  void topVarianceDimsAreSortedByVariance() {
    RunningMoments m = new RunningMoments(3);
    m.addRows(new float[] {0, 10, 1, 0, -10, 3}, 2); // variances 0, 100, 1
    var stats = ActivationStatsMethod.summarise("hook_embed", m, new NormHistogram(2, 0).finish(), 2);

    @SuppressWarnings("unchecked")
    var top = (java.util.List<java.util.Map<String, Object>>) stats.get("top_variance_dims");
    assertThat(top).extracting(e -> e.get("dim")).containsExactly(1, 2);
  }
}
