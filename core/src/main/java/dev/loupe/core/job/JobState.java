package dev.loupe.core.job;

/** The life of a job: PENDING until a worker picks it up, RUNNING, then one of the final states. */
public enum JobState {
  PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED;

  /** Whether the job has ended (it will not change state again). */
  public boolean isFinal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
