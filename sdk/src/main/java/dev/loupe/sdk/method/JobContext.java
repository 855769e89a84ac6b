package dev.loupe.sdk.method;

import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.model.ModelSession;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;

/**
 * Everything a running job may use: its validated config, its activation inputs, a way back to
 * the model session the activations come from, places to write files, and channels to report
 * progress, metrics and results. Provided by the host; one per job; its methods may be called
 * from the job's thread and from threads the job starts.
 */
public interface JobContext {

  /** This job's id (unique within the host). */
  String jobId();

  /** The validated configuration. */
  JobConfig config();

  /** The names of the activation inputs wired to this job. */
  Set<String> inputNames();

  /**
   * The activation input named {@code name}.
   *
   * @throws IllegalArgumentException naming the input and the ones available if there is none
   */
  ActivationSource input(String name);

  /** The only input, or the one named {@link MethodInfo#MAIN_INPUT}. */
  default ActivationSource input() {
    Set<String> names = inputNames();
    if (names.size() == 1) {
      return input(names.iterator().next());
    }
    return input(MethodInfo.MAIN_INPUT);
  }

  /**
   * The model session an input's activations come from, for interventions (splicing a coder,
   * ablations), when that session is reachable from this node.
   */
  Optional<ModelSession> model(String inputName);

  /** The names of the labelled token datasets the host defines (empty when it defines none). */
  default java.util.List<String> datasetNames() {
    return java.util.List.of();
  }

  /**
   * The labelled token dataset named {@code name} (see {@link dev.loupe.sdk.dataset.TokenDataset}).
   *
   * @throws IllegalArgumentException naming the dataset and the ones defined when there is none
   */
  default dev.loupe.sdk.dataset.TokenDataset dataset(String name) {
    throw new IllegalArgumentException("no dataset named '" + name + "'; this host defines " + datasetNames());
  }

  /** Directory for this job's artifacts (weights, plots, reports); exists. */
  Path artifactDir();

  /** Directory for checkpoints; survives a restart of the same job id; exists. */
  Path checkpointDir();

  /** Whether this job resumes an earlier run of the same id (checkpoints may be present). */
  boolean resuming();

  /**
   * Reports progress; cheap enough to call per batch (the host coalesces what it publishes).
   *
   * @param done units done so far
   * @param total units in all, or -1 when unknown
   * @param unit what is counted, e.g. {@code "tokens"} or {@code "steps"}
   */
  void progress(long done, long total, String unit);

  /**
   * Records one row of metrics (appended to {@code metrics.jsonl} and published to followers).
   *
   * @param step the training step or other x-axis value the metrics belong to
   * @param values metric name to value; NaN and infinities are written as null
   */
  void metrics(long step, Map<String, Double> values);

  /**
   * Publishes a result document (JSON-serialisable: maps, lists, strings, numbers, booleans).
   * It is written to {@code results/NAME.json} in the artifact directory and sent to followers.
   */
  void publish(String name, Object result);

  /** True once the job has been asked to stop. */
  boolean isCancelled();

  /**
   * Throws {@link java.util.concurrent.CancellationException} if the job was cancelled; call it
   * in loops.
   */
  default void checkCancelled() {
    if (isCancelled()) {
      throw new java.util.concurrent.CancellationException("job " + jobId() + " cancelled");
    }
  }

  /** A logger whose lines are tagged with this job and kept in the job's log. */
  Logger log();
}
