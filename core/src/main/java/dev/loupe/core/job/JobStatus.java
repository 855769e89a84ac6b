package dev.loupe.core.job;

import java.nio.file.Path;
import java.time.Instant;

/**
 * A snapshot of a job: what it runs, where it stands and, once failed or cancelled, why.
 *
 * @param message the failure or cancellation message; null while running and on success
 * @param started null while pending
 * @param finished null until the job reaches a final state
 * @param progress the last progress report, or null before the first
 */
public record JobStatus(String jobId, String method, String pluginId, JobState state, String message,
    Instant created, Instant started, Instant finished, Progress progress, Path artifactDir) {}
