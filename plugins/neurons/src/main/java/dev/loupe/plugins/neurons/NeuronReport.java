package dev.loupe.plugins.neurons;

import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.io.AtomicFiles;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.sparse.FeatureExamples;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Collects what the finder found, family by family, and writes it out: the results documents
 * ({@code summary}, {@code families}, {@code neurons}), the score matrices and {@code report.md}.
 * Not thread-safe: the job thread fills it.
 */
final class NeuronReport {
  /** Dashboards shown in report.md per family (all are in results/neurons.json). */
  private static final int MARKDOWN_DASHBOARDS = 3;
  private static final int MARKDOWN_EXAMPLES = 5;
  private static final String BARS = " ▁▂▃▄▅▆▇█";

  private record Scored(Family family, FamilyAnalysis.Result result) {
  }

  private final NeuronColumns columns;
  private final List<String> inputNames;
  private final List<String> models;
  private final Optional<ModelSession> session;
  private final FamilyAnalysis.Settings settings;
  private final JobConfig config;
  private final List<Scored> scored = new ArrayList<>();
  private final Map<String, String> skipped = new LinkedHashMap<>();
  private final Map<String, Map<String, Long>> seen = new LinkedHashMap<>();
  private long tokens;

  NeuronReport(NeuronColumns columns, List<String> inputNames, List<String> models, Optional<ModelSession> session,
      FamilyAnalysis.Settings settings, JobConfig config) {
    this.columns = columns;
    this.inputNames = List.copyOf(inputNames);
    this.models = List.copyOf(models);
    this.session = session;
    this.settings = settings;
    this.config = config;
  }

  void tokens(long tokens) {
    this.tokens = tokens;
  }

  /** Labelled rows read for a family, per side (before balancing). */
  void seen(Family f, long[] counts) {
    Map<String, Long> m = new LinkedHashMap<>();
    m.put(f.positiveClass(), counts[1]);
    m.put(f.negativeClass(), counts[0]);
    seen.put(f.name(), m);
  }

  void skip(Family f, String why) {
    skipped.put(f.name(), why);
  }

  void add(Family f, FamilyAnalysis.Result r) {
    scored.add(new Scored(f, r));
  }

  int scored() {
    return scored.size();
  }

  Map<String, String> skipped() {
    return skipped;
  }

  int width() {
    return columns.width();
  }

  long dedicatedFamilies() {
    return scored.stream().filter(s -> !s.result().dedicated().isEmpty()).count();
  }

  List<String> scoredNames() {
    return scored.stream().map(s -> s.family().name()).toList();
  }

  /** The inputs' column ranges, one line each: {@code name hook offset width}. */
  String columnsDescription() {
    StringBuilder sb = new StringBuilder();
    for (NeuronColumns.Input in : columns.inputs()) {
      sb.append(sb.length() == 0 ? "" : "\n").append(in.name()).append(' ').append(in.hook()).append(' ')
          .append(in.offset()).append(' ').append(in.width());
    }
    return sb.toString();
  }

  /** [0] test AUC, [1] train F1, [2] test F1, each [scored families, neurons] row-major. */
  float[][] scoreMatrices() {
    int w = columns.width();
    float[][] out = new float[3][scored.size() * w];
    for (int f = 0; f < scored.size(); f++) {
      FamilyAnalysis.NeuronScore[] s = scored.get(f).result().scores();
      for (int j = 0; j < w; j++) {
        out[0][f * w + j] = (float) s[j].auc();
        out[1][f * w + j] = (float) s[j].trainF1();
        out[2][f * w + j] = (float) s[j].testF1();
      }
    }
    return out;
  }

  private Map<String, Object> neuron(FamilyAnalysis.NeuronScore s) {
    NeuronColumns.Input in = columns.inputOf(s.column());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("neuron", columns.label(s.column()));
    m.put("input", in.name());
    m.put("layer", in.layer());
    m.put("index", s.column() - in.offset());
    m.put("auc", s.auc());
    m.put("train_auc", s.trainAuc());
    m.put("f1", s.testF1());
    m.put("train_f1", s.trainF1());
    m.put("threshold", (double) s.threshold());
    m.put("sign", s.sign());
    return m;
  }

