package dev.loupe.plugins.probes;

import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.probe.FeatureRanking;
import dev.loupe.sdk.probe.LogisticRegression;
import dev.loupe.sdk.probe.SparseProbing;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code probes} job's options: the schema the host validates against, and the typed settings
 * read from a validated config, with the checks a schema cannot express (ranking names, k values,
 * each mechanistic probe's fields) made here, before any input is read.
 */
record ProbeSettings(List<String> datasets, List<String> inputOrder, int maxPerClass, int testPercent, long maxTokens,
    LogisticRegression probe, int[] ks, int maxK, List<Ranking> rankings, double l1C, int sweepMaxClasses,
    List<MechanisticSpec> mechanistic, boolean skipSparseDatasets, long seed) {

  /** Growth of C per fit along the L1 path, and the most fits it makes. */
  static final double L1_PATH_FACTOR = 4;
  static final int L1_PATH_FITS = 8;

  /** A rule for ordering features in a k-sparse sweep, by its config name. */
  enum Ranking {
    MEAN_DIFF("mean_diff"), F_STAT("f_stat"), L1("l1");

    final String id;

    Ranking(String id) {
      this.id = id;
    }

    /** The ranking for a sweep up to {@code maxK} features. */
    FeatureRanking ranking(double l1C, int maxK) {
      return switch (this) {
        case MEAN_DIFF -> FeatureRanking.meanDifference();
        case F_STAT -> FeatureRanking.fStatistic();
        case L1 -> new L1PathRanking(l1C, L1_PATH_FACTOR, L1_PATH_FITS, maxK);
      };
    }

    static List<String> ids() {
      return Arrays.stream(values()).map(r -> r.id).toList();
    }
  }

  /**
   * One mechanistic probe as configured: a direction from the unembedding (mean logit direction of
   * the positive tokens minus that of the negative ones), scored on the rows of {@code dataset}.
   *
   * @param positiveClass the class scored as positive (empty: class 1 of a binary dataset)
   * @param inputs the inputs it is evaluated on (empty: every residual-stream input)
   */
  record MechanisticSpec(int index, String name, String dataset, List<String> positive, List<String> negative,
      String positiveClass, List<String> inputs) {
    /** The config path of this probe, for messages. */
    String where() {
      return "mechanistic[" + index + "]";
    }
  }

  static final ConfigSchema MECHANISTIC = ConfigSchema.builder()
      .stringOption("dataset", null, "the dataset (one of 'datasets') whose classes the direction should separate")
      .stringListOption("positive", null, "token strings whose logits the direction raises: a list, or one string of"
          + " whitespace-separated pieces (\"é è ç\"); each is encoded with the model's tokenizer and every token counts")
      .stringListOption("negative", List.of(), "token strings whose logits the direction lowers (empty: the positive"
          + " direction alone)")
      .stringOption("class", "", "the class scored as positive (default: class 1 of a binary dataset; required for"
          + " datasets with more classes)")
      .stringOption("name", "", "a name for reports (default: DATASET: POSITIVE vs NEGATIVE)")
      .stringListOption("inputs", List.of(), "inputs to evaluate it on (default: every input at a residual-stream hook)")
      .build();

  static final ConfigSchema SCHEMA = ConfigSchema.builder()
      .stringListOption("datasets", null, "labelled token datasets to probe (names from config/datasets/*.yaml, e.g."
          + " language, french, position, token-class, word:Parlement)")
      .stringListOption("inputs", List.of(), "input names in layer-sweep order (default: every input in the job's order)")
      .intOption("max_per_class", 2000, 1, 1_000_000, "training rows kept per class (a uniform sample; test rows in"
          + " proportion to test_percent); classes are balanced to the smallest")
      .intOption("test_percent", 20, 1, 99, "percent of documents held out for testing (split by document id)")
      .longOption("max_tokens", 0L, 0L, null, "rows read from the inputs (0: all of them)")
      .doubleOption("c", 1.0, 1e-12, 1e12, "inverse L2 strength of every probe, as scikit-learn's C (objective"
          + " 0.5 |w|^2 + C sum logloss)")
      .boolOption("standardize", false, "fit probes on features scaled to unit variance (changes what C means)")
      .doubleOption("tolerance", 1e-4, 1e-12, 1.0, "L-BFGS stops when max |gradient| / (C n) is at most this"
          + " (scikit-learn's tol)")
      .intOption("max_iterations", 1000, 1, 1_000_000, "L-BFGS iteration limit per probe")
      .stringListOption("ks", List.of(), "k values of the k-sparse sweeps, strictly increasing (default: 1, 2, 4, ..."
          + " up to min(max_k, width), and that width); ks above an input's width are dropped for it")
      .intOption("max_k", 256, 1, 1_000_000, "largest k of the default ks")
      .stringListOption("rankings", Ranking.ids(), "feature rankings for the k-sparse sweeps: mean_diff, f_stat, l1"
          + " (empty: no sweeps)")
      .doubleOption("l1_c", 0.001, 1e-12, 1e12, "the 'l1' ranking orders features by when they enter L1 probes"
          + " (standardised features) fitted with C = l1_c, 4 l1_c, 16 l1_c, ... (at most 8 fits) until the largest k"
          + " have entered")
      .intOption("sweep_max_classes", 10, 2, 1_000_000, "k-sparse sweeps only on datasets of at most this many classes"
          + " (multinomial probes scored by macro F1 above two; 2: binary datasets only); larger ones get a note")
      .objectListOption("mechanistic", MECHANISTIC, "probes read from the model's weights (mean logit"
          + " direction of positive minus negative tokens), scored on a dataset's rows without training")
      .enumOption("on_too_few_rows", "fail", List.of("fail", "skip"), "when a dataset's rows lack a class on the train"
          + " or test side: fail the job, or leave that dataset out (named in the summary) and probe the others")
      .longOption("seed", 42L, null, null, "seed of the class-balanced samples")
      .build();

  /**
   * Reads the validated config.
   *
   * @throws IllegalArgumentException naming the key when a value the schema cannot check is wrong
   */
  static ProbeSettings of(JobConfig cfg) {
    List<String> datasets = cfg.getStringList("datasets");
    if (datasets.isEmpty()) {
      throw new IllegalArgumentException("config datasets is empty; expected at least one dataset name");
    }
    if (datasets.stream().distinct().count() != datasets.size()) {
      throw new IllegalArgumentException("config datasets = " + datasets + " names a dataset twice");
    }
    List<Ranking> rankings = new ArrayList<>();
    for (String r : cfg.getStringList("rankings")) {
      Ranking found = Arrays.stream(Ranking.values()).filter(x -> x.id.equals(r)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("config rankings: '" + r + "' is not a ranking; expected"
              + " some of " + Ranking.ids()));
      if (rankings.contains(found)) {
        throw new IllegalArgumentException("config rankings names '" + r + "' twice");
      }
      rankings.add(found);
    }
    int[] ks = parseKs(cfg.getStringList("ks"));
    LogisticRegression probe = LogisticRegression.builder().c(cfg.getDouble("c"))
        .standardize(cfg.getBoolean("standardize")).tolerance(cfg.getDouble("tolerance"))
        .maxIterations(cfg.getInt("max_iterations")).build();
    List<MechanisticSpec> mech = new ArrayList<>();
    List<JobConfig> items = cfg.getObjectList("mechanistic");
    for (int i = 0; i < items.size(); i++) {
      JobConfig m = items.get(i);
      String where = "mechanistic[" + i + "]";
      String dataset = m.getString("dataset");
      if (!datasets.contains(dataset)) {
        throw new IllegalArgumentException("config " + where + ".dataset = '" + dataset + "' is not one of the"
            + " job's datasets " + datasets + "; add it there so its rows are sampled");
      }
      List<String> pos = pieces(m.getStringList("positive"));
      List<String> neg = pieces(m.getStringList("negative"));
      if (pos.isEmpty()) {
        throw new IllegalArgumentException("config " + where + ".positive is empty; expected token strings");
      }
      String name = m.getString("name").isBlank()
          ? dataset + ": " + String.join(" ", pos) + (neg.isEmpty() ? "" : " vs " + String.join(" ", neg))
          : m.getString("name");
      mech.add(new MechanisticSpec(i, name, dataset, pos, neg, m.getString("class"), m.getStringList("inputs")));
    }
    return new ProbeSettings(List.copyOf(datasets), cfg.getStringList("inputs"), cfg.getInt("max_per_class"),
        cfg.getInt("test_percent"), cfg.getLong("max_tokens"), probe, ks, cfg.getInt("max_k"), List.copyOf(rankings),
        cfg.getDouble("l1_c"), cfg.getInt("sweep_max_classes"), List.copyOf(mech),
        cfg.getString("on_too_few_rows").equals("skip"), cfg.getLong("seed"));
  }

  private static int[] parseKs(List<String> raw) {
    int[] ks = new int[raw.size()];
    for (int i = 0; i < ks.length; i++) {
      try {
        ks[i] = Integer.parseInt(raw.get(i).trim());
      } catch (NumberFormatException e) {
        ks[i] = 0;
      }
      if (ks[i] < 1) {
        throw new IllegalArgumentException("config ks[" + i + "] = '" + raw.get(i) + "'; expected a positive integer");
      }
      if (i > 0 && ks[i] <= ks[i - 1]) {
        throw new IllegalArgumentException("config ks = " + raw + " is not strictly increasing");
      }
    }
    return ks;
  }

  /**
   * Token strings as given: an entry holding whitespace between two other characters ("é è ç") is
   * split on whitespace; any other entry is kept whole, so " the" keeps its leading space.
   */
  static List<String> pieces(List<String> raw) {
    List<String> out = new ArrayList<>();
    for (String s : raw) {
      if (s.strip().matches(".*\\S\\s+\\S.*")) {
        for (String p : s.strip().split("\\s+")) {
          out.add(p);
        }
      } else if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  /** The ks of a sweep on an input of this width: the configured ones that fit, or the default powers of two. */
  int[] ksFor(int width) {
    if (ks.length == 0) {
      return SparseProbing.powersOfTwo(Math.min(maxK, width));
    }
    return Arrays.stream(ks).filter(k -> k <= width).toArray();
  }
}
