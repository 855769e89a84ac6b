package dev.loupe.plugins.probes;

import dev.loupe.sdk.dataset.LabelledSample;
import dev.loupe.sdk.probe.ConfusionMatrix;
import dev.loupe.sdk.probe.FeatureMatrix;
import dev.loupe.sdk.probe.LogisticModel;
import dev.loupe.sdk.probe.RocAuc;
import dev.loupe.sdk.probe.SingleFeatureScores;
import dev.loupe.sdk.probe.SparseProbing;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything the probes job measures on one input and one dataset's class-balanced split: a probe
 * on all features, the best single feature, and k-sparse sweeps per feature ranking.
 */
final class ProbeAnalysis {
  private ProbeAnalysis() {
  }

  /** One ranking's sweep as plotted: k against test and train F1. */
  record SweepLine(String ranking, int[] ks, double[] testF1, double[] trainF1) {
  }

  /**
   * What the report, plots and layer sweep read; {@code json} holds everything for the results file.
   *
   * @param f1 F1 of class 1 for binary datasets, macro F1 otherwise
   */
  record Outcome(int classes, double accuracy, double f1, double mcc, List<SweepLine> sweeps,
      Map<String, Object> json) {
  }

  static Outcome analyse(LabelledSample.Split sp, ProbeSettings s, int[] ks, Runnable checkCancelled) {
    FeatureMatrix trX = sp.trainFeatures();
    FeatureMatrix teX = sp.testFeatures();
    int[] trY = sp.trainLabels();
    int[] teY = sp.testLabels();
    List<String> classes = sp.classes();
    int k = classes.size();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("classes", classes);
    json.put("train_rows", trX.rows());
    json.put("test_rows", teX.rows());
    json.put("train_documents", distinct(sp.trainDocs()));
    json.put("test_documents", distinct(sp.testDocs()));

    LogisticModel model = s.probe().fit(trX, trY);
    ConfusionMatrix train = ConfusionMatrix.of(trY, model.predict(trX), k);
    ConfusionMatrix test = ConfusionMatrix.of(teY, model.predict(teX), k);
    Map<String, Object> full = new LinkedHashMap<>();
    full.put("features", trX.cols());
    full.put("kind", k == 2 ? "binary" : "multinomial");
    full.put("test_accuracy", test.accuracy());
    full.put("test_f1", test.probeF1());
    full.put("test_macro_f1", test.macroF1());
    full.put("test_mcc", test.mcc());
    full.put("train_accuracy", train.accuracy());
    full.put("train_f1", train.probeF1());
    if (k == 2) {
      full.put("test_auc", RocAuc.of(model.positiveScores(teX), teY));
    } else {
      Map<String, Object> perClass = new LinkedHashMap<>();
      for (int c = 0; c < k; c++) {
        perClass.put(classes.get(c), test.f1(c));
      }
      full.put("test_f1_per_class", perClass);
    }
    full.put("fit", fit(model.report()));
    json.put("probe", full);
    checkCancelled.run();

    if (k == 2) {
      json.put("single_feature", singleFeature(trX, trY, teX, teY));
    } else {
      json.put("single_feature", Map.of("skipped", "single-feature scores are for binary datasets; this one has " + k
          + " classes"));
    }
    checkCancelled.run();

    List<SweepLine> lines = new ArrayList<>();
    List<Object> sweeps = new ArrayList<>();
    if (s.rankings().isEmpty()) {
      json.put("sweeps_skipped", "no rankings configured");
    } else if (k > s.sweepMaxClasses()) {
      json.put("sweeps_skipped", "this dataset has " + k + " classes, more than sweep_max_classes = "
          + s.sweepMaxClasses());
    } else {
      FeatureMatrix all = concat(trX, teX);
      int[] labels = new int[trY.length + teY.length];
      System.arraycopy(trY, 0, labels, 0, trY.length);
      System.arraycopy(teY, 0, labels, trY.length, teY.length);
      int[] trainRows = range(0, trY.length);
      int[] testRows = range(trY.length, labels.length);
      for (ProbeSettings.Ranking r : s.rankings()) {
        SparseProbing.Sweep sweep = SparseProbing.sweep(all, labels, trainRows, testRows, ks,
            r.ranking(s.l1C(), ks[ks.length - 1]), s.probe());
        sweeps.add(sweepJson(r, sweep, ks));
        double[] testF1 = new double[ks.length];
        double[] trainF1 = new double[ks.length];
        for (int i = 0; i < ks.length; i++) {
          testF1[i] = sweep.steps().get(i).test().f1();
          trainF1[i] = sweep.steps().get(i).train().f1();
        }
        lines.add(new SweepLine(r.id, ks.clone(), testF1, trainF1));
        checkCancelled.run();
      }
      json.put("sweeps", sweeps);
    }
    return new Outcome(k, test.accuracy(), test.probeF1(), test.mcc(), List.copyOf(lines), json);
  }

