package dev.loupe.plugins.neurons;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.activation.ModelNotingSource;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.dataset.LabelledSample;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.probe.FeatureRanking;
import dev.loupe.sdk.probe.LogisticRegression;
import dev.loupe.sdk.sparse.FeatureExamples;
import dev.loupe.sdk.sparse.TokenContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.pf4j.Extension;

/**
 * The analysis method {@code neurons}: a neuron-family finder in the spirit of Gurnee et al. 2023,
 * "Finding Neurons in a Haystack: Case Studies with Sparse Probing". It reads one or more inputs
 * on the same tokens (typically {@code blocks.L.mlp.hook_post} of every layer of one model, which
 * share one harvest), keeps a class-balanced sample of rows (split into train and test by document)
 * for every family it is asked about (a two-class labelled token dataset, or one class of a larger
 * one against the rest), and scores every neuron of every layer on its own for each family:
 * AUC, and F1 with the threshold chosen on the training rows and measured on the test rows. A
 * family has a <em>dedicated</em> neuron when one reaches {@code dedicated_f1} on both; otherwise
 * k-sparse probes over all layers' neurons (ranked on the training rows, optimal refit) say how
 * many neurons it needs. Among each family's best neurons, co-activating ones (correlated on the
 * family's rows) are grouped, and the neurons worth a look get dashboards: top activating contexts
 * over everything read and their activation histograms per class.
 */
@Extension
public class NeuronsMethod implements AnalysisMethod {

  public static final String ID = "neurons";
  /** Documents whose recent tokens are remembered for example contexts. */
  private static final int CONTEXT_DOCS = 4096;
  /** Share of the heap the samples may take before the job refuses to start. */
  private static final double HEAP_SHARE = 0.6;

  static final ConfigSchema SCHEMA = ConfigSchema.builder()
      .stringListOption("datasets", List.of(),
          "families to score: NAME (a two-class dataset: its class 1 against class 0; more classes: each class"
              + " against the rest) or NAME=CLASS (that class against the rest); empty: every dataset the host defines")
      .intOption("max_per_class", 1000, 2, 10_000_000,
          "training rows sampled per class of each dataset (test rows in proportion to test_percent)")
      .intOption("test_percent", 20, 1, 99, "percent of documents whose rows are test rows")
      .intOption("min_per_class", 10, 1, null,
          "a family with fewer train or test rows of either side is skipped, and the summary says why")
      .doubleOption("dedicated_f1", 0.9, 0.0, 1.0,
          "F1 a neuron needs on train and test rows to be dedicated (and a k-sparse probe to be enough)")
      .stringListOption("ks", List.of("1", "2", "4", "8", "16", "32"),
          "k-sparse probe sizes, strictly increasing (sizes above the number of neurons are dropped)")
      .enumOption("ranking", "f-statistic", List.of("f-statistic", "mean-difference"),
          "how the k-sparse probes rank neurons on the training rows")
      .doubleOption("probe_c", 1.0, 1e-9, null, "inverse L2 penalty of the k-sparse probes (standardised neurons)")
      .doubleOption("family_correlation", 0.5, -1.0, 1.0,
          "two candidate neurons of a family co-activate when their correlation on its rows is at least this")
      .doubleOption("family_min_auc", 0.75, 0.5, 1.0,
          "a family's candidate neurons have a training AUC of at least this (or at most 1 minus it)")
      .intOption("family_neurons", 16, 2, 10_000,
          "candidates per family, best separated first (the neurons of the probe that reaches the bar join them)")
      .intOption("dashboard_neurons", 16, 1, 10_000, "neurons per family given dashboards (histograms, top contexts)")
      .intOption("report_neurons", 10, 1, 10_000, "best neurons listed per family in results/families.json")
      .intOption("top_examples", 10, 0, 10_000, "top activating rows kept per neuron over everything read")
      .intOption("context_tokens", 16, 0, 4096, "tokens kept before each top example")
      .intOption("histogram_bins", 20, 2, 10_000, "bins of the per-class activation histograms")
      .longOption("max_tokens", 0L, 0L, null, "rows read in all (0: the whole input)")
      .longOption("seed", 42L, null, null, "seed of the samples")
      .build();

  private static final MethodInfo INFO = new MethodInfo(ID,
      "Neuron-family finder (Gurnee et al. 2023): single-neuron AUC/F1 and k-sparse probes for every neuron of every"
          + " input against labelled token datasets; dedicated neurons, co-activating groups, dashboards",
      List.of(MethodInfo.ANY_INPUTS), SCHEMA);

  @Override
  public MethodInfo info() {
    return INFO;
  }

