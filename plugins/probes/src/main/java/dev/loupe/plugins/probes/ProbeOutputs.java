package dev.loupe.plugins.probes;

import dev.loupe.sdk.dataset.LabelledSample;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.method.JobContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What the probes job leaves behind besides the per-dataset results: plots, the summary and report.md. */
final class ProbeOutputs {
  private ProbeOutputs() {
  }

  /**
   * F1 against k per dataset (one line per input and ranking), test accuracy per input (one line
   * per dataset) and, with mechanistic probes, their test AUC per input.
   *
   * @return the files written, relative to the artifact directory's plots folder's parent
   */
  static List<String> plots(Path dir, List<ProbeInput> inputs, List<TokenDataset> datasets,
      ProbeAnalysis.Outcome[][] outcomes, List<Map<String, Object>> mechanistic) throws IOException {
    List<Path> written = new ArrayList<>();
    for (int d = 0; d < datasets.size(); d++) {
      List<ProbePlots.Line> lines = new ArrayList<>();
      for (int i = 0; i < inputs.size(); i++) {
        List<ProbeAnalysis.SweepLine> sweeps = outcomes[i][d].sweeps();
        for (int r = 0; r < sweeps.size(); r++) {
          ProbeAnalysis.SweepLine l = sweeps.get(r);
          double[] x = new double[l.ks().length];
          for (int j = 0; j < x.length; j++) {
            x[j] = l.ks()[j];
          }
          lines.add(new ProbePlots.Line(inputs.get(i).name() + " " + l.ranking(), x, l.testF1(), i, r));
        }
      }
      if (!lines.isEmpty()) {
        String f1 = outcomes[0][d].classes() == 2 ? "F1" : "macro F1";
        written.addAll(ProbePlots.f1VsK("k-sparse probes: " + datasets.get(d).name() + " (test " + f1 + ")", lines,
            dir.resolve("f1_vs_k_" + ProbePlots.fileName(datasets.get(d).name()))));
      }
    }
    List<String> categories = inputs.stream().map(ProbeInput::name).toList();
    List<ProbePlots.Line> acc = new ArrayList<>();
    for (int d = 0; d < datasets.size(); d++) {
      double[] y = new double[inputs.size()];
      for (int i = 0; i < inputs.size(); i++) {
        y[i] = outcomes[i][d].accuracy();
      }
      acc.add(new ProbePlots.Line(datasets.get(d).name() + " (" + datasets.get(d).classes().size() + " classes)",
          null, y, d));
    }
    written.addAll(ProbePlots.perInput("Probe test accuracy by input", "test accuracy (balanced classes)", categories,
        acc, 0.0, 1.0, dir.resolve("accuracy_vs_layer")));
    if (!mechanistic.isEmpty()) {
      List<ProbePlots.Line> auc = new ArrayList<>();
      for (int q = 0; q < mechanistic.size(); q++) {
        Map<String, Object> m = mechanistic.get(q);
        double[] y = new double[inputs.size()];
        java.util.Arrays.fill(y, Double.NaN);
        for (Object o : (List<?>) m.get("inputs")) {
          Map<?, ?> row = (Map<?, ?>) o;
          y[indexOf(inputs, (String) row.get("input"))] = (Double) row.get("test_auc");
        }
        auc.add(new ProbePlots.Line((String) m.get("name"), null, y, q));
      }
      written.addAll(ProbePlots.perInput("Mechanistic probes (no training): test AUC by input", "test AUC",
          categories, auc, 0.0, 1.0, dir.resolve("mechanistic_auc_vs_layer")));
    }
    List<String> out = new ArrayList<>();
    for (Path p : written) {
      out.add(dir.getFileName() + "/" + p.getFileName());
    }
    return out;
  }