  private static Map<String, Object> sweepJson(ProbeSettings.Ranking r, SparseProbing.Sweep sweep, int[] ks) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("ranking", r.id);
    out.put("ranking_rule", sweep.ranking());
    int top = Math.min(ks[ks.length - 1], sweep.order().length);
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < top; i++) {
      order.add(sweep.order()[i]);
    }
    out.put("order", order);
    List<Object> steps = new ArrayList<>();
    boolean monotone = true;
    double previous = Double.NEGATIVE_INFINITY;
    int unconverged = 0;
    for (SparseProbing.Step st : sweep.steps()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("k", st.k());
      row.put("test_f1", st.test().f1());
      row.put("test_mcc", st.test().mcc());
      row.put("test_accuracy", st.test().accuracy());
      row.put("train_f1", st.train().f1());
      row.put("train_mcc", st.train().mcc());
      row.put("train_accuracy", st.train().accuracy());
      row.put("refit_kept", st.refit());
      row.put("converged", st.fit().converged());
      row.put("iterations", st.fit().iterations());
      steps.add(row);
      monotone &= st.train().f1() >= previous;
      previous = st.train().f1();
      unconverged += st.fit().converged() ? 0 : 1;
    }
    out.put("steps", steps);
    // The optimal-refit guarantee: a k-feature probe can always copy the (k-1)-feature one.
    out.put("train_f1_never_falls", monotone);
    out.put("unconverged_fits", unconverged);
    SparseProbing.Step first90 = sweep.firstReaching(0.9 * sweep.steps().get(sweep.steps().size() - 1).test().f1());
    out.put("k_for_90pct_of_last_test_f1", first90 == null ? null : first90.k());
    return out;
  }

  private static Map<String, Object> singleFeature(FeatureMatrix trX, int[] trY, FeatureMatrix teX, int[] teY) {
    SingleFeatureScores.Score[] scores = SingleFeatureScores.compute(trX, trY);
    int[] order = SingleFeatureScores.byBestF1(scores);
    SingleFeatureScores.Score best = scores[order[0]];
    float[] col = teX.column(best.feature());
    double[] oriented = new double[col.length];
    int[] predicted = new int[col.length];
    for (int i = 0; i < col.length; i++) {
      oriented[i] = best.above() ? col[i] : -col[i];
      predicted[i] = (best.above() ? col[i] >= best.threshold() : col[i] <= best.threshold()) ? 1 : 0;
    }
    ConfusionMatrix test = ConfusionMatrix.binary(teY, predicted);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("feature", best.feature());
    out.put("train_auc", best.auc());
    out.put("train_best_f1", best.bestF1());
    out.put("threshold", (double) best.threshold());
    out.put("positive_when", best.above() ? "at or above the threshold" : "at or below the threshold");
    out.put("test_auc", RocAuc.of(oriented, teY));
    out.put("test_f1", test.f1());
    out.put("test_accuracy", test.accuracy());
    List<Object> top = new ArrayList<>();
    for (int i = 0; i < Math.min(5, order.length); i++) {
      SingleFeatureScores.Score sc = scores[order[i]];
      top.add(Map.of("feature", sc.feature(), "train_auc", sc.auc(), "train_best_f1", sc.bestF1()));
    }
    out.put("top_by_train_f1", top);
    return out;
  }

  private static Map<String, Object> fit(dev.loupe.sdk.probe.FitReport r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("converged", r.converged());
    out.put("stop", r.stop().name().toLowerCase(java.util.Locale.ROOT));
    out.put("iterations", r.iterations());
    out.put("objective", r.objective());
    out.put("seconds", r.seconds());
    return out;
  }

  private static FeatureMatrix concat(FeatureMatrix a, FeatureMatrix b) {
    float[] v = new float[a.values().length + b.values().length];
    System.arraycopy(a.values(), 0, v, 0, a.values().length);
    System.arraycopy(b.values(), 0, v, a.values().length, b.values().length);
    return FeatureMatrix.of(v, a.rows() + b.rows(), a.cols());
  }

  private static int[] range(int from, int to) {
    int[] out = new int[to - from];
    for (int i = 0; i < out.length; i++) {
      out[i] = from + i;
    }
    return out;
  }

  private static long distinct(int[] docs) {
    return java.util.Arrays.stream(docs).distinct().count();
  }
}
