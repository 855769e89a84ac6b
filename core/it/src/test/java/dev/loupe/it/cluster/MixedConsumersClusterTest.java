package dev.loupe.it.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.cluster.ClusterNodes;
import dev.loupe.core.cluster.ClusterOptions;
import dev.loupe.core.stream.ActivationStreamConsumer;
import dev.loupe.core.stream.ActivationStreamProducer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.core.stream.SyntheticActivations;
import dev.loupe.sdk.activation.ActivationBatch;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One stream read at once by a consumer on the producer's own node (linked directly, batches by
 * reference) and by one on another cluster node (event-bus messages over TCP, split into chunks):
 * two clustered Vert.x instances in this JVM, each a Hazelcast member on loopback.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MixedConsumersClusterTest {
  private static final long SEED = 7;
  private static final int BATCHES = 30;
  private static final int ROWS = 200;
  private static final int WIDTH = 600;
  /** 200 x 600 floats are 480 kB: with 128 KiB chunks every batch crosses to the other node as 4 slices. */
  private static final int MAX_CHUNK_BYTES = 128 * 1024;

  @Test
  void localAndRemoteConsumersOfOneStreamBothReceiveEveryBatchBitExactInOrder() throws Exception {
    String clusterName = "loupe-it-mixed-" + UUID.randomUUID();
    int portA = ChildJvm.freePort();
    int portB = ChildJvm.freePort();
    String members = "127.0.0.1:" + portA + ",127.0.0.1:" + portB;
    String stream = "mixed-" + UUID.randomUUID().toString().substring(0, 8);
    ExecutorService threads = Executors.newCachedThreadPool();
    Vertx nodeA = ClusterNodes.start(new ClusterOptions().setClusterName(clusterName).setHazelcastPort(portA)
        .setMembers(members)).await(30, TimeUnit.SECONDS);
    Vertx nodeB = null;
    try {
      nodeB = ClusterNodes.start(new ClusterOptions().setClusterName(clusterName).setHazelcastPort(portB)
          .setMembers(members)).await(30, TimeUnit.SECONDS);
      ActivationStreamProducer producer = ActivationStreamProducer
          .create(nodeA, stream, new StreamOptions().setMaxChunkBytes(MAX_CHUNK_BYTES)).await(20, TimeUnit.SECONDS);
      ActivationStreamConsumer local = ActivationStreamConsumer
          .subscribe(nodeA, stream, new StreamOptions().setCredits(3)).await(20, TimeUnit.SECONDS);
      ActivationStreamConsumer remote = ActivationStreamConsumer
          .subscribe(nodeB, stream, new StreamOptions().setCredits(3)).await(20, TimeUnit.SECONDS);
      Future<List<Long>> readLocal = threads.submit(reader(local));
      Future<List<Long>> readRemote = threads.submit(reader(remote));

      threads.submit(() -> {
        assertThat(producer.awaitConsumers(2, Duration.ofSeconds(10))).isTrue();
        for (int seq = 0; seq < BATCHES; seq++) {
          producer.accept(SyntheticActivations.batch(SEED, seq, ROWS, WIDTH));
        }
        producer.close();
        return null;
      }).get();

      List<Long> all = LongStream.range(0, BATCHES).boxed().toList();
      assertThat(readLocal.get()).isEqualTo(all);
      assertThat(readRemote.get()).isEqualTo(all);
      assertThat(local.maxBuffered()).isLessThanOrEqualTo(3);
      assertThat(remote.maxBuffered()).isLessThanOrEqualTo(3);
    } finally {
      threads.shutdownNow();
      if (nodeB != null) {
        nodeB.close().await(30, TimeUnit.SECONDS);
      }
      nodeA.close().await(30, TimeUnit.SECONDS);
    }
  }

  /** Reads a consumer to its end, checking every batch bit-exactly; returns the sequence numbers seen. */
  private static Callable<List<Long>> reader(ActivationStreamConsumer consumer) {
    return () -> {
      List<Long> seen = new ArrayList<>();
      ActivationBatch b;
      while ((b = consumer.next()) != null) {
        ActivationBatch expected = SyntheticActivations.batch(SEED, b.sequence(), ROWS, WIDTH);
        assertThat(b.rows()).isEqualTo(ROWS);
        assertThat(Arrays.equals(b.values(), expected.values())).as("values of batch #%d", b.sequence()).isTrue();
        assertThat(b.tokenIds()).isEqualTo(expected.tokenIds());
        assertThat(b.docIds()).isEqualTo(expected.docIds());
        assertThat(b.positions()).isEqualTo(expected.positions());
        assertThat(b.labels()).isEqualTo(expected.labels());
        seen.add(b.sequence());
      }
      return seen;
    };
  }
}
