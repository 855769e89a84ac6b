package dev.loupe.sdk.probe;

/**
 * Area under the ROC curve from scores and binary labels, by the rank-sum (Mann-Whitney) form with
 * tied scores given their average rank, so a tie between a positive and a negative counts one half.
 */
public final class RocAuc {
  private RocAuc() {
  }

  /**
   * The probability that a random positive scores above a random negative (ties count 1/2).
   *
   * @throws IllegalArgumentException when inputs are null, lengths differ, a score is NaN, a label is
   *     not 0 or 1, or either class is missing
   */
  public static double of(double[] scores, int[] labels) {
    if (scores == null || labels == null) {
      throw new IllegalArgumentException((scores == null ? "scores" : "labels") + ": expected an array, got null");
    }
    if (scores.length != labels.length) {
      throw new IllegalArgumentException("labels: got " + labels.length + " labels for " + scores.length
          + " scores; expected one per score");
    }
    long positives = 0;
    for (int i = 0; i < scores.length; i++) {
      if (Double.isNaN(scores[i])) {
        throw new IllegalArgumentException("scores: entry " + i + " is NaN; expected a number");
      }
      if (labels[i] != 0 && labels[i] != 1) {
        throw new IllegalArgumentException("labels: entry " + i + " is " + labels[i] + "; expected 0 or 1");
      }
      positives += labels[i];
    }
    long negatives = scores.length - positives;
    if (positives == 0 || negatives == 0) {
      throw new IllegalArgumentException("labels: " + (positives == 0 ? "no positive (1)" : "no negative (0)")
          + " examples among " + scores.length + "; expected both classes for an AUC");
    }
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> Double.compare(scores[a] == 0 ? 0.0 : scores[a], scores[b] == 0 ? 0.0 : scores[b]));
    double positiveRankSum = 0;
    int i = 0;
    while (i < order.length) {
      int j = i;
      double v = scores[order[i]];
      int pos = 0;
      while (j < order.length && scores[order[j]] == v) {
        pos += labels[order[j]];
        j++;
      }
      // ranks i+1..j share their mean
      positiveRankSum += pos * (i + 1 + j) / 2.0;
      i = j;
    }
    return fromRankSum(positiveRankSum, positives, negatives);
  }

  static double fromRankSum(double positiveRankSum, long positives, long negatives) {
    return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
  }
}
