package dev.loupe.core.job;

/**
 * Event-bus addresses on which a job publishes JSON messages, so that the web UI, the CLI and
 * other nodes can follow it. Every message carries {@code jobId}.
 */
public final class JobAddresses {
  private JobAddresses() {}

  public static final String PREFIX = "loupe.jobs.";

  /** {@code {jobId, done, total, unit, time}}, at most about 10 per second per job. */
  public static String progress(String jobId) {
    return PREFIX + jobId + ".progress";
  }

  /** {@code {jobId, step, time, values: {name: number|null}}}, one per metrics row. */
  public static String metrics(String jobId) {
    return PREFIX + jobId + ".metrics";
  }

  /** {@code {jobId, method, state, message, ...}}, one per state change. */
  public static String status(String jobId) {
    return PREFIX + jobId + ".status";
  }

  /** {@code {jobId, name, result}}, one per published result. */
  public static String results(String jobId) {
    return PREFIX + jobId + ".results";
  }

  /** Status changes of every job, for dashboards that list jobs. */
  public static final String ALL_STATUS = "loupe.jobs.status";
}
