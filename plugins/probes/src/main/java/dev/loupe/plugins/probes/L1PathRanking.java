package dev.loupe.plugins.probes;

import dev.loupe.sdk.probe.FeatureMatrix;
import dev.loupe.sdk.probe.FeatureRanking;
import dev.loupe.sdk.probe.LogisticModel;
import dev.loupe.sdk.probe.LogisticRegression;

/**
 * Ranks features by when they enter an L1-regularised probe's path: L1 probes (standardised
 * features, OWL-QN) are fitted with a growing inverse strength C, starting at {@code startC} and
 * multiplied by {@code factor} per fit, until {@code wanted} features have non-zero weight or
 * {@code maxFits} fits are done. Features that enter earlier rank higher; among those entering at
 * the same C, the larger standardised weight (summed over classes) first; features that never enter
 * follow in F-statistic order. A single L1 fit at a fixed C (the SDK's
 * {@link FeatureRanking#l1Probe}) often keeps no feature at all on weak signals, which silently
 * turns the ranking into the F-statistic's; the path always ranks by L1.
 */
final class L1PathRanking implements FeatureRanking {
  private final double startC;
  private final double factor;
  private final int maxFits;
  private final int wanted;

  L1PathRanking(double startC, double factor, int maxFits, int wanted) {
    if (!(startC > 0) || !(factor > 1) || maxFits < 1 || wanted < 1) {
      throw new IllegalArgumentException("L1 path: expected startC > 0, factor > 1, maxFits >= 1, wanted >= 1; got "
          + startC + ", " + factor + ", " + maxFits + ", " + wanted);
    }
    this.startC = startC;
    this.factor = factor;
    this.maxFits = maxFits;
    this.wanted = wanted;
  }

  @Override
  public double[] scores(FeatureMatrix features, int[] labels) {
    int d = features.cols();
    double[] sd = columnSd(features);
    int[] enteredAt = new int[d];
    java.util.Arrays.fill(enteredAt, -1);
    double[] weightAtEntry = new double[d];
    int entered = 0;
    double c = startC;
    for (int fit = 0; fit < maxFits && entered < Math.min(wanted, d); fit++, c *= factor) {
      LogisticModel m = LogisticRegression.builder().c(c).penalty(LogisticRegression.Penalty.L1).standardize(true)
          .tolerance(1e-4).maxIterations(500).build().fit(features, labels);
      double[][] w = m.coefficients();
      for (int j = 0; j < d; j++) {
        if (enteredAt[j] >= 0) {
          continue;
        }
        double s = 0;
        for (double[] row : w) {
          s += Math.abs(row[j]) * sd[j];
        }
        if (s > 0) {
          enteredAt[j] = fit;
          weightAtEntry[j] = s;
          entered++;
        }
      }
    }
    double[] f = FeatureRanking.fStatistic().scores(features, labels);
    double[] out = new double[d];
    for (int j = 0; j < d; j++) {
      // entry fit first (earlier is higher), then weight at entry squashed into [0, 1)
      out[j] = enteredAt[j] >= 0 ? (maxFits - enteredAt[j]) + weightAtEntry[j] / (1 + weightAtEntry[j])
          : -1 / (1 + (Double.isInfinite(f[j]) ? Double.MAX_VALUE : f[j]));
    }
    return out;
  }

  private static double[] columnSd(FeatureMatrix x) {
    int n = x.rows();
    int d = x.cols();
    float[] v = x.values();
    double[] mean = new double[d];
    double[] sq = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        mean[j] += v[i * d + j];
      }
    }
    for (int j = 0; j < d; j++) {
      mean[j] /= n;
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        double t = v[i * d + j] - mean[j];
        sq[j] += t * t;
      }
    }
    for (int j = 0; j < d; j++) {
      sq[j] = Math.sqrt(sq[j] / n);
    }
    return sq;
  }

  @Override
  public String name() {
    return "l1-path(C from " + startC + ", x" + factor + " per fit, until " + wanted + " features)";
  }
}