  /** The options the analysis of each family runs with, checked beyond the schema. */
  static FamilyAnalysis.Settings settings(JobConfig cfg) {
    List<String> raw = cfg.getStringList("ks");
    if (raw.isEmpty()) {
      throw new ConfigException("ks", "expected at least one probe size, e.g. [1, 2, 4, 8, 16, 32]");
    }
    int[] ks = new int[raw.size()];
    for (int i = 0; i < ks.length; i++) {
      try {
        ks[i] = Integer.parseInt(raw.get(i).trim());
      } catch (NumberFormatException e) {
        throw new ConfigException("ks[" + i + "]", "expected a whole number of neurons, got '" + raw.get(i) + "'");
      }
      if (ks[i] < 1 || (i > 0 && ks[i] <= ks[i - 1])) {
        throw new ConfigException("ks", "expected positive sizes in strictly increasing order, got " + raw);
      }
    }
    FeatureRanking ranking = cfg.getString("ranking").equals("mean-difference") ? FeatureRanking.meanDifference()
        : FeatureRanking.fStatistic();
    LogisticRegression probe = LogisticRegression.builder().c(cfg.getDouble("probe_c")).standardize(true).build();
    return new FamilyAnalysis.Settings(cfg.getDouble("dedicated_f1"), ks, ranking, probe,
        cfg.getDouble("family_correlation"), cfg.getDouble("family_min_auc"), cfg.getInt("family_neurons"),
        cfg.getInt("histogram_bins"), cfg.getInt("dashboard_neurons"));
  }

  /**
   * One dataset being read: its labeller, and per family a two-class sample (the rest as class 0,
   * the family's class as class 1), so every family is balanced on its own, however rare the
   * dataset's other classes are.
   */
  static final class DatasetState {
    final Family.Plan plan;
    final Labeller labeller;
    final LabelledSample[] samples;

    DatasetState(Family.Plan plan, Labeller labeller) {
      this.plan = plan;
      this.labeller = labeller;
      this.samples = new LabelledSample[plan.families().size()];
    }

    /** Offers the batch's rows to every family's sample. */
    void add(ActivationBatch b, int[] labels) {
      int[] binary = new int[labels.length];
      for (int f = 0; f < samples.length; f++) {
        int positive = plan.families().get(f).positive();
        for (int r = 0; r < labels.length; r++) {
          binary[r] = labels[r] == Labeller.NONE ? Labeller.NONE : labels[r] == positive ? 1 : 0;
        }
        samples[f].add(b, binary);
      }
    }
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    JobConfig cfg = ctx.config();
    FamilyAnalysis.Settings settings = settings(cfg);
    List<String> names = new ArrayList<>(ctx.inputNames());
    if (names.isEmpty()) {
      throw new IllegalArgumentException("the neurons method needs at least one input, e.g. one per layer at"
          + " blocks.L.mlp.hook_post of the same model");
    }
    NeuronColumns columns = columns(ctx, names);
    List<Family.Plan> plans = Family.resolve(cfg.getStringList("datasets"), new Family.Catalogue() {
      @Override
      public List<String> names() {
        return ctx.datasetNames();
      }

      @Override
      public TokenDataset get(String name) {
        return ctx.dataset(name);
      }
    });
    Optional<ModelSession> session = ctx.model(names.get(0));
    int maxPerClass = cfg.getInt("max_per_class");
    int testPercent = cfg.getInt("test_percent");
    checkMemory(plans, columns.width(), maxPerClass, testPercent);
    long seed = cfg.getLong("seed");
    List<DatasetState> states = new ArrayList<>();
    for (Family.Plan plan : plans) {
      states.add(new DatasetState(plan, labeller(plan.dataset(), session, names.get(0))));
    }
    // allocated after every check, so a bad config costs no memory
    int index = 0;
    for (DatasetState state : states) {
      for (int f = 0; f < state.samples.length; f++) {
        Family family = state.plan.families().get(f);
        state.samples[f] = new LabelledSample(family.name(), List.of(family.negativeClass(), family.positiveClass()),
            columns.width(), maxPerClass, testPercent, seed + 1_000_003L * index++);
      }
    }
    int families = plans.stream().mapToInt(p -> p.families().size()).sum();
    ctx.log().info("neurons: {} inputs, {} neurons, {} datasets, {} families", names.size(), columns.width(),
        plans.size(), families);

