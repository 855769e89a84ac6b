package dev.loupe.core.job;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of a job: what it runs, where it stands and, once failed or cancelled, why.
 *
 * @param message the failure or cancellation message; null while running and on success
 * @param started null while pending
 * @param finished null until the job reaches a final state
 * @param progress the last progress report, or null before the first
 */
public record JobStatus(String jobId, String method, String pluginId, JobState state, String message,
    Instant created, Instant started, Instant finished, Progress progress, Path artifactDir) {

  /** The document written to status.json and sent on the event bus and HTTP API. */
  public Map<String, Object> toDoc() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("jobId", jobId);
    m.put("method", method);
    m.put("plugin", pluginId);
    m.put("state", state.name());
    m.put("message", message);
    m.put("created", created == null ? null : created.toString());
    m.put("started", started == null ? null : started.toString());
    m.put("finished", finished == null ? null : finished.toString());
    m.put("progress", progress == null ? null : progress.toDoc(jobId));
    m.put("artifactDir", artifactDir.toString());
    return m;
  }
}
