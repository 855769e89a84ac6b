package dev.loupe.plugins.neurons;

import dev.loupe.sdk.probe.FeatureMatrix;
import dev.loupe.sdk.probe.FeatureRanking;
import dev.loupe.sdk.probe.LogisticRegression;
import dev.loupe.sdk.probe.SingleFeatureScores;
import dev.loupe.sdk.probe.SparseProbing;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * The finder's numerics for one family on its class-balanced sample (train rows first, then test
 * rows, split by document): every neuron's AUC and best-F1 threshold, which neurons are dedicated,
 * how many neurons a k-sparse probe needs, which of the family's neurons co-activate, and the
 * per-class activation histograms of the neurons worth a dashboard.
 *
 * <p>Honest by construction: a neuron's threshold and direction are chosen on the training rows
 * and its F1 is measured on the test rows; a neuron is <em>dedicated</em> when its F1 reaches the
 * bar on both. The k-sparse probe ranks neurons and fits on the training rows only (optimal refit,
 * {@link SparseProbing}); a family needs k neurons when the k-neuron probe reaches the bar on both
 * sides. AUCs are the test rows'.
 */
final class FamilyAnalysis {
  private FamilyAnalysis() {
  }

  /**
   * @param dedicatedF1 the F1 a neuron (or a k-sparse probe) must reach on train and test rows
   * @param ks the probe sizes tried, strictly increasing (those above the column count are dropped)
   * @param groupCorrelation the Pearson correlation at or above which two candidate neurons are linked
   * @param groupMinAuc the AUC separation max(auc, 1 - auc) on train rows a neuron needs to be a candidate
   * @param groupNeurons candidates taken by separation, best first (the reaching probe's neurons join them)
   * @param histogramBins bins of the per-class activation histograms
   * @param reportedNeurons at most this many neurons get a histogram (best first, then dedicated, groups, probe)
   */
  record Settings(double dedicatedF1, int[] ks, FeatureRanking ranking, LogisticRegression probe,
      double groupCorrelation, double groupMinAuc, int groupNeurons, int histogramBins, int reportedNeurons) {
  }

  /**
   * One neuron's scores: test AUC, train AUC, the best-F1 rule chosen on train ({@code value >=
   * threshold} when {@code above}, else {@code <=}) and its F1 on train and on test.
   */
  record NeuronScore(int column, double auc, double trainAuc, double trainF1, double testF1, float threshold,
      boolean above) {
    /** "for" when the neuron fires above its threshold for the class, "against" when below. */
    String sign() {
      return above ? "for" : "against";
    }
  }

  /** One k of the sparse-probe sweep: the neurons (columns) used, F1 on train and test, and whether it was refitted. */
  record Step(int k, int[] columns, double trainF1, double testF1, boolean refit) {
  }

  /** Co-activating candidate neurons (columns, best separated first) and their mean pairwise correlation. */
  record Group(int[] columns, double meanCorrelation) {
  }

  /** A neuron's activations on the family's rows in {@code bins} equal bins of [min, max], per class. */
  record Histogram(double min, double max, long[] negative, long[] positive) {
  }

  /**
   * Everything found for one family.
   *
   * @param trainPerClass training rows of each class; {@code testPerClass} likewise
   * @param scores one per column
   * @param order columns by training best F1, best first (ties by training AUC separation)
   * @param dedicated the dedicated neurons, in {@code order}
   * @param kNeeded 1 with a dedicated neuron, else the smallest k of the sweep whose probe reaches
   *     the bar on train and test, or -1 when none does
   * @param candidates the neurons grouped by correlation
   * @param groups linked components of at least two candidates, largest first
   * @param reported the neurons with histograms, in priority order
   */
  record Result(int trainPerClass, int testPerClass, NeuronScore[] scores, int[] order, List<NeuronScore> dedicated,
      int kNeeded, String ranking, List<Step> curve, int[] candidates, List<Group> groups, int[] reported,
      Map<Integer, Histogram> histograms) {
    NeuronScore best() {
      return scores[order[0]];
    }
  }

