package dev.loupe.sdk.probe;

import java.util.stream.IntStream;

/**
 * A rule that scores each feature column by how much it tells the classes apart, for choosing the k
 * features of a k-sparse probe (Gurnee et al. 2023): mean difference, ANOVA F-statistic, or the weight
 * of an L1-regularised probe. Higher scores rank first. Implementations must be thread-safe.
 */
public interface FeatureRanking {
  /**
   * One score per column of {@code features}; {@code labels} are classes 0..K-1, one per row.
   *
   * @throws IllegalArgumentException when labels do not match the rows or hold one class only
   */
  double[] scores(FeatureMatrix features, int[] labels);

  /** A short name for reports, e.g. {@code "mean-difference"}. */
  String name();

  /** Column indices ordered by score, highest first; ties keep the lower index first. */
  default int[] order(FeatureMatrix features, int[] labels) {
    return order(scores(features, labels));
  }

  /** Indices of {@code scores}, highest first, ties by index. */
  static int[] order(double[] scores) {
    return IntStream.range(0, scores.length).boxed()
        .sorted((a, b) -> {
          int c = Double.compare(scores[b], scores[a]);
          return c != 0 ? c : Integer.compare(a, b);
        })
        .mapToInt(Integer::intValue).toArray();
  }

  /**
   * |mean(class 1) - mean(class 0)| for binary labels; for K classes the largest |mean(class k) -
   * mean(all others)|. In raw units, so it favours high-variance columns (as in the paper).
   */
  static FeatureRanking meanDifference() {
    return new FeatureRanking() {
      @Override
      public double[] scores(FeatureMatrix features, int[] labels) {
        int k = ProbeInputs.classes(features, labels);
        ClassMoments m = ClassMoments.of(features, labels, k);
        double[] out = new double[m.cols];
        for (int j = 0; j < m.cols; j++) {
          double best = 0;
          for (int c = 0; c < k; c++) {
            double restCount = m.n - m.count[c];
            double restMean = (m.total[j] - m.sum[c][j]) / restCount;
            best = Math.max(best, Math.abs(m.sum[c][j] / m.count[c] - restMean));
            if (k == 2) {
              break;
            }
          }
          out[j] = best;
        }
        return out;
      }

      @Override
      public String name() {
        return "mean-difference";
      }
    };
  }

  /**
   * One-way ANOVA F = (between-class mean square) / (within-class mean square). A constant column
   * scores 0; a column that is constant within each class but differs between them scores +infinity.
   */
  static FeatureRanking fStatistic() {
    return new FeatureRanking() {
      @Override
      public double[] scores(FeatureMatrix features, int[] labels) {
        int k = ProbeInputs.classes(features, labels);
        ClassMoments m = ClassMoments.of(features, labels, k);
        double[] out = new double[m.cols];
        for (int j = 0; j < m.cols; j++) {
          double grand = m.total[j] / m.n;
          double between = 0;
          for (int c = 0; c < k; c++) {
            double mean = m.sum[c][j] / m.count[c];
            between += m.count[c] * (mean - grand) * (mean - grand);
          }
          double within = m.withinSquares[j];
          double scale = between + within;
          double dfWithin = m.n - k;
          if (between <= 1e-12 * scale || scale == 0) {
            out[j] = 0;
          } else if (within <= 1e-12 * scale || dfWithin <= 0) {
            out[j] = Double.POSITIVE_INFINITY;
          } else {
            out[j] = (between / (k - 1)) / (within / dfWithin);
          }
        }
        return out;
      }

      @Override
      public String name() {
        return "f-statistic";
      }
    };
  }

  /**
   * |weight| of an L1-penalised logistic probe (standardised features, OWL-QN) with inverse penalty
   * {@code c}; summed over classes for multinomial probes. Columns the probe zeroes out follow, in
   * F-statistic order, with negative scores.
   *
   * @throws IllegalArgumentException when c is not positive and finite
   */
  static FeatureRanking l1Probe(double c) {
    LogisticRegression probe = LogisticRegression.builder().c(c).penalty(LogisticRegression.Penalty.L1)
        .standardize(true).tolerance(1e-5).maxIterations(500).build();
    return new FeatureRanking() {
      @Override
      public double[] scores(FeatureMatrix features, int[] labels) {
        LogisticModel model = probe.fit(features, labels);
        double[] f = fStatistic().scores(features, labels);
        double[][] w = model.coefficients();
        double[] out = new double[features.cols()];
        for (int j = 0; j < out.length; j++) {
          // Standardised weight, so columns on different scales compare fairly.
          double sd = ClassMoments.sd(features, j);
          double s = 0;
          for (double[] row : w) {
            s += Math.abs(row[j]) * sd;
          }
          out[j] = s > 0 ? s : -1 / (1 + f[j]);
        }
        return out;
      }

      @Override
      public String name() {
        return "l1-probe(C=" + c + ")";
      }
    };
  }
}
