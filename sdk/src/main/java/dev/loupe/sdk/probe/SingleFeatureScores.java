package dev.loupe.sdk.probe;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Scores every feature column on its own against binary labels: ROC AUC and the best F1 a single
 * threshold reaches, for finding dedicated neurons. Each column is sorted once (primitive sort) and
 * swept; columns are scored in parallel on the common fork-join pool.
 */
public final class SingleFeatureScores {
  private SingleFeatureScores() {
  }

  /**
   * One column's scores. {@code auc} is the AUC of the raw value (below 0.5 when the feature is lower
   * for positives). The best-F1 rule predicts positive when the value is {@code >= threshold}
   * ({@code above} true) or {@code <= threshold} ({@code above} false), whichever reaches higher F1.
   */
  public record Score(int feature, double auc, double bestF1, float threshold, boolean above) {
    /** AUC of the better direction: max(auc, 1 - auc). */
    public double separation() {
      return Math.max(auc, 1 - auc);
    }
  }

  /**
   * Scores every column of {@code features} against {@code labels} (0 or 1, one per row).
   *
   * @throws IllegalArgumentException when labels are null, not one per row, not 0/1, or one class is missing
   */
  public static Score[] compute(FeatureMatrix features, int[] labels) {
    ProbeInputs.requireBinary(features, labels);
    Score[] out = new Score[features.cols()];
    IntStream.range(0, features.cols()).parallel().forEach(j -> out[j] = scoreColumn(features, labels, j));
    return out;
  }

  /** Scores one column (no parallelism). */
  public static Score score(FeatureMatrix features, int[] labels, int column) {
    ProbeInputs.requireBinary(features, labels);
    if (column < 0 || column >= features.cols()) {
      throw new IllegalArgumentException("column: " + column + " is out of range; expected 0.." + (features.cols() - 1));
    }
    return scoreColumn(features, labels, column);
  }

  /** The indices of {@code scores} ordered by best F1, highest first (ties by AUC separation, then index). */
  public static int[] byBestF1(Score[] scores) {
    return IntStream.range(0, scores.length).boxed()
        .sorted((a, b) -> {
          int c = Double.compare(scores[b].bestF1(), scores[a].bestF1());
          return c != 0 ? c : Double.compare(scores[b].separation(), scores[a].separation());
        })
        .mapToInt(Integer::intValue).toArray();
  }

  private static Score scoreColumn(FeatureMatrix features, int[] labels, int column) {
    int n = features.rows();
    int d = features.cols();
    float[] x = features.values();
    long[] keys = new long[n];
    long positives = 0;
    for (int i = 0; i < n; i++) {
      float v = x[i * d + column];
      keys[i] = ((long) sortableBits(v) << 32) | i;
      positives += labels[i];
    }
    long negatives = n - positives;
    Arrays.sort(keys);
    double rankSum = 0;
    double bestF1 = -1;
    float bestThreshold = 0;
    boolean bestAbove = true;
    long posBelow = 0;
    long negBelow = 0;
    int i = 0;
    while (i < n) {
      int key = (int) (keys[i] >> 32);
      int j = i;
      long pos = 0;
      while (j < n && (int) (keys[j] >> 32) == key) {
        pos += labels[(int) keys[j]];
        j++;
      }
      float value = x[(int) keys[i] * d + column];
      // Predict positive for values >= this one.
      long tp = positives - posBelow;
      long fp = negatives - negBelow;
      double f1 = 2.0 * tp / (tp + fp + positives);
      if (f1 > bestF1) {
        bestF1 = f1;
        bestThreshold = value;
        bestAbove = true;
      }
      rankSum += pos * (i + 1 + j) / 2.0;
      posBelow += pos;
      negBelow += (j - i) - pos;
      // Predict positive for values <= this one.
      double f1Below = 2.0 * posBelow / (posBelow + negBelow + positives);
      if (f1Below > bestF1) {
        bestF1 = f1Below;
        bestThreshold = value;
        bestAbove = false;
      }
      i = j;
    }
    double auc = RocAuc.fromRankSum(rankSum, positives, negatives);
    return new Score(column, auc, bestF1, bestThreshold, bestAbove);
  }

  /** An int whose signed order is the float's numeric order (-0 and +0 equal). */
  private static int sortableBits(float v) {
    int bits = Float.floatToRawIntBits(v == 0 ? 0f : v);
    return bits ^ ((bits >> 31) & 0x7fffffff);
  }
}
