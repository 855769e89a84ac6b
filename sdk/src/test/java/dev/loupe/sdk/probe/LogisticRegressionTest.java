package dev.loupe.sdk.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LogisticRegressionTest {

  /** Gradient of 0.5*||W||^2 + C*sum(logloss), computed here independently of the solver. */
  private static double[][] stationarity(LogisticModel m, FeatureMatrix x, int[] y, double c) {
    double[][] p = m.probabilities(x);
    double[][] w = m.coefficients();
    boolean binary = m.classes() == 2;
    double[][] g = new double[w.length][x.cols() + 1];
    for (int o = 0; o < w.length; o++) {
      for (int j = 0; j < x.cols(); j++) {
        g[o][j] = w[o][j];
      }
    }
    for (int i = 0; i < x.rows(); i++) {
      for (int o = 0; o < w.length; o++) {
        int cls = binary ? 1 : o;
        double r = p[i][cls] - (y[i] == cls ? 1 : 0);
        for (int j = 0; j < x.cols(); j++) {
          g[o][j] += c * r * x.get(i, j);
        }
        g[o][x.cols()] += c * r;
      }
    }
    return g;
  }

  private static double maxAbs(double[][] g) {
    double m = 0;
    for (double[] row : g) {
      for (double v : row) {
        m = Math.max(m, Math.abs(v));
      }
    }
    return m;
  }

  private static double accuracy(LogisticModel m, FeatureMatrix x, int[] y) {
    return ConfusionMatrix.of(y, m.predict(x), m.classes()).accuracy();
  }

  @Test
  void binaryFitReachesTheStationaryPointOfTheScikitLearnObjective() {
    Synthetic data = Synthetic.linear(800, 6, 0.8, 1);
    LogisticModel model = LogisticRegression.builder().c(0.5).tolerance(1e-8).build().fit(data.x, data.y);

    assertThat(model.report().converged()).isTrue();
    assertThat(model.report().stop()).isEqualTo(FitReport.Stop.GRADIENT_TOLERANCE);
    assertThat(model.report().iterations()).isBetween(1, 200);
    // 1e-8 * C * n = 4e-6 in the summed objective's units
    assertThat(maxAbs(stationarity(model, data.x, data.y, 0.5))).isLessThan(1e-5);
    assertThat(model.report().gradientNorm()).isLessThanOrEqualTo(1e-8 * 0.5 * 800);
  }

  @Test
  void nonSeparableDataIsFittedAboutAsWellAsTheNoiseAllows() {
    Synthetic train = Synthetic.linear(2000, 10, 1.0, 2);
    Synthetic test = Synthetic.linear(2000, 10, 1.0, 2);
    LogisticModel model = LogisticRegression.defaults().fit(train.x, train.y);

    double trainAccuracy = accuracy(model, train.x, train.y);
    assertThat(trainAccuracy).isBetween(0.75, 0.99);
    assertThat(RocAuc.of(model.positiveScores(train.x), train.y)).isGreaterThan(0.9);
  }

  @Test
  void separableDataStillConvergesBecauseThePenaltyBoundsTheWeights() {
    Synthetic data = Synthetic.linear(300, 4, 0.0, 3);
    LogisticModel model = LogisticRegression.builder().c(100).build().fit(data.x, data.y);

    assertThat(model.report().converged()).isTrue();
    assertThat(accuracy(model, data.x, data.y)).isGreaterThanOrEqualTo(0.99);
    assertThat(maxAbs(model.coefficients())).isLessThan(1e4);
  }

  @Test
  void multinomialFitOnFourClassesIsStationaryWithCentredIntercepts() {
    Synthetic data = Synthetic.clusters(1200, 8, 4, 6.0, 4);
    LogisticModel model = LogisticRegression.builder().c(2).tolerance(1e-9).build().fit(data.x, data.y);

    assertThat(model.classes()).isEqualTo(4);
    assertThat(model.coefficients()).hasNumberOfRows(4);
    assertThat(model.report().converged()).isTrue();
    assertThat(maxAbs(stationarity(model, data.x, data.y, 2))).isLessThan(1e-4);
    double interceptSum = 0;
    for (double b : model.intercepts()) {
      interceptSum += b;
    }
    assertThat(interceptSum).isCloseTo(0, within(1e-9));
    assertThat(accuracy(model, data.x, data.y)).isGreaterThan(0.8);
    for (double[] row : model.probabilities(data.x)) {
      assertThat(row[0] + row[1] + row[2] + row[3]).isCloseTo(1, within(1e-12));
    }
  }

  @Test
  void standardisedFitIsInvariantToRescalingAColumn() {
    Synthetic data = Synthetic.linear(500, 3, 0.7, 5);
    float[] scaled = data.x.values().clone();
    for (int i = 0; i < data.x.rows(); i++) {
      scaled[i * 3] *= 1000;
    }
    FeatureMatrix big = FeatureMatrix.of(scaled, data.x.rows(), 3);
    LogisticRegression probe = LogisticRegression.builder().standardize(true).tolerance(1e-10).build();

    LogisticModel a = probe.fit(data.x, data.y);
    LogisticModel b = probe.fit(big, data.y);

    assertThat(b.coefficients()[0][0] * 1000).isCloseTo(a.coefficients()[0][0], within(1e-4));
    assertThat(b.coefficients()[0][1]).isCloseTo(a.coefficients()[0][1], within(1e-4));
    assertThat(b.intercepts()[0]).isCloseTo(a.intercepts()[0], within(1e-4));
    assertThat(b.predict(big)).containsExactly(a.predict(data.x));
  }

  @Test
  void l1PenaltyZeroesUninformativeFeaturesAndMeetsTheSubgradientConditions() {
    // 3 informative columns followed by 17 pure-noise columns
    Synthetic signal = Synthetic.linear(1000, 3, 0.3, 6);
    Synthetic noise = Synthetic.linear(1000, 17, 0, 7);
    float[] x = new float[1000 * 20];
    for (int i = 0; i < 1000; i++) {
      for (int j = 0; j < 20; j++) {
        x[i * 20 + j] = j < 3 ? signal.x.get(i, j) : noise.x.get(i, j - 3);
      }
    }
    FeatureMatrix features = FeatureMatrix.of(x, 1000, 20);
    double c = 0.05;
    LogisticModel model = LogisticRegression.builder().c(c).penalty(LogisticRegression.Penalty.L1)
        .tolerance(1e-9).build().fit(features, signal.y);

    double[] w = model.coefficients()[0];
    assertThat(w[0]).isNotZero();
    assertThat(w[1]).isNotZero();
    assertThat(w[2]).isNotZero();
    int zeros = 0;
    for (int j = 3; j < 20; j++) {
      zeros += w[j] == 0 ? 1 : 0;
    }
    assertThat(zeros).isGreaterThanOrEqualTo(14);
    // Optimality of ||w||_1 + C*sum(logloss): C*g_j = -sign(w_j) where w_j != 0, |C*g_j| <= 1 where 0.
    double[][] g = stationarity(model, features, signal.y, c);
    for (int j = 0; j < 20; j++) {
      double smooth = g[0][j] - w[j];
      if (w[j] != 0) {
        assertThat(smooth).as("feature %d", j).isCloseTo(-Math.signum(w[j]), within(1e-4));
      } else {
        assertThat(Math.abs(smooth)).as("feature %d", j).isLessThanOrEqualTo(1 + 1e-6);
      }
    }
  }

  @Test
  void iterationLimitIsReportedAsNotConverged() {
    Synthetic data = Synthetic.linear(500, 8, 0.5, 8);
    LogisticModel model = LogisticRegression.builder().maxIterations(2).tolerance(1e-12).build().fit(data.x, data.y);

    assertThat(model.report().converged()).isFalse();
    assertThat(model.report().stop()).isEqualTo(FitReport.Stop.MAX_ITERATIONS);
    assertThat(model.report().iterations()).isEqualTo(2);
  }

  @Test
  void singleThreadedAndParallelFitsAgree() {
    Synthetic data = Synthetic.linear(4000, 12, 0.5, 9);
    LogisticModel one = LogisticRegression.builder().threads(1).tolerance(1e-10).build().fit(data.x, data.y);
    LogisticModel many = LogisticRegression.builder().threads(4).tolerance(1e-10).build().fit(data.x, data.y);

    for (int j = 0; j < 12; j++) {
      assertThat(many.coefficients()[0][j]).isCloseTo(one.coefficients()[0][j], within(1e-6));
    }
  }
}
