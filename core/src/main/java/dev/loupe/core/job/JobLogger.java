package dev.loupe.core.job;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * The logger a job gets from {@code JobContext.log()}: every line goes to the job's own
 * {@code job.log} (DEBUG and up, flushed per line, so it can be tailed) and to the host's log
 * (via slf4j) tagged with the job id. Failure stack traces are written here, never to the user.
 */
final class JobLogger extends LegacyAbstractLogger {
  private final transient Writer out;
  private final transient Logger host;
  private final String jobId;

  JobLogger(String jobId, String method, Path file) throws IOException {
    this.jobId = jobId;
    this.name = "job." + jobId;
    this.host = LoggerFactory.getLogger("dev.loupe.job." + method);
    // Not a FileChannel: the job's thread gets interrupted on cancel, which would close a channel.
    this.out = new java.io.BufferedWriter(new java.io.OutputStreamWriter(
        new java.io.FileOutputStream(file.toFile(), true), StandardCharsets.UTF_8));
  }

  @Override
  public boolean isTraceEnabled() { return false; }
  @Override
  public boolean isDebugEnabled() { return true; }
  @Override
  public boolean isInfoEnabled() { return true; }
  @Override
  public boolean isWarnEnabled() { return true; }
  @Override
  public boolean isErrorEnabled() { return true; }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args, Throwable t) {
    String msg = MessageFormatter.basicArrayFormat(pattern, args);
    StringBuilder line = new StringBuilder().append(Instant.now()).append(' ').append(level).append(' ').append(msg)
        .append('\n');
    if (t != null) {
      StringWriter sw = new StringWriter();
      t.printStackTrace(new PrintWriter(sw));
      line.append(sw);
    }
    synchronized (out) {
      try {
        out.write(line.toString());
        out.flush();
      } catch (IOException e) {
        host.warn("job {}: cannot write job.log: {}", jobId, e.getMessage());
      }
    }
    switch (level) {
      case ERROR -> host.error("[{}] {}", jobId, msg, t);
      case WARN -> host.warn("[{}] {}", jobId, msg, t);
      case INFO -> host.info("[{}] {}", jobId, msg, t);
      default -> host.debug("[{}] {}", jobId, msg, t);
    }
  }

  void close() {
    synchronized (out) {
      try {
        out.close();
      } catch (IOException e) {
        host.debug("closing job.log of {} failed", jobId, e);
      }
    }
  }
}