    FeatureExamples examples = new FeatureExamples(columns.width(), cfg.getInt("top_examples"));
    ModelNotingSource[] sources = names.stream().map(n -> new ModelNotingSource(ctx.input(n)))
        .toArray(ModelNotingSource[]::new);
    long t0 = System.nanoTime();
    long tokens = read(ctx, sources, states, examples, cfg.getLong("max_tokens"), cfg.getInt("context_tokens"));
    double readSeconds = (System.nanoTime() - t0) / 1e9;
    ctx.log().info("read {} tokens in {} s; scoring {} families", tokens, String.format("%.1f", readSeconds), families);
    List<String> models = new ArrayList<>();
    for (ModelNotingSource s : sources) {
      models.add(s.modelId());
    }
    NeuronReport report = new NeuronReport(columns, names, models, session, settings, cfg);
    report.tokens(tokens);
    long t1 = System.nanoTime();
    int done = 0;
    for (DatasetState state : states) {
      for (int f = 0; f < state.samples.length; f++) {
        ctx.checkCancelled();
        Family family = state.plan.families().get(f);
        LabelledSample sample = state.samples[f];
        state.samples[f] = null;
        report.seen(family, sample.seen());
        score(ctx, cfg, settings, report, family, sample, seed ^ (0x9E3779B97F4A7C15L * (done + 1)));
        done++;
        ctx.progress(done, families, "families");
      }
    }
    if (report.scored() == 0) {
      throw new IllegalStateException("no family could be scored after " + tokens + " tokens: " + report.skipped()
          + "; check that the datasets label these rows, or read more tokens");
    }
    ctx.checkCancelled();
    writeScores(ctx, report);
    ctx.publish("families", report.familyResults());
    ctx.publish("neurons", report.dashboards(examples));
    Map<String, Object> summary = report.summary();
    ctx.publish("summary", summary);
    report.writeMarkdown(ctx.artifactDir().resolve("report.md"), examples);
    ctx.log().info("done: {} tokens, {} families scored, {} with a dedicated neuron; scoring took {} s", tokens,
        report.scored(), report.dedicatedFamilies(), String.format("%.1f", (System.nanoTime() - t1) / 1e9));
  }

  /** Scores one family on its sample, or records why it cannot be scored. */
  private static void score(JobContext ctx, JobConfig cfg, FamilyAnalysis.Settings settings, NeuronReport report,
      Family family, LabelledSample sample, long seed) {
    LabelledSample.Split split;
    try {
      split = sample.balanced();
    } catch (IllegalStateException e) {
      report.skip(family, e.getMessage());
      return;
    }
    FamilyRows rows = FamilyRows.of(split, 1, seed);
    int min = cfg.getInt("min_per_class");
    if (rows.trainPerClass() < min || rows.testPerClass() < min) {
      report.skip(family, "only " + rows.trainPerClass() + " train / " + rows.testPerClass() + " test rows per side"
          + " (min_per_class " + min + "); read more tokens, or a corpus richer in '" + family.positiveClass() + "'");
      return;
    }
    FamilyAnalysis.Result r = FamilyAnalysis.analyse(rows.rows(), rows.labels(), rows.trainRows(), settings,
        ctx::checkCancelled);
    report.add(family, r);
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("best_auc", FamilyAnalysis.separation(r.best().auc()));
    m.put("best_f1", r.best().testF1());
    m.put("dedicated", r.dedicated().isEmpty() ? 0.0 : 1.0);
    m.put("k_needed", r.kNeeded() > 0 ? (double) r.kNeeded() : Double.NaN);
    ctx.metrics(report.scored() - 1, m);
  }

  /**
   * Lays out the inputs' columns, refusing hooks the input's model does not have (or names that
   * are not hook names at all when a model is behind the input).
   */
  static NeuronColumns columns(JobContext ctx, List<String> names) {
    List<String> hooks = new ArrayList<>();
    List<Integer> widths = new ArrayList<>();
    for (String name : names) {
      ActivationSource src = ctx.input(name);
      String hook = src.hookName();
      Optional<ModelSession> model = ctx.model(name);
      if (model.isPresent()) {
        try {
          HookPoint.parse(hook);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("input '" + name + "': " + e.getMessage(), e);
        }
        if (!model.get().info().hasHook(hook)) {
          throw new IllegalArgumentException("input '" + name + "': model '" + model.get().info().id() + "' ("
              + model.get().info().nLayers() + " layers, 0.." + (model.get().info().nLayers() - 1)
              + ") has no hook '" + hook + "'; neurons are usually at blocks.L.mlp.hook_post");
        }
      }
      if (src.width() < 1) {
        throw new IllegalArgumentException("input '" + name + "' (" + hook + ") has width " + src.width());
      }
      hooks.add(hook);
      widths.add(src.width());
    }
    return NeuronColumns.of(names, hooks, widths);
  }

