package dev.loupe.core.job;

import java.util.Map;

/**
 * Receives a job's events in-process (the CLI's progress bar, tests). Called on the job's own
 * thread, synchronously: keep it quick, and do not throw (exceptions are logged and ignored).
 */
public interface JobListener {

  /** Every progress report, uncoalesced. */
  default void onProgress(JobHandle job, Progress progress) {}

  /** One metrics row as recorded in metrics.jsonl (NaN and infinities already null). */
  default void onMetrics(JobHandle job, long step, Map<String, Double> values) {}

  /** A published result, after it was written to results/NAME.json. */
  default void onResult(JobHandle job, String name, Object result) {}

  /** A state change; the final one arrives before the job's completion future completes. */
  default void onStatus(JobHandle job, JobStatus status) {}
}
