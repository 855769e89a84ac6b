package dev.loupe.sdk.method;

import org.pf4j.ExtensionPoint;

/**
 * The extension point of Loupe: an analysis method that consumes activations and publishes
 * results. Plugins contribute implementations annotated with {@code @org.pf4j.Extension}.
 *
 * <p>The host calls {@link #info()} to list the method and validate job configs before anything
 * runs, then calls {@link #run(JobContext)} once per job on a worker thread of its own. An
 * implementation must be stateless between runs (several jobs of the same method may run at
 * once) and keep all per-job state inside {@code run}.
 */
public interface AnalysisMethod extends ExtensionPoint {

  /** Id, description, inputs and config schema; must be cheap and must not throw. */
  MethodInfo info();

  /**
   * Runs one job to completion.
   *
   * <p>Read inputs from {@link JobContext#input()}, report with {@link JobContext#progress} and
   * {@link JobContext#metrics}, write files under {@link JobContext#artifactDir()} and return
   * when done. When the job is cancelled the thread is interrupted and
   * {@link JobContext#isCancelled()} turns true: return promptly (throwing
   * {@link java.util.concurrent.CancellationException} or {@link InterruptedException} is fine).
   *
   * @throws Exception any failure; it fails this job only, with the message reported to the user
   */
  void run(JobContext ctx) throws Exception;
}
