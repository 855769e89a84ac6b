package dev.loupe.sdk.activation;

/**
 * A pull-based supply of activation batches for one hook point: a live stream from a model
 * session, an on-disk store or an activation file. Analysis methods read their inputs through
 * this interface and never care which one it is.
 *
 * <p>Pulling is what bounds memory: a source prefetches at most a fixed number of batches ahead
 * of the reader, and a live producer is slowed down by slow readers rather than dropping data.
 * A source is read by one thread at a time; {@link #close()} may be called from any thread and
 * makes a blocked {@link #next()} return null or throw.
 */
public interface ActivationSource extends AutoCloseable {

  /**
   * The next batch, waiting for it if none is ready yet.
   *
   * @return the next batch, or {@code null} once the source is exhausted or closed
   * @throws InterruptedException if the reading thread is interrupted while waiting (a cancelled
   *     job's thread is interrupted)
   * @throws ActivationSourceException if the underlying stream, store or file failed; the message
   *     names it
   */
  ActivationBatch next() throws InterruptedException;

  /** The hook point every batch of this source comes from. */
  String hookName();

  /** The width (number of columns) of every batch of this source. */
  int width();

  /** Rows this source will deliver in all, or -1 when unknown (a live stream of unknown length). */
  default long totalRows() {
    return -1;
  }

  /** Releases the source; idempotent. Never throws checked exceptions. */
  @Override
  void close();
}