  /** The dataset's labeller for rows of the input's model, or a message saying why there is none. */
  static Labeller labeller(TokenDataset d, Optional<ModelSession> session, String input) {
    Labeller l;
    try {
      l = d.labeller(session.orElse(null));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("dataset '" + d.name() + "' cannot label the rows of input '" + input + "': "
          + (session.isEmpty() ? "the input has no model session (its tokenizer is what labels tokens), and "
              : "") + e, e);
    }
    if (l == null) {
      throw new IllegalArgumentException("dataset '" + d.name() + "' gave no labeller for input '" + input + "'");
    }
    return l;
  }

  /** Refuses to start when the samples would not fit comfortably in the heap. */
  static void checkMemory(List<Family.Plan> plans, int width, int maxPerClass, int testPercent) {
    long perClass = maxPerClass + Math.max(1, Math.round((double) maxPerClass * testPercent / (100 - testPercent)));
    long classes = 2L * plans.stream().mapToLong(p -> p.families().size()).sum();
    long bytes = classes * perClass * width * 4L;
    long heap = Runtime.getRuntime().maxMemory();
    if (bytes > HEAP_SHARE * heap) {
      throw new ConfigException("max_per_class", String.format(java.util.Locale.ROOT,
          "sampling %d classes x %d rows x %d neurons needs about %d MiB, more than %.0f%% of the %d MiB heap;"
              + " lower max_per_class, name fewer datasets, or give Java more memory (LOUPE_JAVA_OPTS=-Xmx...)",
          classes, perClass, width, bytes >> 20, HEAP_SHARE * 100, heap >> 20));
    }
  }

  /** Reads the inputs row by row into the samples and the top-example heaps; returns the rows read. */
  static long read(JobContext ctx, ActivationSource[] sources, List<DatasetState> states, FeatureExamples examples,
      long maxTokens, int contextTokens) throws InterruptedException {
    // inputs of one harvest must be read together: reading one to its end first would stall the harvest
    ActivationSource rows = sources.length == 1 ? sources[0] : ActivationSources.aligned(true, sources);
    long total = rows.totalRows();
    if (maxTokens > 0) {
      total = total > 0 ? Math.min(total, maxTokens) : maxTokens;
    }
    TokenContext context = new TokenContext(contextTokens, CONTEXT_DOCS);
    long read = 0;
    long waited = 0;
    long worked = 0;
    try (rows) {
      ActivationBatch b;
      long t = System.nanoTime();
      while ((maxTokens == 0 || read < maxTokens) && (b = rows.next()) != null) {
        long got = System.nanoTime();
        waited += got - t;
        ctx.checkCancelled();
        if (maxTokens > 0 && read + b.rows() > maxTokens) {
          b = b.slice(0, (int) (maxTokens - read));
        }
        int n = b.rows();
        for (DatasetState s : states) {
          int[] labels = s.labeller.labels(b);
          if (labels == null || labels.length != n) {
            throw new IllegalArgumentException("dataset '" + s.plan.dataset().name() + "': its labeller gave "
                + (labels == null ? "no labels" : labels.length + " labels") + " for a batch of " + n + " rows of "
                + rows.hookName() + "; expected one label per row");
          }
          s.add(b, labels);
        }
        int[][] before = new int[n][];
        for (int r = 0; r < n; r++) {
          before[r] = context.next(b.docIds()[r], b.positions()[r], b.tokenIds()[r]);
        }
        examples.add(b.values(), n, read, b.tokenIds(), b.docIds(), b.positions(), before, 0);
        read += n;
        ctx.progress(read, total, "tokens");
        t = System.nanoTime();
        worked += t - got;
      }
    }
    ctx.log().info("reading: {} s waiting for rows, {} s labelling and sampling them", String.format("%.1f", waited / 1e9),
        String.format("%.1f", worked / 1e9));
    return read;
  }

  /** Every family's per-neuron AUC and F1 as [families, neurons] tensors, for numpy and torch. */
  private static void writeScores(JobContext ctx, NeuronReport report) throws java.io.IOException {
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    float[][] m = report.scoreMatrices();
    long[] shape = {report.scored(), report.width()};
    tensors.put("auc", TensorData.f32(m[0], shape));
    tensors.put("train_f1", TensorData.f32(m[1], shape));
    tensors.put("test_f1", TensorData.f32(m[2], shape));
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("families", String.join("\n", report.scoredNames()));
    meta.put("neurons", report.columnsDescription());
    Safetensors.write(ctx.artifactDir().resolve("scores.safetensors"), tensors, meta);
  }

}
