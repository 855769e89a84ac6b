package dev.loupe.plugins.probes;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.model.ModelSession;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The labellers of a probes job: one per dataset and model session, bound to that session's
 * tokenizer. Inputs of the same session share them (their rows are the same tokens, read row by
 * row), so each dataset labels a row once. An input the host reaches no session for is labelled
 * through another input's session when there is one (the aligned read checks that both carry the
 * same token ids); with none at all, only datasets that need no tokenizer (document labels) work.
 *
 * <p>Not thread-safe: labellers remember context, so one reader uses this, batch after batch.
 */
final class Labelling {
  private final List<TokenDataset> datasets;
  private final int[] groupOf;
  private final Labeller[][] labellers;
  private final boolean[] sessionless;

  private Labelling(List<TokenDataset> datasets, int[] groupOf, Labeller[][] labellers, boolean[] sessionless) {
    this.datasets = datasets;
    this.groupOf = groupOf;
    this.labellers = labellers;
    this.sessionless = sessionless;
  }

  /**
   * Binds every dataset to the inputs' sessions.
   *
   * @throws IllegalArgumentException naming the dataset and input when a dataset cannot label an input
   */
  static Labelling bind(List<ProbeInput> inputs, List<TokenDataset> datasets) {
    ModelSession fallback = inputs.stream().map(ProbeInput::session).filter(s -> s != null).findFirst().orElse(null);
    Map<ModelSession, Integer> groups = new IdentityHashMap<>();
    List<ModelSession> sessions = new ArrayList<>();
    int[] groupOf = new int[inputs.size()];
    for (int i = 0; i < inputs.size(); i++) {
      ModelSession s = inputs.get(i).session() != null ? inputs.get(i).session() : fallback;
      Integer g = s == null ? null : groups.get(s);
      if (g == null) {
        g = sessions.size();
        sessions.add(s);
        if (s != null) {
          groups.put(s, g);
        }
      }
      groupOf[i] = g;
    }
    Labeller[][] labellers = new Labeller[sessions.size()][datasets.size()];
    boolean[] sessionless = new boolean[sessions.size()];
    for (int g = 0; g < sessions.size(); g++) {
      ModelSession s = sessions.get(g);
      sessionless[g] = s == null;
      for (int d = 0; d < datasets.size(); d++) {
        TokenDataset ds = datasets.get(d);
        try {
          labellers[g][d] = ds.labeller(s);
        } catch (NullPointerException e) {
          throw noSession(ds, inputs, e);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("dataset '" + ds.name() + "' cannot label the rows of "
              + (s == null ? "these inputs" : "model '" + s.info().id() + "'") + ": " + e.getMessage(), e);
        }
      }
    }
    return new Labelling(List.copyOf(datasets), groupOf, labellers, sessionless);
  }

  private static IllegalArgumentException noSession(TokenDataset ds, List<ProbeInput> inputs, RuntimeException e) {
    return new IllegalArgumentException("dataset '" + ds.name() + "' (" + ds.description() + ") needs the tokenizer of"
        + " the model the rows come from, but no input of this job has a model session the job can reach (inputs "
        + inputs.stream().map(i -> i.name() + ": " + i.hook()).toList() + "; file, store and synthetic inputs carry"
        + " token ids only); read the activations with a model: input, or use a dataset of document labels", e);
  }

  /** Number of labeller groups (distinct sessions). */
  int groups() {
    return labellers.length;
  }

  /** The labeller group of input {@code i}. */
  int groupOf(int input) {
    return groupOf[input];
  }

  /**
   * Labels one batch (in stream order) for every group and dataset: {@code [group][dataset][row]}.
   *
   * @throws IllegalStateException naming the dataset when a labeller gives a label per row too few or many
   */
  int[][][] label(ActivationBatch batch, List<ProbeInput> inputs) {
    int[][][] out = new int[labellers.length][datasets.size()][];
    for (int g = 0; g < labellers.length; g++) {
      for (int d = 0; d < datasets.size(); d++) {
        int[] labels;
        try {
          labels = labellers[g][d].labels(batch);
        } catch (NullPointerException e) {
          if (sessionless[g]) {
            throw noSession(datasets.get(d), inputs, e);
          }
          throw e;
        }
        if (labels == null || labels.length != batch.rows()) {
          throw new IllegalStateException("dataset '" + datasets.get(d).name() + "' gave "
              + (labels == null ? "no labels" : labels.length + " labels") + " for a batch of " + batch.rows()
              + " activation rows; expected one label per row");
        }
        int classes = datasets.get(d).classes().size();
        for (int r = 0; r < labels.length; r++) {
          if (labels[r] != Labeller.NONE && (labels[r] < 0 || labels[r] >= classes)) {
            throw new IllegalStateException("dataset '" + datasets.get(d).name() + "' labelled a row " + labels[r]
                + "; expected a class index in 0.." + (classes - 1) + " or " + Labeller.NONE + " (not in the dataset)");
          }
        }
        out[g][d] = labels;
      }
    }
    return out;
  }
}