  private List<String> labels(int[] cols) {
    return Arrays.stream(cols).mapToObj(columns::label).toList();
  }

  /** The per-family documents of results/families.json. */
  List<Map<String, Object>> familyResults() {
    int top = config.getInt("report_neurons");
    List<Map<String, Object>> out = new ArrayList<>();
    for (Scored s : scored) {
      FamilyAnalysis.Result r = s.result();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("family", s.family().name());
      m.put("dataset", s.family().dataset().name());
      m.put("class", s.family().positiveClass());
      m.put("against", s.family().negativeClass());
      m.put("train_per_class", r.trainPerClass());
      m.put("test_per_class", r.testPerClass());
      m.put("dedicated", !r.dedicated().isEmpty());
      m.put("k_needed", r.kNeeded() > 0 ? r.kNeeded() : null);
      m.put("best", neuron(r.best()));
      Map<String, Object> perInput = new LinkedHashMap<>();
      for (NeuronColumns.Input in : columns.inputs()) {
        for (int j : r.order()) {
          if (j >= in.offset() && j < in.offset() + in.width()) {
            perInput.put(in.name(), neuron(r.scores()[j]));
            break;
          }
        }
      }
      m.put("best_per_input", perInput);
      m.put("dedicated_neurons", r.dedicated().stream().map(this::neuron).toList());
      List<Map<String, Object>> topList = new ArrayList<>();
      for (int i = 0; i < Math.min(top, r.order().length); i++) {
        topList.add(neuron(r.scores()[r.order()[i]]));
      }
      m.put("top", topList);
      m.put("ranking", r.ranking());
      List<Map<String, Object>> curve = new ArrayList<>();
      for (FamilyAnalysis.Step st : r.curve()) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("k", st.k());
        p.put("train_f1", st.trainF1());
        p.put("f1", st.testF1());
        p.put("refit", st.refit());
        p.put("neurons", labels(st.columns()));
        curve.add(p);
      }
      m.put("curve", curve);
      m.put("candidates", labels(r.candidates()));
      List<Map<String, Object>> groups = new ArrayList<>();
      for (FamilyAnalysis.Group g : r.groups()) {
        groups.add(Map.of("neurons", labels(g.columns()), "mean_correlation", g.meanCorrelation()));
      }
      m.put("groups", groups);
      out.add(m);
    }
    return out;
  }

  /** One document per neuron that any family reported: top contexts over everything read, per-family histograms. */
  List<Map<String, Object>> dashboards(FeatureExamples examples) {
    Map<Integer, List<Map<String, Object>>> byColumn = new LinkedHashMap<>();
    for (Scored s : scored) {
      FamilyAnalysis.Result r = s.result();
      for (int j : r.reported()) {
        FamilyAnalysis.Histogram h = r.histograms().get(j);
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("family", s.family().name());
        FamilyAnalysis.NeuronScore sc = r.scores()[j];
        f.put("auc", sc.auc());
        f.put("f1", sc.testF1());
        f.put("sign", sc.sign());
        f.put("dedicated", r.dedicated().stream().anyMatch(x -> x.column() == j));
        Map<String, Object> hist = new LinkedHashMap<>();
        hist.put("min", h.min());
        hist.put("max", h.max());
        Map<String, Object> counts = new LinkedHashMap<>();
        counts.put(s.family().positiveClass(), h.positive());
        counts.put(s.family().negativeClass(), h.negative());
        hist.put("counts", counts);
        f.put("histogram", hist);
        byColumn.computeIfAbsent(j, k -> new ArrayList<>()).add(f);
      }
    }
    double[] density = examples.density();
    List<Map<String, Object>> out = new ArrayList<>();
    byColumn.forEach((j, fams) -> {
      NeuronColumns.Input in = columns.inputOf(j);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("neuron", columns.label(j));
      m.put("input", in.name());
      m.put("model", models.get(inputNames.indexOf(in.name())));
      m.put("hook", in.hook());
      m.put("layer", in.layer());
      m.put("index", j - in.offset());
      m.put("density", density[j]);
      m.put("mean_activation", examples.meanActivation(j));
      m.put("max_activation", (double) examples.maxActivation(j));
      List<Map<String, Object>> top = new ArrayList<>();
      for (FeatureExamples.Example e : examples.top(j)) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("activation", (double) e.activation());
        x.put("token_id", e.tokenId());
        x.put("doc", e.docId());
        x.put("position", e.position());
        x.put("context_ids", e.context());
        session.ifPresent(sess -> {
          x.put("token", sess.decode(new int[] {e.tokenId()}));
          x.put("context", sess.decode(e.context()));
        });
        top.add(x);
      }
      m.put("top_examples", top);
      m.put("families", fams);
      out.add(m);
    });
    return out;
  }

  /** The results document {@code summary}. */
  Map<String, Object> summary() {
    Map<String, Object> m = new LinkedHashMap<>();
    List<Map<String, Object>> ins = new ArrayList<>();
    for (int i = 0; i < columns.inputs().size(); i++) {
      NeuronColumns.Input in = columns.inputs().get(i);
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("name", in.name());
      x.put("model", models.get(i));
      x.put("hook", in.hook());
      x.put("layer", in.layer());
      x.put("width", in.width());
      x.put("offset", in.offset());
      ins.add(x);
    }
    m.put("inputs", ins);
    m.put("neurons", columns.width());
    m.put("tokens", tokens);
    m.put("dedicated_f1", settings.dedicatedF1());
    m.put("ks", Arrays.stream(settings.ks()).boxed().toList());
    m.put("ranking", settings.ranking().name());
    m.put("families", scored.size() + skipped.size());
    m.put("families_scored", scored.size());
    m.put("families_skipped", skipped);
    m.put("labelled_rows", seen);
    List<Map<String, Object>> dedicated = new ArrayList<>();
    List<Map<String, Object>> needsK = new ArrayList<>();
    int groups = 0;
    for (Scored s : scored) {
      FamilyAnalysis.Result r = s.result();
      groups += r.groups().size();
      if (!r.dedicated().isEmpty()) {
        Map<String, Object> d = neuron(r.dedicated().get(0));
        d.put("family", s.family().name());
        d.put("dedicated_neurons", r.dedicated().size());
        dedicated.add(reorder(d, "family"));
      } else {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("family", s.family().name());
        k.put("k", r.kNeeded() > 0 ? r.kNeeded() : null);
        k.put("best_neuron", columns.label(r.best().column()));
        k.put("best_single_f1", r.best().testF1());
        k.put("best_single_auc", r.best().auc());
        Map<String, Object> curve = new LinkedHashMap<>();
        r.curve().forEach(st -> curve.put(Integer.toString(st.k()), st.testF1()));
        k.put("f1_by_k", curve);
        needsK.add(k);
      }
    }
    m.put("dedicated", dedicated);
    m.put("needs_k", needsK);
    m.put("groups", groups);
    m.put("train_rows_per_class", scored.stream().collect(LinkedHashMap::new,
        (map, s) -> map.put(s.family().name(), s.result().trainPerClass()), Map::putAll));
    m.put("test_rows_per_class", scored.stream().collect(LinkedHashMap::new,
        (map, s) -> map.put(s.family().name(), s.result().testPerClass()), Map::putAll));
    return m;
  }

  private static Map<String, Object> reorder(Map<String, Object> m, String first) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put(first, m.get(first));
    m.forEach(out::putIfAbsent);
    return out;
  }

  /** Writes report.md atomically. */
  void writeMarkdown(Path file, FeatureExamples examples) throws IOException {
    StringBuilder md = new StringBuilder();
    md.append("# Neuron families\n\n");
    md.append("| input | model | hook | layer | neurons |\n|---|---|---|---:|---:|\n");
    for (int i = 0; i < columns.inputs().size(); i++) {
      NeuronColumns.Input in = columns.inputs().get(i);
      md.append("| ").append(in.name()).append(" | ").append(models.get(i)).append(" | ").append(in.hook())
          .append(" | ").append(in.layer()).append(" | ").append(in.width()).append(" |\n");
    }
    md.append("\n").append(tokens).append(" tokens read; ").append(scored.size()).append(" families scored, ")
        .append(skipped.size()).append(" skipped. Each neuron's threshold and direction are chosen on the training")
        .append(" rows and its F1 is measured on the test rows (documents split ").append(100 - config.getInt("test_percent"))
        .append("/").append(config.getInt("test_percent")).append("); AUCs are the test rows'. A neuron is dedicated")
        .append(" when its F1 reaches ").append(fmt(settings.dedicatedF1())).append(" on both. Families without one get")
        .append(" k-sparse probes over every input's neurons (ranked by ").append(settings.ranking().name())
        .append(" on the training rows, optimal refit); k is the first size whose probe reaches the bar on both.\n\n");

    md.append("## Dedicated neurons\n\n");
    List<Scored> ded = scored.stream().filter(s -> !s.result().dedicated().isEmpty()).toList();
    if (ded.isEmpty()) {
      md.append("None.\n\n");
    } else {
      md.append("| family | neuron | layer | index | AUC | F1 | train F1 | sign | dedicated neurons | rows per side (train / test) |\n")
          .append("|---|---|---:|---:|---:|---:|---:|---|---:|---|\n");
      for (Scored s : ded) {
        FamilyAnalysis.NeuronScore n = s.result().dedicated().get(0);
        NeuronColumns.Input in = columns.inputOf(n.column());
        md.append("| ").append(s.family().name()).append(" | ").append(columns.label(n.column())).append(" | ")
            .append(in.layer()).append(" | ").append(n.column() - in.offset()).append(" | ").append(fmt(n.auc()))
            .append(" | ").append(fmt(n.testF1())).append(" | ").append(fmt(n.trainF1())).append(" | ").append(n.sign())
            .append(" | ").append(s.result().dedicated().size()).append(" | ").append(s.result().trainPerClass())
            .append(" / ").append(s.result().testPerClass()).append(" |\n");
      }
      md.append('\n');
    }

    md.append("## Families without a dedicated neuron\n\n");
    List<Scored> multi = scored.stream().filter(s -> s.result().dedicated().isEmpty()).toList();
    if (multi.isEmpty()) {
      md.append("None.\n\n");
    } else {
      md.append("| family | best neuron | its AUC | its F1 | k needed | test F1 by k |\n|---|---|---:|---:|---|---|\n");
      for (Scored s : multi) {
        FamilyAnalysis.Result r = s.result();
        StringBuilder curve = new StringBuilder();
        for (FamilyAnalysis.Step st : r.curve()) {
          curve.append(curve.length() == 0 ? "" : ", ").append(st.k()).append(": ").append(fmt(st.testF1()));
        }
        int kMax = r.curve().isEmpty() ? 0 : r.curve().get(r.curve().size() - 1).k();
        md.append("| ").append(s.family().name()).append(" | ").append(columns.label(r.best().column())).append(" | ")
            .append(fmt(r.best().auc())).append(" | ").append(fmt(r.best().testF1())).append(" | ")
            .append(r.kNeeded() > 0 ? Integer.toString(r.kNeeded()) : "none up to " + kMax).append(" | ")
            .append(curve).append(" |\n");
      }
      md.append('\n');
    }

    md.append("## Co-activating groups\n\nCandidates: up to ").append(settings.groupNeurons())
        .append(" neurons per family with training AUC separation of at least ").append(fmt(settings.groupMinAuc()))
        .append(" (and the neurons of the probe that reaches the bar); linked when their correlation on the family's")
        .append(" rows is at least ").append(fmt(settings.groupCorrelation())).append(".\n\n");
    boolean any = false;
    for (Scored s : scored) {
      for (FamilyAnalysis.Group g : s.result().groups()) {
        if (!any) {
          md.append("| family | size | neurons | mean correlation |\n|---|---:|---|---:|\n");
          any = true;
        }
        md.append("| ").append(s.family().name()).append(" | ").append(g.columns().length).append(" | ")
            .append(String.join(" ", labels(g.columns()))).append(" | ").append(fmt(g.meanCorrelation())).append(" |\n");
      }
    }
    md.append(any ? "\n" : "None.\n\n");

    if (!skipped.isEmpty()) {
      md.append("## Skipped families\n\n");
      skipped.forEach((f, why) -> md.append("- ").append(f).append(": ").append(why).append('\n'));
      md.append('\n');
    }

    md.append("## Dashboards\n\nTop activating contexts over every row read (the example token in brackets) and the")
        .append(" activation histogram on the family's rows, per side, from min to max. More neurons in")
        .append(" results/neurons.json.\n\n");
    Set<Integer> shown = new LinkedHashSet<>();
    for (Scored s : scored) {
      FamilyAnalysis.Result r = s.result();
      List<Integer> pick = new ArrayList<>();
      pick.add(r.best().column());
      r.dedicated().stream().limit(MARKDOWN_DASHBOARDS).forEach(x -> pick.add(x.column()));
      for (int j : pick) {
        if (!shown.add(j)) {
          continue;
        }
        NeuronColumns.Input in = columns.inputOf(j);
        md.append("### ").append(columns.label(j)).append(" (").append(in.name()).append(", ").append(in.hook())
            .append(")\n\n");
        for (Scored t : scored) {
          FamilyAnalysis.Histogram h = t.result().histograms().get(j);
          if (h == null) {
            continue;
          }
          FamilyAnalysis.NeuronScore sc = t.result().scores()[j];
          md.append("- ").append(t.family().name()).append(": AUC ").append(fmt(sc.auc())).append(", F1 ")
              .append(fmt(sc.testF1())).append(" (fires ").append(sc.sign()).append("); ")
              .append(String.format(Locale.ROOT, "%.3g..%.3g", h.min(), h.max())).append(" `")
              .append(t.family().positiveClass()).append(" ").append(bars(h.positive())).append("` `")
              .append(t.family().negativeClass()).append(" ").append(bars(h.negative())).append("`\n");
        }
        List<FeatureExamples.Example> top = examples.top(j);
        for (int e = 0; e < Math.min(MARKDOWN_EXAMPLES, top.size()); e++) {
          md.append(e == 0 ? "\n" : "").append("  ").append(e + 1).append(". ").append(example(top.get(e)))
              .append('\n');
        }
        md.append('\n');
      }
    }
    AtomicFiles.write(file, md.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** A histogram as a row of block characters, tallest bin full. */
  static String bars(long[] counts) {
    long max = Arrays.stream(counts).max().orElse(0);
    StringBuilder sb = new StringBuilder();
    for (long c : counts) {
      sb.append(BARS.charAt(max == 0 || c == 0 ? 0 : (int) Math.max(1, Math.round(8.0 * c / max))));
    }
    return sb.toString();
  }

  private String example(FeatureExamples.Example e) {
    String act = String.format(Locale.ROOT, " (%.3g)", e.activation());
    if (session.isEmpty()) {
      return "token " + e.tokenId() + " in doc " + e.docId() + " at " + e.position() + act;
    }
    String before = clean(session.get().decode(e.context()));
    String tok = clean(session.get().decode(new int[] {e.tokenId()}));
    return "`" + before + "[" + tok + "]`" + act;
  }

  private static String clean(String s) {
    return s.replace("\n", "⏎").replace("`", "'").replace("|", "¦");
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
  }
}