  /**
   * Analyses one family.
   *
   * @param rows the family's rows, training rows first
   * @param labels 1 for the family's class, 0 for the rest, one per row
   * @param trainRows how many of the rows are training rows
   * @param checkCancelled called between the stages (throws to stop)
   * @throws IllegalArgumentException when a side lacks a class or labels do not match the rows
   */
  static Result analyse(FeatureMatrix rows, int[] labels, int trainRows, Settings s, Runnable checkCancelled) {
    if (labels.length != rows.rows()) {
      throw new IllegalArgumentException("labels: " + labels.length + " for " + rows.rows() + " rows");
    }
    int n = rows.rows();
    int d = rows.cols();
    int[] trainIdx = IntStream.range(0, trainRows).toArray();
    int[] testIdx = IntStream.range(trainRows, n).toArray();
    FeatureMatrix train = rows.select(trainIdx, null);
    FeatureMatrix test = rows.select(testIdx, null);
    int[] trainLabels = Arrays.copyOfRange(labels, 0, trainRows);
    int[] testLabels = Arrays.copyOfRange(labels, trainRows, n);
    int trainPos = Arrays.stream(trainLabels).sum();
    int testPos = Arrays.stream(testLabels).sum();

    SingleFeatureScores.Score[] tr = SingleFeatureScores.compute(train, trainLabels);
    checkCancelled.run();
    SingleFeatureScores.Score[] te = SingleFeatureScores.compute(test, testLabels);
    double[] testF1 = f1At(test, testLabels, tr);
    NeuronScore[] scores = new NeuronScore[d];
    for (int j = 0; j < d; j++) {
      scores[j] = new NeuronScore(j, te[j].auc(), tr[j].auc(), tr[j].bestF1(), testF1[j], tr[j].threshold(),
          tr[j].above());
    }
    int[] order = SingleFeatureScores.byBestF1(tr);
    List<NeuronScore> dedicated = new ArrayList<>();
    for (int j : order) {
      if (scores[j].trainF1() >= s.dedicatedF1() && scores[j].testF1() >= s.dedicatedF1()) {
        dedicated.add(scores[j]);
      }
    }
    checkCancelled.run();

    int[] ks = Arrays.stream(s.ks()).filter(k -> k <= d).toArray();
    if (ks.length == 0) {
      ks = new int[] {d};
    }
    SparseProbing.Sweep sweep = SparseProbing.sweep(rows, labels, trainIdx, testIdx, ks, s.ranking(), s.probe());
    List<Step> curve = new ArrayList<>();
    int kNeeded = dedicated.isEmpty() ? -1 : 1;
    Step reaching = null;
    for (SparseProbing.Step st : sweep.steps()) {
      Step step = new Step(st.k(), st.features(), st.train().f1(), st.test().f1(), st.refit());
      curve.add(step);
      // k = 1 is the dedicated-neuron question, answered by the single-threshold rule above
      if (kNeeded < 0 && st.k() >= 2 && step.trainF1() >= s.dedicatedF1() && step.testF1() >= s.dedicatedF1()) {
        kNeeded = st.k();
        reaching = step;
      }
    }
    checkCancelled.run();

    Set<Integer> cand = new LinkedHashSet<>();
    Integer[] bySeparation = IntStream.range(0, d).boxed()
        .sorted(Comparator.comparingDouble((Integer j) -> -separation(scores[j].trainAuc())).thenComparing(j -> j))
        .toArray(Integer[]::new);
    for (int j : bySeparation) {
      if (cand.size() >= s.groupNeurons() || separation(scores[j].trainAuc()) < s.groupMinAuc()) {
        break;
      }
      cand.add(j);
    }
    if (reaching != null) {
      for (int j : reaching.columns()) {
        cand.add(j);
      }
    }
    int[] candidates = cand.stream().mapToInt(Integer::intValue).toArray();
    List<Group> groups = groups(rows, candidates, s.groupCorrelation());

    Set<Integer> rep = new LinkedHashSet<>();
    rep.add(order[0]);
    dedicated.forEach(x -> rep.add(x.column()));
    groups.forEach(g -> Arrays.stream(g.columns()).forEach(rep::add));
    if (reaching != null) {
      Arrays.stream(reaching.columns()).forEach(rep::add);
    }
    int[] reported = rep.stream().limit(s.reportedNeurons()).mapToInt(Integer::intValue).toArray();
    Map<Integer, Histogram> histograms = new LinkedHashMap<>();
    for (int j : reported) {
      histograms.put(j, histogram(rows, labels, j, s.histogramBins()));
    }
    return new Result(trainPos, testPos, scores, order, List.copyOf(dedicated), kNeeded, sweep.ranking(),
        List.copyOf(curve), candidates, groups, reported, histograms);
  }

