package dev.loupe.plugins.probes;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.LabelledSample;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.pf4j.Extension;

/**
 * The analysis method {@code probes}: logistic-regression probes for labelled token datasets on any
 * activation input (neurons, residual stream, attention output, sparse-coder latents from a file or
 * store), after Gurnee et al. 2023 ("Finding Neurons in a Haystack"). For every input and dataset it
 * fits an L2 probe on all features (binary or multinomial, solved to convergence by L-BFGS), scores
 * the best single feature, and runs k-sparse sweeps (features ranked by mean difference, F-statistic
 * or an L1 probe, then an optimal refit on the top k); several inputs (layers of one model, read row
 * by row from one harvest) make a layer sweep that says where each dataset's information is
 * introduced and where it is only boosted; mechanistic probes score directions read from the
 * model's unembedding without fitting them. Results go to JSON, {@code report.md} and PNG/SVG plots.
 */
@Extension
public class ProbesMethod implements AnalysisMethod {

  public static final String ID = "probes";
  /** Sub-directory of the artifact directory holding the plots. */
  static final String PLOTS_DIR = "plots";
  private static final int METRICS_EVERY_BATCHES = 20;

  private static final MethodInfo INFO = new MethodInfo(ID,
      "Probe suite on labelled token datasets: logistic-regression probes on any hook, k-sparse probing, layer sweeps"
          + " over several inputs, mechanistic probes from the unembedding", List.of(MethodInfo.ANY_INPUTS),
      ProbeSettings.SCHEMA);

