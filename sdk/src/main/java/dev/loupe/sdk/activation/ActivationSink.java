package dev.loupe.sdk.activation;

/**
 * Where a producer puts activation batches: a live stream to jobs, an on-disk store, a file.
 * The push-side twin of {@link ActivationSource}. A sink is fed by one thread at a time.
 */
public interface ActivationSink extends AutoCloseable {

  /**
   * Accepts one batch, waiting while the sink has no room (a stream whose consumers have no
   * credit left waits here: this is what slows a producer down to its slowest consumer).
   *
   * @throws InterruptedException if the producing thread is interrupted while waiting
   * @throws ActivationSourceException if the sink failed (disk full, stream closed); names it
   */
  void accept(ActivationBatch batch) throws InterruptedException;

  /** Marks the end of the data and releases the sink; idempotent. */
  @Override
  void close();
}
