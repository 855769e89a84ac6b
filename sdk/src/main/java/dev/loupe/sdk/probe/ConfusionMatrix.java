package dev.loupe.sdk.probe;

/**
 * Counts of (true class, predicted class) pairs and the scores read from them: accuracy, per-class
 * precision, recall and F1, macro F1, and the Matthews correlation coefficient. Undefined ratios (no
 * predicted or no true examples of a class) are 0, as scikit-learn reports them. Immutable.
 */
public final class ConfusionMatrix {
  private final long[][] counts;
  private final long total;

  private ConfusionMatrix(long[][] counts, long total) {
    this.counts = counts;
    this.total = total;
  }

  /**
   * Tallies {@code truth[i]} against {@code predicted[i]}, both class indices in 0..classes-1.
   *
   * @throws IllegalArgumentException when either is null, their lengths differ, they are empty, or a
   *     class index is out of range
   */
  public static ConfusionMatrix of(int[] truth, int[] predicted, int classes) {
    if (truth == null || predicted == null) {
      throw new IllegalArgumentException((truth == null ? "truth" : "predicted") + ": expected class indices, got null");
    }
    if (truth.length != predicted.length) {
      throw new IllegalArgumentException("predicted: got " + predicted.length + " predictions for " + truth.length
          + " true labels; expected one per example");
    }
    if (truth.length == 0) {
      throw new IllegalArgumentException("truth: no examples; expected at least one");
    }
    if (classes < 2) {
      throw new IllegalArgumentException("classes: expected at least 2, got " + classes);
    }
    long[][] counts = new long[classes][classes];
    for (int i = 0; i < truth.length; i++) {
      check("truth", i, truth[i], classes);
      check("predicted", i, predicted[i], classes);
      counts[truth[i]][predicted[i]]++;
    }
    return new ConfusionMatrix(counts, truth.length);
  }

  /** Binary convenience: {@code of(truth, predicted, 2)}. */
  public static ConfusionMatrix binary(int[] truth, int[] predicted) {
    return of(truth, predicted, 2);
  }

  private static void check(String name, int i, int label, int classes) {
    if (label < 0 || label >= classes) {
      throw new IllegalArgumentException(name + ": entry " + i + " is " + label + "; expected a class in 0.."
          + (classes - 1));
    }
  }

  public int classes() {
    return counts.length;
  }

  /** Examples of true class {@code truth} predicted as {@code predicted}. */
  public long count(int truth, int predicted) {
    return counts[truth][predicted];
  }

  public long total() {
    return total;
  }

  public double accuracy() {
    long right = 0;
    for (int k = 0; k < counts.length; k++) {
      right += counts[k][k];
    }
    return (double) right / total;
  }

  public double precision(int cls) {
    long predicted = 0;
    for (long[] row : counts) {
      predicted += row[cls];
    }
    return predicted == 0 ? 0 : (double) counts[cls][cls] / predicted;
  }

  public double recall(int cls) {
    long actual = 0;
    for (long v : counts[cls]) {
      actual += v;
    }
    return actual == 0 ? 0 : (double) counts[cls][cls] / actual;
  }

  public double f1(int cls) {
    long tp = counts[cls][cls];
    long predicted = 0;
    long actual = 0;
    for (int k = 0; k < counts.length; k++) {
      predicted += counts[k][cls];
      actual += counts[cls][k];
    }
    return predicted + actual == 0 ? 0 : 2.0 * tp / (predicted + actual);
  }

  /** Binary scores are about class 1 (the positive class). */
  public double precision() {
    return precision(1);
  }

  public double recall() {
    return recall(1);
  }

  public double f1() {
    return f1(1);
  }

  /** Unweighted mean of the per-class F1 scores. */
  public double macroF1() {
    double s = 0;
    for (int k = 0; k < counts.length; k++) {
      s += f1(k);
    }
    return s / counts.length;
  }

  /** F1 of class 1 for two classes, macro F1 for more: the single F1 a probe report shows. */
  public double probeF1() {
    return counts.length == 2 ? f1() : macroF1();
  }

  /**
   * Matthews correlation coefficient, in its multiclass form (Gorodkin 2004), which for two classes is
   * {@code (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))}; 0 when undefined.
   */
  public double mcc() {
    int k = counts.length;
    double[] truthTotals = new double[k];
    double[] predictedTotals = new double[k];
    double correct = 0;
    for (int a = 0; a < k; a++) {
      correct += counts[a][a];
      for (int b = 0; b < k; b++) {
        truthTotals[a] += counts[a][b];
        predictedTotals[b] += counts[a][b];
      }
    }
    double s = total;
    double cov = correct * s;
    double pp = s * s;
    double tt = s * s;
    for (int a = 0; a < k; a++) {
      cov -= truthTotals[a] * predictedTotals[a];
      pp -= predictedTotals[a] * predictedTotals[a];
      tt -= truthTotals[a] * truthTotals[a];
    }
    double denom = Math.sqrt(pp) * Math.sqrt(tt);
    return denom == 0 ? 0 : cov / denom;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("ConfusionMatrix[rows=truth, cols=predicted");
    for (long[] row : counts) {
      sb.append(", ").append(java.util.Arrays.toString(row));
    }
    return sb.append(']').toString();
  }
}
