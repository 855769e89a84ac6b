package dev.loupe.core.node;

/**
 * A job reading a live input (a stream or a model harvest) was refused because every job worker
 * is busy: queued, it would hold its stream's harvest, and so every other reader of it, up.
 */
public final class NoFreeWorkerException extends IllegalStateException {
  public NoFreeWorkerException(String message) {
    super(message);
  }
}