  static double separation(double auc) {
    return Math.max(auc, 1 - auc);
  }

  /** Each column's F1 on {@code rows} under the rule chosen for it on the training rows. */
  static double[] f1At(FeatureMatrix rows, int[] labels, SingleFeatureScores.Score[] rules) {
    int n = rows.rows();
    int d = rows.cols();
    float[] x = rows.values();
    double[] out = new double[d];
    IntStream.range(0, d).parallel().forEach(j -> {
      long tp = 0;
      long fp = 0;
      long fn = 0;
      float t = rules[j].threshold();
      boolean above = rules[j].above();
      for (int i = 0; i < n; i++) {
        float v = x[i * d + j];
        boolean predicted = above ? v >= t : v <= t;
        if (predicted) {
          if (labels[i] == 1) {
            tp++;
          } else {
            fp++;
          }
        } else if (labels[i] == 1) {
          fn++;
        }
      }
      out[j] = tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
    });
    return out;
  }

  /**
   * Connected components of the graph linking two of {@code columns} when their Pearson
   * correlation over {@code rows} is at least {@code threshold}; components of one are dropped.
   */
  static List<Group> groups(FeatureMatrix rows, int[] columns, double threshold) {
    int m = columns.length;
    double[][] corr = correlations(rows, columns);
    int[] parent = IntStream.range(0, m).toArray();
    for (int a = 0; a < m; a++) {
      for (int b = a + 1; b < m; b++) {
        if (corr[a][b] >= threshold) {
          parent[find(parent, a)] = find(parent, b);
        }
      }
    }
    Map<Integer, List<Integer>> comps = new LinkedHashMap<>();
    for (int a = 0; a < m; a++) {
      comps.computeIfAbsent(find(parent, a), r -> new ArrayList<>()).add(a);
    }
    List<Group> out = new ArrayList<>();
    for (List<Integer> comp : comps.values()) {
      if (comp.size() < 2) {
        continue;
      }
      double sum = 0;
      int pairs = 0;
      for (int a = 0; a < comp.size(); a++) {
        for (int b = a + 1; b < comp.size(); b++) {
          sum += corr[comp.get(a)][comp.get(b)];
          pairs++;
        }
      }
      out.add(new Group(comp.stream().mapToInt(a -> columns[a]).toArray(), sum / pairs));
    }
    out.sort(Comparator.comparingInt((Group g) -> -g.columns().length));
    return List.copyOf(out);
  }

  private static int find(int[] parent, int a) {
    while (parent[a] != a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  }

  /** Pearson correlations between the given columns over every row (0 where a column is constant). */
  static double[][] correlations(FeatureMatrix rows, int[] columns) {
    int n = rows.rows();
    int m = columns.length;
    double[][] centred = new double[m][n];
    double[] norm = new double[m];
    for (int a = 0; a < m; a++) {
      double mean = 0;
      for (int i = 0; i < n; i++) {
        mean += rows.get(i, columns[a]);
      }
      mean /= Math.max(1, n);
      double sq = 0;
      for (int i = 0; i < n; i++) {
        double v = rows.get(i, columns[a]) - mean;
        centred[a][i] = v;
        sq += v * v;
      }
      norm[a] = Math.sqrt(sq);
    }
    double[][] corr = new double[m][m];
    for (int a = 0; a < m; a++) {
      corr[a][a] = 1;
      for (int b = a + 1; b < m; b++) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
          dot += centred[a][i] * centred[b][i];
        }
        double c = norm[a] > 0 && norm[b] > 0 ? dot / (norm[a] * norm[b]) : 0;
        corr[a][b] = c;
        corr[b][a] = c;
      }
    }
    return corr;
  }

  /** Column {@code j}'s activations over every row in equal bins of its [min, max], per class. */
  static Histogram histogram(FeatureMatrix rows, int[] labels, int j, int bins) {
    int n = rows.rows();
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      double v = rows.get(i, j);
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    long[] neg = new long[bins];
    long[] pos = new long[bins];
    double span = max - min;
    for (int i = 0; i < n; i++) {
      double v = rows.get(i, j);
      int b = span > 0 ? (int) Math.min(bins - 1, Math.floor((v - min) / span * bins)) : 0;
      (labels[i] == 1 ? pos : neg)[b]++;
    }
    return new Histogram(min, max, neg, pos);
  }
}
