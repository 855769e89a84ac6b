package dev.loupe.core.job;

/**
 * One progress report of a job.
 *
 * @param done units done so far
 * @param total units in all, or -1 when unknown
 * @param unit what is counted ({@code rows}, {@code steps} ...)
 * @param timeMillis when it was reported (epoch milliseconds)
 */
public record Progress(long done, long total, String unit, long timeMillis) {

  /** Completed fraction in [0, 1], or -1 when the total is unknown. */
  public double fraction() {
    return total <= 0 ? -1 : Math.min(1.0, (double) done / total);
  }
}
