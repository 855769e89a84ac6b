package dev.loupe.sdk.probe;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * k-sparse probing (Gurnee et al. 2023, "Finding Neurons in a Haystack"): rank the features on the
 * training rows, then for each k fit a probe on the top k and score it on train and test. The top-k
 * sets are nested and each refit starts from the previous solution, so the penalised training
 * objective never rises with k; and because a (k-1)-feature probe is also a k-feature probe (zero
 * weight on the new feature), a refit that scores lower training F1 than the previous step is
 * replaced by the previous probe, so training F1 never falls ("optimal refit").
 */
public final class SparseProbing {
  private SparseProbing() {
  }

  /** F1 (of class 1 for binary probes, macro for multiclass), Matthews correlation and accuracy. */
  public record Scores(double f1, double mcc, double accuracy) {
    public static Scores of(ConfusionMatrix m) {
      return new Scores(m.probeF1(), m.mcc(), m.accuracy());
    }
  }

  /**
   * One k: the feature columns used (top k in rank order), the probe and its scores. {@code refit} is
   * false when the refit scored lower training F1 and the previous probe was kept; {@code fit} is the
   * refit's report either way.
   */
  public record Step(int k, int[] features, LogisticModel model, Scores train, Scores test, boolean refit,
      FitReport fit) {
  }

  /** A whole sweep: the ranking's name, the full ranking of columns (best first) and one step per k. */
  public record Sweep(String ranking, int[] order, List<Step> steps) {
    /** The first step whose test F1 reaches {@code f1}, or null when none does. */
    public Step firstReaching(double f1) {
      for (Step s : steps) {
        if (s.test().f1() >= f1) {
          return s;
        }
      }
      return null;
    }
  }

  /** 1, 2, 4, ... up to and including the largest power of two not above {@code max}, then max itself. */
  public static int[] powersOfTwo(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max: expected at least 1 feature, got " + max);
    }
    List<Integer> ks = new ArrayList<>();
    for (int k = 1; k <= max && k > 0; k *= 2) {
      ks.add(k);
    }
    if (ks.get(ks.size() - 1) != max) {
      ks.add(max);
    }
    return ks.stream().mapToInt(Integer::intValue).toArray();
  }

  /** A sweep ranked by mean difference with the default L2 probe. */
  public static Sweep sweep(FeatureMatrix features, int[] labels, int[] trainRows, int[] testRows, int... ks) {
    return sweep(features, labels, trainRows, testRows, ks, FeatureRanking.meanDifference(),
        LogisticRegression.defaults());
  }

  /**
   * Ranks the columns with {@code ranking} on the training rows, then fits {@code probe} on the top k
   * columns for every k in {@code ks} (strictly increasing, 1..columns).
   *
   * @throws IllegalArgumentException when labels do not match the rows, a split is empty, out of range
   *     or overlaps the other, the training rows hold one class only, or ks are not strictly increasing
   *     within 1..columns
   */
  public static Sweep sweep(FeatureMatrix features, int[] labels, int[] trainRows, int[] testRows, int[] ks,
      FeatureRanking ranking, LogisticRegression probe) {
    ProbeInputs.requireFeatures(features);
    ProbeInputs.classes(features, labels);
    ProbeInputs.rows("trainRows", trainRows, features.rows());
    ProbeInputs.rows("testRows", testRows, features.rows());
    boolean[] inTrain = new boolean[features.rows()];
    for (int r : trainRows) {
      inTrain[r] = true;
    }
    for (int r : testRows) {
      if (inTrain[r]) {
        throw new IllegalArgumentException("testRows: row " + r + " is also in trainRows; expected disjoint splits");
      }
    }
    checkKs(ks, features.cols());
    if (ranking == null || probe == null) {
      throw new IllegalArgumentException((ranking == null ? "ranking" : "probe") + ": expected a value, got null");
    }
    FeatureMatrix trainAll = features.select(trainRows, null);
    int[] trainLabels = ProbeInputs.pick(labels, trainRows);
    int[] testLabels = ProbeInputs.pick(labels, testRows);
    int classes = ProbeInputs.classes(trainAll, trainLabels);
    for (int i = 0; i < testLabels.length; i++) {
      if (testLabels[i] >= classes) {
        throw new IllegalArgumentException("labels: test row " + testRows[i] + " has class " + testLabels[i]
            + " which the training rows never show; expected classes 0.." + (classes - 1));
      }
    }
    int[] order = ranking.order(trainAll, trainLabels);
    List<Step> steps = new ArrayList<>();
    Step previous = null;
    double[] warm = null;
    int warmK = 0;
    for (int k : ks) {
      int[] top = Arrays.copyOf(order, k);
      FeatureMatrix train = trainAll.select(null, top);
      FeatureMatrix test = features.select(testRows, top);
      double[] start = warm == null ? null : pad(warm, warmK, k, classes == 2 ? 1 : classes, probe.fitIntercept());
      LogisticModel model = probe.fitFrom(train, trainLabels, start);
      Scores trainScores = Scores.of(ConfusionMatrix.of(trainLabels, model.predict(train), classes));
      Scores testScores = Scores.of(ConfusionMatrix.of(testLabels, model.predict(test), classes));
      warm = model.parameters();
      warmK = k;
      Step step;
      if (previous != null && trainScores.f1() < previous.train().f1()) {
        step = new Step(k, top, widen(previous.model(), k), previous.train(), previous.test(), false, model.report());
      } else {
        step = new Step(k, top, model, trainScores, testScores, true, model.report());
      }
      steps.add(step);
      previous = step;
    }
    return new Sweep(ranking.name(), order, List.copyOf(steps));
  }

  private static void checkKs(int[] ks, int cols) {
    if (ks == null || ks.length == 0) {
      throw new IllegalArgumentException("ks: expected at least one k, got none");
    }
    int last = 0;
    for (int k : ks) {
      if (k <= last || k > cols) {
        throw new IllegalArgumentException("ks: " + Arrays.toString(ks) + " is not strictly increasing within 1.."
            + cols + " (the number of feature columns)");
      }
      last = k;
    }
  }

  /** Parameters for d columns extended to k columns with zero weights on the new ones. */
  private static double[] pad(double[] theta, int d, int k, int outputs, boolean intercept) {
    double[] out = new double[outputs * k + (intercept ? outputs : 0)];
    for (int o = 0; o < outputs; o++) {
      System.arraycopy(theta, o * d, out, o * k, d);
      if (intercept) {
        out[outputs * k + o] = theta[outputs * d + o];
      }
    }
    return out;
  }

  /** The same predictor reading k columns, the extra ones with weight 0. */
  private static LogisticModel widen(LogisticModel m, int k) {
    double[][] w = m.coefficients();
    double[] b = m.intercepts();
    int outputs = w.length;
    double[] theta = new double[outputs * k + outputs];
    for (int o = 0; o < outputs; o++) {
      System.arraycopy(w[o], 0, theta, o * k, w[o].length);
      theta[outputs * k + o] = b[o];
    }
    double[] mean = new double[k];
    double[] scale = new double[k];
    Arrays.fill(scale, 1.0);
    return new LogisticModel(m.classes(), k, outputs, true, theta, mean, scale, m.report());
  }
}
