package dev.loupe.core.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.store.ActivationStore;
import dev.loupe.core.store.StoreOptions;
import dev.loupe.core.stream.ActivationStreamProducer;
import dev.loupe.core.stream.SyntheticActivations;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stream drained into a store: the future completes only once the store is whole on disk (a
 * pipeline step reads it straight after; the last shard used to be written after completion).
 */
@Timeout(60)
class StreamToStoreTest {
  private static final int ROWS = 64;
  private static final int WIDTH = 256;
  private static final int BATCHES = 40;

  private Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void theStoreHoldsEveryRowWhenTheFutureCompletes(@TempDir Path tmp) throws Exception {
    for (int round = 0; round < 3; round++) {
      String id = "to-store-" + round;
      ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
      Path dir = tmp.resolve("store-" + round);
      // one shard larger than the whole stream: every row is written when the writer closes
      CompletableFuture<Long> done = StreamToStore.start(vertx, id, dir, SyntheticActivations.MODEL_ID,
          SyntheticActivations.HOOK_NAME, WIDTH, StoreOptions.defaults().shardRows(BATCHES * ROWS * 2));
      assertThat(producer.awaitConsumers(1, Duration.ofSeconds(10))).isTrue();
      for (int seq = 0; seq < BATCHES; seq++) {
        // even sequence numbers: synthetic batches with odd ones carry labels, and a store is one or the other
        producer.accept(SyntheticActivations.batch(round, 2L * seq, ROWS, WIDTH));
      }
      producer.close();
      long rows = done.get(30, TimeUnit.SECONDS);
      assertThat(rows).isEqualTo((long) BATCHES * ROWS);

      ActivationStore store = ActivationStore.open(dir);
      assertThat(store.totalRows()).isEqualTo(rows);
      assertThat(store.width()).isEqualTo(WIDTH);
      try (ActivationSource src = store.reader(ROWS)) {
        ActivationBatch first = src.next();
        ActivationBatch expected = SyntheticActivations.batch(round, 0, ROWS, WIDTH);
        assertThat(Arrays.equals(first.values(), expected.values())).as("first batch read back").isTrue();
      }
    }
  }
}
