package dev.loupe.core.node;

import dev.loupe.core.store.ActivationStore;
import dev.loupe.core.store.StoreOptions;
import dev.loupe.core.store.StoreWriter;
import dev.loupe.core.stream.ActivationStreamConsumer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSourceException;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** Drains a live activation stream into an on-disk {@link ActivationStore}, on a thread of its own. */
public final class StreamToStore {
  private StreamToStore() {}

  /**
   * Subscribes to {@code streamId} now (so a harvest waiting for consumers counts this one) and
   * writes every batch to a new store in {@code dir}.
   *
   * @return completes with the rows written once the store is complete on disk, or exceptionally with an {@link ActivationSourceException}
   *     naming the store when the stream fails or the store cannot be written
   */
  public static CompletableFuture<Long> start(Vertx vertx, String streamId, Path dir, String modelId, String hook,
      int width, StoreOptions options) {
    ActivationStreamConsumer in = ActivationStreamConsumer.subscribe(vertx, streamId, new StreamOptions())
        .toCompletionStage().toCompletableFuture().join();
    CompletableFuture<Long> done = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      long rows = 0;
      try (in) {
        try (StoreWriter w = ActivationStore.create(dir, modelId, hook, width, options)) {
          ActivationBatch b;
          while ((b = in.next()) != null) {
            w.accept(b);
            rows += b.rows();
          }
        }
        // only once the writer is closed: its last shard and the manifest listing it are on disk
        done.complete(rows);
      } catch (Exception e) {
        done.completeExceptionally(new ActivationSourceException("writing activation store " + dir + " for " + hook
            + ": " + e.getMessage(), e));
      }
    }, "loupe-store-" + hook);
    t.setDaemon(true);
    t.start();
    return done;
  }
}