  @Override
  public MethodInfo info() {
    return INFO;
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    long t0 = System.nanoTime();
    // Everything that can be wrong with the request is checked before a row is read.
    ProbeSettings s = ProbeSettings.of(ctx.config());
    List<TokenDataset> datasets = datasets(ctx, s.datasets());
    List<ProbeInput> inputs = ProbeInput.resolve(ctx, s.inputOrder());
    int[][] ks = new int[inputs.size()][];
    for (int i = 0; i < inputs.size(); i++) {
      ks[i] = s.ksFor(inputs.get(i).width());
      if (ks[i].length == 0 && !s.rankings().isEmpty()) {
        throw new IllegalArgumentException("config ks: no k fits input '" + inputs.get(i).name() + "' ("
            + inputs.get(i).hook() + ", width " + inputs.get(i).width() + "); expected ks of at most its width");
      }
    }
    Labelling labelling = Labelling.bind(inputs, datasets);
    List<MechanisticProbe> mechanistic = new ArrayList<>();
    for (ProbeSettings.MechanisticSpec spec : s.mechanistic()) {
      mechanistic.add(MechanisticProbe.resolve(spec, inputs, datasets, s.datasets()));
    }
    LabelledSample[][] samples = new LabelledSample[inputs.size()][datasets.size()];
    for (int i = 0; i < inputs.size(); i++) {
      for (int d = 0; d < datasets.size(); d++) {
        // The same seed for every input: with the same labels they keep the same rows.
        samples[i][d] = new LabelledSample(datasets.get(d).name(), datasets.get(d).classes(), inputs.get(i).width(),
            s.maxPerClass(), s.testPercent(), s.seed() + 1009L * d);
      }
    }
    ctx.log().info("probing {} datasets {} on {} inputs {}", datasets.size(), s.datasets(), inputs.size(),
        inputs.stream().map(in -> in.name() + "=" + in.hook()).toList());

    long rows = read(ctx, s, inputs, datasets, labelling, samples);
    double readSeconds = (System.nanoTime() - t0) / 1e9;

    // Datasets whose rows lack a class fail the job, or with on_too_few_rows = skip are left out.
    Map<String, String> skipped = new LinkedHashMap<>();
    LabelledSample.Split[][] all = splits(inputs, datasets, samples, s.skipSparseDatasets(), skipped);
    List<Integer> kept = new ArrayList<>();
    for (int d = 0; d < datasets.size(); d++) {
      if (!skipped.containsKey(datasets.get(d).name())) {
        kept.add(d);
      }
    }
    if (!skipped.isEmpty()) {
      ctx.log().warn("left out datasets without enough rows: {}", skipped);
      datasets = kept.stream().map(datasets::get).toList();
      LabelledSample[][] keptSamples = new LabelledSample[inputs.size()][kept.size()];
      LabelledSample.Split[][] keptSplits = new LabelledSample.Split[inputs.size()][kept.size()];
      for (int i = 0; i < inputs.size(); i++) {
        for (int j = 0; j < kept.size(); j++) {
          keptSamples[i][j] = samples[i][kept.get(j)];
          keptSplits[i][j] = all[i][kept.get(j)];
        }
      }
      samples = keptSamples;
      all = keptSplits;
      List<MechanisticProbe> keptProbes = new ArrayList<>();
      for (MechanisticProbe p : mechanistic) {
        int j = kept.indexOf(p.dataset());
        if (j >= 0) {
          keptProbes.add(p.atDataset(j));
        }
      }
      mechanistic = keptProbes;
    }
    LabelledSample.Split[][] splits = all;
    long t1 = System.nanoTime();
    ProbeAnalysis.Outcome[][] outcomes = new ProbeAnalysis.Outcome[inputs.size()][datasets.size()];
    int total = inputs.size() * datasets.size();
    int done = 0;
    for (int d = 0; d < datasets.size(); d++) {
      for (int i = 0; i < inputs.size(); i++) {
        ctx.checkCancelled();
        ProbeAnalysis.Outcome o = ProbeAnalysis.analyse(splits[i][d], s, ks[i], ctx::checkCancelled);
        outcomes[i][d] = o;
        done++;
        ctx.progress(done, total, "probes");
        ctx.log().info("{} on {}: test accuracy {}, F1 {}", datasets.get(d).name(), inputs.get(i).name(),
            fmt(o.accuracy()), fmt(o.f1()));
      }
    }
    List<Map<String, Object>> mech = evaluateMechanistic(mechanistic, inputs, splits, outcomes);
    double probeSeconds = (System.nanoTime() - t1) / 1e9;

    Map<String, Object> layerSweeps = new LinkedHashMap<>();
    for (int d = 0; d < datasets.size(); d++) {
      double[] acc = new double[inputs.size()];
      double[] f1 = new double[inputs.size()];
      for (int i = 0; i < inputs.size(); i++) {
        acc[i] = outcomes[i][d].accuracy();
        f1[i] = outcomes[i][d].f1();
      }
      layerSweeps.put(datasets.get(d).name(), LayerSweep.of(inputs, acc, f1, datasets.get(d).classes().size()));
    }
    List<String> plots = ProbeOutputs.plots(ctx.artifactDir().resolve(PLOTS_DIR), inputs, datasets, outcomes, mech);

    for (int d = 0; d < datasets.size(); d++) {
      Map<String, Object> doc = new LinkedHashMap<>();
      TokenDataset ds = datasets.get(d);
      doc.put("dataset", ds.name());
      doc.put("description", ds.description());
      doc.put("classes", ds.classes());
      Map<String, Object> per = new LinkedHashMap<>();
      for (int i = 0; i < inputs.size(); i++) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("hook", inputs.get(i).hook());
        entry.putAll(outcomes[i][d].json());
        per.put(inputs.get(i).name(), entry);
      }
      doc.put("inputs", per);
      doc.put("layer_sweep", layerSweeps.get(ds.name()));
      List<Object> mine = mech.stream().filter(m -> m.get("dataset").equals(ds.name())).map(m -> (Object) m).toList();
      if (!mine.isEmpty()) {
        doc.put("mechanistic", mine);
      }
      ctx.publish(resultName(ds.name()), doc);
    }
    Map<String, Object> summary = ProbeOutputs.summary(ctx, s, inputs, datasets, samples, splits, outcomes,
        layerSweeps, mech, plots, rows, readSeconds, probeSeconds);
    if (!skipped.isEmpty()) {
      summary.put("skipped_datasets", skipped);
    }
    ctx.publish("summary", summary);
    ProbeOutputs.writeReport(ctx.artifactDir().resolve("report.md"), summary, inputs, datasets, outcomes, layerSweeps,
        mech);
    ctx.log().info("done: {} rows read in {} s, {} probes in {} s", rows, fmt(readSeconds), total, fmt(probeSeconds));
  }

  /** The result name of one dataset's details ({@code dataset-NAME}, file-name safe). */
  static String resultName(String dataset) {
    return "dataset-" + ProbePlots.fileName(dataset);
  }

  private static List<TokenDataset> datasets(JobContext ctx, List<String> names) {
    List<String> defined = ctx.datasetNames();
    List<TokenDataset> out = new ArrayList<>();
    for (String name : names) {
      if (!defined.contains(name)) {
        throw new IllegalArgumentException("config datasets: no dataset named '" + name + "'; this host defines "
            + defined + " (config/datasets/*.yaml)");
      }
      TokenDataset ds = ctx.dataset(name);
      if (ds.classes().size() < 2) {
        throw new IllegalArgumentException("dataset '" + name + "' has " + ds.classes().size() + " class "
            + ds.classes() + "; a probe needs at least two classes");
      }
      out.add(ds);
    }
    return out;
  }

  /** Reads every input row by row (one aligned read), labels the rows and offers them to the samples. */
  private static long read(JobContext ctx, ProbeSettings s, List<ProbeInput> inputs, List<TokenDataset> datasets,
      Labelling labelling, LabelledSample[][] samples) throws InterruptedException {
    ActivationSource rows = inputs.size() == 1 ? inputs.get(0).source()
        : ActivationSources.aligned(true, inputs.stream().map(ProbeInput::source).toArray(ActivationSource[]::new));
    long limit = s.maxTokens() > 0 ? s.maxTokens() : Long.MAX_VALUE;
    long known = rows.totalRows();
    long total = known >= 0 ? Math.min(known, limit) : s.maxTokens() > 0 ? s.maxTokens() : -1;
    long read = 0;
    long batches = 0;
    try {
      ActivationBatch b;
      while (read < limit && (b = rows.next()) != null) {
        ctx.checkCancelled();
        int n = (int) Math.min(b.rows(), limit - read);
        int[][][] labels = labelling.label(b, inputs);
        for (int i = 0; i < inputs.size(); i++) {
          int[][] mine = labels[labelling.groupOf(i)];
          ActivationBatch slice = null;
          for (int d = 0; d < datasets.size(); d++) {
            int[] l = n == b.rows() ? mine[d] : java.util.Arrays.copyOf(mine[d], n);
            if (!anyLabelled(l)) {
              continue;
            }
            if (slice == null) {
              slice = slice(b, inputs.get(i), n, inputs.size() == 1);
            }
            samples[i][d].add(slice, l);
          }
        }
        read += n;
        batches++;
        ctx.progress(read, total, "tokens");
        if (batches % METRICS_EVERY_BATCHES == 0) {
          ctx.metrics(read, readingMetrics(read, datasets, samples[0]));
        }
      }
    } finally {
      rows.close();
    }
    ctx.metrics(read, readingMetrics(read, datasets, samples[0]));
    if (read == 0) {
      throw new IllegalStateException("the inputs " + inputs.stream().map(ProbeInput::name).toList()
          + " delivered no activation rows; expected rows of labelled tokens");
    }
    return read;
  }

  private static Map<String, Double> readingMetrics(long read, List<TokenDataset> datasets, LabelledSample[] samples) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (int d = 0; d < datasets.size(); d++) {
      long min = Long.MAX_VALUE;
      for (long c : samples[d].seen()) {
        min = Math.min(min, c);
      }
      m.put("rarest_class_rows." + datasets.get(d).name(), (double) min);
    }
    return m;
  }

  private static boolean anyLabelled(int[] labels) {
    for (int l : labels) {
      if (l != Labeller.NONE) {
        return true;
      }
    }
    return false;
  }

  /** One input's columns of the first n rows of an aligned batch (the batch itself when it is all of it). */
  private static ActivationBatch slice(ActivationBatch b, ProbeInput in, int n, boolean whole) {
    if (whole && n == b.rows()) {
      return b;
    }
    int w = in.width();
    float[] v = new float[Math.multiplyExact(n, w)];
    int stride = b.width();
    for (int r = 0; r < n; r++) {
      System.arraycopy(b.values(), r * stride + in.offset(), v, r * w, w);
    }
    return new ActivationBatch(b.modelId(), in.hook(), b.sequence(), n, w, v,
        java.util.Arrays.copyOf(b.tokenIds(), n), java.util.Arrays.copyOf(b.docIds(), n),
        java.util.Arrays.copyOf(b.positions(), n), null);
  }

  /**
   * The balanced train/test split of every (input, dataset).
   *
   * @throws IllegalStateException naming every dataset whose rows lack a class on one side
   */
  private static LabelledSample.Split[][] splits(List<ProbeInput> inputs, List<TokenDataset> datasets,
      LabelledSample[][] samples, boolean skip, Map<String, String> skipped) {
    LabelledSample.Split[][] out = new LabelledSample.Split[inputs.size()][datasets.size()];
    LinkedHashSet<String> problems = new LinkedHashSet<>();
    for (int d = 0; d < datasets.size(); d++) {
      for (int i = 0; i < inputs.size(); i++) {
        try {
          out[i][d] = samples[i][d].balanced();
        } catch (IllegalStateException e) {
          problems.add(e.getMessage());
          skipped.putIfAbsent(datasets.get(d).name(), e.getMessage());
        }
      }
    }
    if (!problems.isEmpty() && (!skip || skipped.size() == datasets.size())) {
      throw new IllegalStateException("not enough labelled rows to probe: " + String.join("; ", problems));
    }
    return out;
  }

  private static List<Map<String, Object>> evaluateMechanistic(List<MechanisticProbe> probes, List<ProbeInput> inputs,
      LabelledSample.Split[][] splits, ProbeAnalysis.Outcome[][] outcomes) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (MechanisticProbe p : probes) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", p.spec().name());
      m.put("dataset", p.spec().dataset());
      m.put("positive_class", p.positiveClassName());
      List<Object> tokens = new ArrayList<>();
      for (MechanisticProbe.TokenSet t : p.tokens()) {
        Map<String, Object> tm = new LinkedHashMap<>();
        tm.put("model", t.model());
        tm.put("positive_ids", java.util.Arrays.stream(t.positiveIds()).boxed().toList());
        tm.put("positive_tokens", t.positiveTokens());
        tm.put("negative_ids", java.util.Arrays.stream(t.negativeIds()).boxed().toList());
        tm.put("negative_tokens", t.negativeTokens());
        tokens.add(tm);
      }
      m.put("tokens", tokens);
      m.put("direction", "mean logit direction of the positive tokens minus that of the negative ones, through the"
          + " final norm's gain and centring (no fitting)");
      List<Object> per = new ArrayList<>();
      for (int i : p.inputs()) {
        LabelledSample.Split sp = splits[i][p.dataset()];
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("input", inputs.get(i).name());
        row.put("hook", inputs.get(i).hook());
        row.putAll(p.evaluate(i, sp.trainFeatures(), sp.trainLabels(), sp.testFeatures(), sp.testLabels()));
        row.put("trained_probe_test_accuracy", outcomes[i][p.dataset()].accuracy());
        per.add(row);
      }
      m.put("inputs", per);
      List<String> skipped = new ArrayList<>();
      for (int i = 0; i < inputs.size(); i++) {
        if (!p.inputs().contains(i)) {
          skipped.add(inputs.get(i).name());
        }
      }
      if (!skipped.isEmpty()) {
        m.put("skipped_inputs", skipped);
        m.put("skipped_because", "not residual-stream hooks of a causal model with a reachable session");
      }
      out.add(m);
    }
    return out;
  }

  static String fmt(double v) {
    return String.format(java.util.Locale.ROOT, "%.4f", v);
  }

  static Path plotsDir(JobContext ctx) {
    return ctx.artifactDir().resolve(PLOTS_DIR);
  }
}
