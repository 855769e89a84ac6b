package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Evaluation measures and dead-latent bookkeeping on hand-computed cases. */
class SparseMetricsTest {
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  @Test
  void mseAndFractionOfVarianceExplained() {
    try (NDManager m = manager.newSubManager()) {
      NDArray x = m.create(new float[] {0, 0, 2, 2}, new Shape(2, 2));
      NDArray perfect = x.duplicate();
      NDArray mean = m.create(new float[] {1, 1, 1, 1}, new Shape(2, 2));
      NDArray halfway = m.create(new float[] {0.5f, 0.5f, 1.5f, 1.5f}, new Shape(2, 2));
      assertThat(SparseMetrics.mse(x, perfect)).isZero();
      assertThat(SparseMetrics.fractionOfVarianceExplained(x, perfect)).isEqualTo(1.0);
      assertThat(SparseMetrics.fractionOfVarianceExplained(x, mean)).isEqualTo(0.0);
      // residual 4 x 0.25 = 1 against total variance 4
      assertThat(SparseMetrics.mse(x, halfway)).isEqualTo(0.25);
      assertThat(SparseMetrics.fractionOfVarianceExplained(x, halfway)).isEqualTo(0.75);
    }
  }

  @Test
  void l0CountsNonZeroLatentsPerRow() {
    try (NDManager m = manager.newSubManager()) {
      NDArray code = m.create(new float[] {0, 1, 2, 0, 0, 0, 3, 4, 5}, new Shape(3, 3));
      assertThat(SparseMetrics.l0PerRow(code)).containsExactly(2, 0, 3);
      assertThat(SparseMetrics.l0(code)).isCloseTo(5.0 / 3, within(1e-12));
    }
  }

  @Test
  void densityHistogramBinsLog10DensityAndCountsDeadApart() {
    double[] density = {0, 1e-9, 1e-5, 1e-5, 0.5, 1};
    SparseMetrics.DensityHistogram h = SparseMetrics.densityHistogram(density, 10, -10, 0);
    assertThat(h.dead()).isEqualTo(1);
    assertThat(h.counts()[1]).isEqualTo(1);
    assertThat(h.counts()[5]).isEqualTo(2);
    assertThat(h.counts()[9]).isEqualTo(2);
    assertThat(h.edges()).hasSize(11).startsWith(-10.0).endsWith(0.0);
    assertThat(SparseMetrics.deadFraction(density)).isEqualTo(1.0 / 6);
    assertThat(SparseMetrics.denseFraction(density, 0.1)).isEqualTo(2.0 / 6);
  }

  @Test
  void evaluateMeasuresHeldOutRowsAndSkipsNonFiniteOnes() {
    // an identity coder on 2 dimensions plus one latent that never fires
    try (SparseCoder c = SparseCoder.of(manager, 2, 3, new SparseActivation.Relu(), true, 1f,
        new float[] {1, 0, 0, 0, 1, 0}, new float[] {0, 0, -1}, new float[] {1, 0, 0, 1, 0, 0}, new float[2], null);
         NDManager m = manager.newSubManager()) {
      NDArray x = m.create(new float[] {1, 0, 0, 2, Float.NaN, 1, 3, 3}, new Shape(4, 2));
      SparseMetrics.Evaluation e = SparseMetrics.evaluate(c, x);
      assertThat(e.rows()).isEqualTo(3);
      assertThat(e.skippedRows()).isEqualTo(1);
      assertThat(e.mse()).isZero();
      assertThat(e.fve()).isEqualTo(1.0);
      assertThat(e.l0()).isCloseTo(4.0 / 3, within(1e-12));
      assertThat(e.firedCounts()).containsExactly(2, 2, 0);
      assertThat(SparseMetrics.deadFraction(e.density())).isCloseTo(1.0 / 3, within(1e-12));
    }
  }

  @Test
  void trackerCountsTokensSinceEachLatentLastFired() {
    DeadLatentTracker t = new DeadLatentTracker(3, 100);
    t.update(new long[] {5, 0, 0}, 60);
    t.update(new long[] {0, 1, 0}, 60);
    assertThat(t.tokensSinceFired()).containsExactly(60, 0, 120);
    assertThat(t.dead()).containsExactly(2);
    assertThat(t.deadFraction()).isEqualTo(1.0 / 3);
    assertThat(t.density()).containsExactly(5.0 / 120, 1.0 / 120, 0);
    t.revive(2);
    assertThat(t.dead()).isEmpty();
    t.resetDensity();
    assertThat(t.densityTokens()).isZero();
    assertThat(t.tokensSinceFired()).containsExactly(60, 0, 0);
  }
}