  private static int indexOf(List<ProbeInput> inputs, String name) {
    for (int i = 0; i < inputs.size(); i++) {
      if (inputs.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalStateException("no input " + name);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> summary(JobContext ctx, ProbeSettings s, List<ProbeInput> inputs,
      List<TokenDataset> datasets, LabelledSample[][] samples, LabelledSample.Split[][] splits,
      ProbeAnalysis.Outcome[][] outcomes, Map<String, Object> layerSweeps, List<Map<String, Object>> mech,
      List<String> plots, long rows, double readSeconds, double probeSeconds) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("models", new ArrayList<>(new LinkedHashSet<>(inputs.stream().map(ProbeInput::modelId).toList())));
    List<Object> ins = new ArrayList<>();
    for (ProbeInput in : inputs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", in.name());
      m.put("hook", in.hook());
      m.put("layer", in.layer() < 0 ? null : in.layer());
      m.put("width", in.width());
      m.put("model", in.modelId());
      m.put("ks", java.util.Arrays.stream(s.ksFor(in.width())).boxed().toList());
      ins.add(m);
    }
    out.put("inputs", ins);
    out.put("rows_read", rows);
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("max_per_class", s.maxPerClass());
    settings.put("test_percent", s.testPercent());
    settings.put("c", s.probe().c());
    settings.put("standardize", s.probe().standardize());
    settings.put("tolerance", s.probe().tolerance());
    settings.put("rankings", s.rankings().stream().map(r -> r.id).toList());
    settings.put("l1_c", s.l1C());
    settings.put("seed", s.seed());
    out.put("settings", settings);
    List<Object> ds = new ArrayList<>();
    Map<String, Object> results = new LinkedHashMap<>();
    int unconverged = 0;
    boolean monotone = true;
    for (int d = 0; d < datasets.size(); d++) {
      TokenDataset t = datasets.get(d);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", t.name());
      m.put("description", t.description());
      m.put("classes", t.classes());
      Map<String, Object> seen = new LinkedHashMap<>();
      long[] counts = samples[0][d].seen();
      for (int c = 0; c < counts.length; c++) {
        seen.put(t.classes().get(c), counts[c]);
      }
      m.put("labelled_rows_seen", seen);
      m.put("train_rows", splits[0][d].trainLabels().length);
      m.put("test_rows", splits[0][d].testLabels().length);
      m.put("result", ProbesMethod.resultName(t.name()));
      ds.add(m);
      List<Object> rowsOut = new ArrayList<>();
      for (int i = 0; i < inputs.size(); i++) {
        ProbeAnalysis.Outcome o = outcomes[i][d];
        Map<String, Object> probe = (Map<String, Object>) o.json().get("probe");
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("input", inputs.get(i).name());
        r.put("test_accuracy", o.accuracy());
        r.put("test_f1", o.f1());
        r.put("test_mcc", o.mcc());
        r.put("train_accuracy", probe.get("train_accuracy"));
        if (probe.containsKey("test_auc")) {
          r.put("test_auc", probe.get("test_auc"));
        }
        Map<String, Object> fit = (Map<String, Object>) probe.get("fit");
        unconverged += Boolean.TRUE.equals(fit.get("converged")) ? 0 : 1;
        Object single = o.json().get("single_feature");
        if (single instanceof Map<?, ?> sm && sm.containsKey("feature")) {
          r.put("best_single_feature", sm.get("feature"));
          r.put("best_single_feature_test_auc", sm.get("test_auc"));
          r.put("best_single_feature_test_f1", sm.get("test_f1"));
        }
        Map<String, Object> sparse = new LinkedHashMap<>();
        Object sweeps = o.json().get("sweeps");
        if (sweeps instanceof List<?> list) {
          for (Object sw : list) {
            Map<String, Object> swm = (Map<String, Object>) sw;
            Map<String, Object> byK = new LinkedHashMap<>();
            for (Object st : (List<Object>) swm.get("steps")) {
              Map<String, Object> step = (Map<String, Object>) st;
              byK.put(String.valueOf(step.get("k")), step.get("test_f1"));
            }
            sparse.put((String) swm.get("ranking"), byK);
            monotone &= Boolean.TRUE.equals(swm.get("train_f1_never_falls"));
            unconverged += ((Number) swm.get("unconverged_fits")).intValue();
          }
          r.put("k_sparse_test_f1", sparse);
        }
        rowsOut.add(r);
      }
      results.put(t.name(), rowsOut);
    }
    out.put("datasets", ds);
    out.put("results", results);
    out.put("layer_sweep", layerSweeps);
    if (!mech.isEmpty()) {
      List<Object> ms = new ArrayList<>();
      for (Map<String, Object> m : mech) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("name", m.get("name"));
        c.put("dataset", m.get("dataset"));
        c.put("positive_class", m.get("positive_class"));
        Map<String, Object> auc = new LinkedHashMap<>();
        Map<String, Object> f1 = new LinkedHashMap<>();
        for (Object o : (List<Object>) m.get("inputs")) {
          Map<String, Object> row = (Map<String, Object>) o;
          auc.put((String) row.get("input"), row.get("test_auc"));
          f1.put((String) row.get("input"), row.get("test_f1"));
        }
        c.put("test_auc", auc);
        c.put("test_f1_at_train_threshold", f1);
        ms.add(c);
      }
      out.put("mechanistic", ms);
    }
    out.put("train_f1_never_falls_with_k", monotone);
    out.put("unconverged_fits", unconverged);
    out.put("plots", plots);
    out.put("seconds_reading", readSeconds);
    out.put("seconds_probing", probeSeconds);
    return out;
  }

  @SuppressWarnings("unchecked")
  static void writeReport(Path file, Map<String, Object> summary, List<ProbeInput> inputs, List<TokenDataset> datasets,
      ProbeAnalysis.Outcome[][] outcomes, Map<String, Object> layerSweeps, List<Map<String, Object>> mech)
      throws IOException {
    StringBuilder md = new StringBuilder("# Probes\n\n");
    md.append("Models: ").append(summary.get("models")).append("; rows read: ").append(summary.get("rows_read"))
        .append(". Inputs, in sweep order:\n\n| input | hook | width |\n|---|---|---:|\n");
    for (ProbeInput in : inputs) {
      md.append("| ").append(in.name()).append(" | ").append(in.hook()).append(" | ").append(in.width()).append(" |\n");
    }
    Map<String, Object> settings = (Map<String, Object>) summary.get("settings");
    md.append("\nProbes: logistic regression, L2 with C = ").append(settings.get("c"))
        .append(", L-BFGS to tolerance ").append(settings.get("tolerance")).append("; classes balanced (at most ")
        .append(settings.get("max_per_class")).append(" training rows each); ").append(settings.get("test_percent"))
        .append("% of documents held out. Accuracy is on balanced test rows (chance = 1 / classes); F1 is the positive"
            + " class's for binary datasets and macro F1 otherwise.\n");
    for (int d = 0; d < datasets.size(); d++) {
      TokenDataset t = datasets.get(d);
      md.append("\n## ").append(t.name()).append("\n\n").append(t.description()).append(" (")
          .append(t.classes().size()).append(" classes).\n\n");
      md.append("| input | test acc | test F1 | MCC | train acc | best single feature (test AUC) |");
      List<String> rankings = new ArrayList<>();
      for (ProbeAnalysis.SweepLine l : outcomes[0][d].sweeps()) {
        rankings.add(l.ranking());
      }
      int[] showK = showKs(outcomes, d);
      for (String r : rankings) {
        for (int k : showK) {
          md.append(" ").append(r).append(" k=").append(k).append(" |");
        }
      }
      md.append("\n|---|---:|---:|---:|---:|---|").append("---:|".repeat(rankings.size() * showK.length)).append('\n');
      for (int i = 0; i < inputs.size(); i++) {
        ProbeAnalysis.Outcome o = outcomes[i][d];
        Map<String, Object> probe = (Map<String, Object>) o.json().get("probe");
        md.append("| ").append(inputs.get(i).name()).append(" | ").append(f(o.accuracy())).append(" | ")
            .append(f(o.f1())).append(" | ").append(f(o.mcc())).append(" | ").append(f(probe.get("train_accuracy")))
            .append(" | ");
        Object single = o.json().get("single_feature");
        if (single instanceof Map<?, ?> sm && sm.containsKey("feature")) {
          md.append("#").append(sm.get("feature")).append(" (").append(f(sm.get("test_auc"))).append(")");
        } else {
          md.append("-");
        }
        md.append(" |");
        for (ProbeAnalysis.SweepLine l : o.sweeps()) {
          for (int k : showK) {
            int j = java.util.Arrays.binarySearch(l.ks(), k);
            md.append(" ").append(j >= 0 ? f(l.testF1()[j]) : "-").append(" |");
          }
        }
        md.append('\n');
      }
      if (!rankings.isEmpty()) {
        md.append("\nk-sparse columns: test F1 of a probe refitted on the top k features of each ranking (optimal"
            + " refit: training F1 never falls as k grows).\n");
      } else if (outcomes[0][d].json().containsKey("sweeps_skipped")) {
        md.append("\nk-sparse sweeps skipped: ").append(outcomes[0][d].json().get("sweeps_skipped")).append(".\n");
      }
      Map<String, Object> sweep = (Map<String, Object>) layerSweeps.get(t.name());
      if (inputs.size() > 1) {
        md.append("\nLayer sweep: ");
        if (sweep.get("introduced") == null) {
          md.append(sweep.get("note")).append(".\n");
        } else {
          md.append("introduced at **").append(sweep.get("introduced")).append("** (accuracy ")
              .append(f(sweep.get("introduced_accuracy"))).append("), best at ").append(sweep.get("best_input"))
              .append(" (").append(f(sweep.get("best_accuracy"))).append("); boosted at ").append(sweep.get("boosted"))
              .append(" by ").append(f(sweep.get("boost_after_introduced"))).append(" in all (chance ")
              .append(f(sweep.get("chance_accuracy"))).append(").\n");
        }
      }
      for (Map<String, Object> m : mech) {
        if (!m.get("dataset").equals(t.name())) {
          continue;
        }
        md.append("\nMechanistic probe **").append(m.get("name")).append("** (class '").append(m.get("positive_class"))
            .append("' positive; no training, threshold from the train rows):\n\n")
            .append("| input | test AUC | train AUC | test F1 | test acc | trained probe acc |\n")
            .append("|---|---:|---:|---:|---:|---:|\n");
        for (Object o : (List<Object>) m.get("inputs")) {
          Map<String, Object> row = (Map<String, Object>) o;
          md.append("| ").append(row.get("input")).append(" | ").append(f(row.get("test_auc"))).append(" | ")
              .append(f(row.get("train_auc"))).append(" | ").append(f(row.get("test_f1"))).append(" | ")
              .append(f(row.get("test_accuracy"))).append(" | ").append(f(row.get("trained_probe_test_accuracy")))
              .append(" |\n");
        }
      }
    }
    if (summary.get("skipped_datasets") instanceof Map<?, ?> skipped) {
      md.append("\n## Left out (on_too_few_rows = skip)\n\n");
      skipped.forEach((name, why) -> md.append("- ").append(name).append(": ").append(why).append('\n'));
    }
    md.append("\n## Plots\n\n");
    for (Object p : (List<Object>) summary.get("plots")) {
      if (p.toString().endsWith(".png")) {
        md.append("![").append(p).append("](").append(p).append(")\n");
      }
    }
    md.append("\nEvery plot is also written as SVG. Details per dataset: `results/dataset-*.json`.\n");
    dev.loupe.sdk.io.AtomicFiles.write(file, md.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** The ks shown in the report: 1, 4, 16, 64 and the largest, where the sweeps have them. */
  private static int[] showKs(ProbeAnalysis.Outcome[][] outcomes, int d) {
    LinkedHashSet<Integer> ks = new LinkedHashSet<>();
    for (ProbeAnalysis.Outcome[] perInput : outcomes) {
      for (ProbeAnalysis.SweepLine l : perInput[d].sweeps()) {
        for (int k : l.ks()) {
          if (k == 1 || k == 4 || k == 16 || k == 64 || k == l.ks()[l.ks().length - 1]) {
            ks.add(k);
          }
        }
      }
    }
    return ks.stream().sorted().mapToInt(Integer::intValue).toArray();
  }

  private static String f(Object v) {
    return v instanceof Number n ? String.format(Locale.ROOT, "%.3f", n.doubleValue()) : String.valueOf(v);
  }
}
