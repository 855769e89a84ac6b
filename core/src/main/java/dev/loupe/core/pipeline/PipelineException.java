package dev.loupe.core.pipeline;

/** A pipeline file that cannot run as written; the message names the file, line and field. */
public final class PipelineException extends RuntimeException {
  public PipelineException(String message) {
    super(message);
  }
}
