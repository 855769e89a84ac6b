package dev.loupe.core.job;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** A started job as its starter sees it: state, progress, cancellation and completion. */
public interface JobHandle {

  String id();

  /** The analysis method's id. */
  String method();

  JobState state();

  /** A consistent snapshot of the job. */
  JobStatus status();

  /** The last progress report, or null before the first. */
  Progress lastProgress();

  /** {@code <runDir>/<jobId>}: config.json, metrics.jsonl, results/, job.log, status.json. */
  Path artifactDir();

  /**
   * Completes, never exceptionally, with the final status once the job has succeeded, failed or
   * been cancelled and its status.json is written.
   */
  CompletableFuture<JobStatus> completion();

  /** Asks the job to stop; see {@link JobManager#cancel(String)}. */
  boolean cancel();
}
