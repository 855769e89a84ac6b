package dev.loupe.core.job;

import java.util.LinkedHashMap;
import java.util.Map;

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

  /** The document sent on the event bus and HTTP API. */
  public Map<String, Object> toDoc(String jobId) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("jobId", jobId);
    m.put("done", done);
    m.put("total", total);
    m.put("unit", unit);
    m.put("time", timeMillis);
    return m;
  }
}
