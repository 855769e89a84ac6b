package dev.loupe.plugins.probes;

import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.probe.ConfusionMatrix;
import dev.loupe.sdk.probe.FeatureMatrix;
import dev.loupe.sdk.probe.RocAuc;
import dev.loupe.sdk.sparse.LogitEffects;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A mechanistic probe (Gurnee et al. 2023): a residual-stream direction read from the model's own
 * weights, the mean logit direction of some tokens minus that of others
 * ({@link LogitEffects#tokenDirections}), scored by projecting activations on it. Nothing about the
 * direction is fitted; the training rows only choose the threshold that turns the projection into a
 * prediction (the one with the best F1 there, predicting the positive class at or above it).
 *
 * @param positiveClass the dataset class that counts as positive
 * @param directions per input index, the direction (null for inputs it is not evaluated on)
 */
record MechanisticProbe(ProbeSettings.MechanisticSpec spec, int dataset, int positiveClass, String positiveClassName,
    List<Integer> inputs, float[][] directions, List<TokenSet> tokens) {

  /** This probe with its dataset at another index (after datasets were left out). */
  MechanisticProbe atDataset(int index) {
    return new MechanisticProbe(spec, index, positiveClass, positiveClassName, inputs, directions, tokens);
  }

  /** The tokens a model's tokenizer made of the configured strings (one entry per distinct session). */
  record TokenSet(String model, int[] positiveIds, List<String> positiveTokens, int[] negativeIds,
      List<String> negativeTokens) {
  }

  /** Whether directions at this input have a direct effect on the logits: a residual-stream hook of a causal model. */
  static String notApplicable(ProbeInput in) {
    if (in.session() == null) {
      return "input '" + in.name() + "' has no model session this job can reach, so there is no unembedding to read";
    }
    if (!LogitEffects.applies(in.session().info(), in.hook()) || in.width() != in.session().info().dModel()) {
      return "input '" + in.name() + "' reads " + in.hook() + " (width " + in.width() + "); mechanistic probes need a"
          + " residual-stream hook of a causal model (width d_model = " + in.session().info().dModel() + ", e.g."
          + " blocks.L.hook_resid_post)";
    }
    return null;
  }

  /**
   * Resolves a configured probe against the job's inputs and datasets, reading its direction from
   * the weights of every input's model (before any activation is read).
   *
   * @throws IllegalArgumentException naming the probe's field when an input, class or token is wrong
   *     or no input is a residual-stream hook
   */
  static MechanisticProbe resolve(ProbeSettings.MechanisticSpec spec, List<ProbeInput> inputs,
      List<TokenDataset> datasets, List<String> datasetNames) {
    String where = "config " + spec.where();
    int d = datasetNames.indexOf(spec.dataset());
    TokenDataset ds = datasets.get(d);
    List<String> classes = ds.classes();
    int positive;
    if (!spec.positiveClass().isEmpty()) {
      positive = classes.indexOf(spec.positiveClass());
      if (positive < 0) {
        throw new IllegalArgumentException(where + ".class = '" + spec.positiveClass() + "' is not a class of dataset '"
            + ds.name() + "'; expected one of " + classes);
      }
    } else if (classes.size() == 2) {
      positive = 1;
    } else {
      throw new IllegalArgumentException(where + ": dataset '" + ds.name() + "' has " + classes.size() + " classes;"
          + " give " + spec.where() + ".class, one of " + classes);
    }
    List<Integer> chosen = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    if (spec.inputs().isEmpty()) {
      for (int i = 0; i < inputs.size(); i++) {
        String why = notApplicable(inputs.get(i));
        if (why == null) {
          chosen.add(i);
        } else {
          problems.add(why);
        }
      }
      if (chosen.isEmpty()) {
        throw new IllegalArgumentException(where + " (" + spec.name() + "): no input it can be evaluated on: "
            + String.join("; ", problems));
      }
    } else {
      for (String name : spec.inputs()) {
        int i = indexOf(inputs, name);
        if (i < 0) {
          throw new IllegalArgumentException(where + ".inputs names input '" + name + "', but the probed inputs are "
              + inputs.stream().map(ProbeInput::name).toList());
        }
        String why = notApplicable(inputs.get(i));
        if (why != null) {
          throw new IllegalArgumentException(where + ".inputs: " + why);
        }
        chosen.add(i);
      }
    }
    float[][] directions = new float[inputs.size()][];
    Map<ModelSession, float[]> bySession = new IdentityHashMap<>();
    List<TokenSet> tokens = new ArrayList<>();
    for (int i : chosen) {
      ModelSession s = inputs.get(i).session();
      float[] dir = bySession.get(s);
      if (dir == null) {
        TokenSet t = encode(where, spec, s);
        tokens.add(t);
        dir = direction(s, t);
        bySession.put(s, dir);
      }
      directions[i] = dir;
    }
    return new MechanisticProbe(spec, d, positive, classes.get(positive), List.copyOf(chosen), directions,
        List.copyOf(tokens));
  }

  private static int indexOf(List<ProbeInput> inputs, String name) {
    for (int i = 0; i < inputs.size(); i++) {
      if (inputs.get(i).name().equals(name)) {
        return i;
      }
    }
    return -1;
  }

  private static TokenSet encode(String where, ProbeSettings.MechanisticSpec spec, ModelSession s) {
    int[] pos = ids(where + ".positive", spec.positive(), s);
    int[] neg = ids(where + ".negative", spec.negative(), s);
    Set<Integer> overlap = new LinkedHashSet<>();
    for (int p : pos) {
      for (int n : neg) {
        if (p == n) {
          overlap.add(p);
        }
      }
    }
    if (!overlap.isEmpty()) {
      throw new IllegalArgumentException(where + ": tokens " + overlap.stream().map(s::tokenText).toList()
          + " are both positive and negative under the tokenizer of model '" + s.info().id() + "'");
    }
    return new TokenSet(s.info().id(), pos, texts(s, pos), neg, texts(s, neg));
  }

  private static int[] ids(String field, List<String> pieces, ModelSession s) {
    LinkedHashSet<Integer> ids = new LinkedHashSet<>();
    for (String p : pieces) {
      int[] enc = s.encode(p);
      if (enc.length == 0) {
        throw new IllegalArgumentException(field + ": the tokenizer of model '" + s.info().id() + "' turns \"" + p
            + "\" into no tokens");
      }
      for (int t : enc) {
        ids.add(t);
      }
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  private static List<String> texts(ModelSession s, int[] ids) {
    List<String> out = new ArrayList<>();
    for (int id : ids) {
      out.add(s.tokenText(id));
    }
    return out;
  }

  /** Mean logit direction of the positive tokens minus that of the negative ones. */
  private static float[] direction(ModelSession s, TokenSet t) {
    int d = s.info().dModel();
    float[] out = mean(LogitEffects.tokenDirections(s, t.positiveIds()), t.positiveIds().length, d);
    if (t.negativeIds().length > 0) {
      float[] neg = mean(LogitEffects.tokenDirections(s, t.negativeIds()), t.negativeIds().length, d);
      for (int j = 0; j < d; j++) {
        out[j] -= neg[j];
      }
    }
    return out;
  }

  private static float[] mean(float[] rows, int n, int d) {
    float[] out = new float[d];
    for (int r = 0; r < n; r++) {
      for (int j = 0; j < d; j++) {
        out[j] += rows[r * d + j] / n;
      }
    }
    return out;
  }

  /** Projections of every row on the direction. */
  static double[] project(FeatureMatrix x, float[] direction) {
    int n = x.rows();
    int d = x.cols();
    float[] v = x.values();
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j = 0; j < d; j++) {
        s += (double) v[i * d + j] * direction[j];
      }
      out[i] = s;
    }
    return out;
  }

  /**
   * Scores the probe of input {@code input} on one (input, dataset) split: AUC on train and test rows,
   * and F1, MCC and accuracy on the test rows at the threshold that is best (F1) on the train rows.
   */
  Map<String, Object> evaluate(int input, FeatureMatrix trainX, int[] trainY, FeatureMatrix testX, int[] testY) {
    float[] dir = directions[input];
    int[] trainB = binary(trainY);
    int[] testB = binary(testY);
    double[] trainS = project(trainX, dir);
    double[] testS = project(testX, dir);
    double threshold = bestThreshold(trainS, trainB);
    ConfusionMatrix train = ConfusionMatrix.binary(trainB, predict(trainS, threshold));
    ConfusionMatrix test = ConfusionMatrix.binary(testB, predict(testS, threshold));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("train_auc", RocAuc.of(trainS, trainB));
    out.put("test_auc", RocAuc.of(testS, testB));
    out.put("threshold", threshold);
    out.put("threshold_from", "train rows: the projection threshold with the best F1 there (positive at or above it)");
    out.put("train_f1", train.f1());
    out.put("test_f1", test.f1());
    out.put("test_mcc", test.mcc());
    out.put("test_accuracy", test.accuracy());
    out.put("test_positive_share", Arrays.stream(testB).average().orElse(0));
    return out;
  }

  private int[] binary(int[] labels) {
    int[] out = new int[labels.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = labels[i] == positiveClass ? 1 : 0;
    }
    return out;
  }

  private static int[] predict(double[] scores, double threshold) {
    int[] out = new int[scores.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = scores[i] >= threshold ? 1 : 0;
    }
    return out;
  }

  /** The score t for which "positive when score >= t" has the best F1 (the lowest such t on ties). */
  static double bestThreshold(double[] scores, int[] labels) {
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(scores[b], scores[a]));
    long positives = Arrays.stream(labels).filter(l -> l == 1).count();
    long tp = 0;
    long predicted = 0;
    double best = -1;
    double threshold = Double.POSITIVE_INFINITY;
    int i = 0;
    while (i < order.length) {
      double v = scores[order[i]];
      while (i < order.length && scores[order[i]] == v) {
        tp += labels[order[i]];
        predicted++;
        i++;
      }
      double f1 = 2.0 * tp / (predicted + positives);
      if (f1 > best) {
        best = f1;
        threshold = v;
      }
    }
    return threshold;
  }
}
