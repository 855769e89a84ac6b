package dev.loupe.it.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.cluster.ClusterDemoProducerMain;
import dev.loupe.core.cluster.ClusterNodes;
import dev.loupe.core.cluster.ClusterOptions;
import dev.loupe.core.stream.ActivationStreamConsumer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.core.stream.SyntheticActivations;
import dev.loupe.sdk.activation.ActivationBatch;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A producer node in a second JVM streams to a consumer in this JVM over a real Hazelcast cluster
 * on loopback: batches arrive complete, in order and bit-exact, large ones split for the wire and
 * put back together.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TwoJvmClusterTest {
  private static final long SEED = 20261125;
  private static final int BATCHES = 24;
  private static final int ROWS = 300;
  private static final int WIDTH = 700;
  /** 300 x 700 floats are 840 kB: with 256 KiB chunks every batch crosses as 4 slices. */
  private static final int MAX_CHUNK_BYTES = 256 * 1024;

  @Test
  void consumerReceivesEveryBatchBitExactFromAProducerInAnotherJvm() throws Exception {
    String clusterName = "loupe-it-" + UUID.randomUUID();
    int childPort = ChildJvm.freePort();
    int ownPort = ChildJvm.freePort();
    String members = "127.0.0.1:" + childPort + ",127.0.0.1:" + ownPort;
    String stream = "two-jvm-" + UUID.randomUUID().toString().substring(0, 8);

    try (ChildJvm child = ChildJvm.start(ClusterDemoProducerMain.class.getName(), List.of(
        "--cluster-name", clusterName, "--port", Integer.toString(childPort), "--members", members,
        "--stream", stream, "--batches", Integer.toString(BATCHES), "--rows", Integer.toString(ROWS),
        "--width", Integer.toString(WIDTH), "--seed", Long.toString(SEED),
        "--max-chunk-bytes", Integer.toString(MAX_CHUNK_BYTES), "--consumers", "1"))) {
      // Joining only after the child's cluster exists avoids two nodes each founding their own.
      child.awaitLine("READY", 40, TimeUnit.SECONDS);
      ClusterOptions own = new ClusterOptions().setClusterName(clusterName).setHazelcastPort(ownPort).setMembers(members);
      Vertx vertx = ClusterNodes.start(own).await(30, TimeUnit.SECONDS);
      try {
        ActivationStreamConsumer consumer = ActivationStreamConsumer
            .subscribe(vertx, stream, new StreamOptions().setCredits(4)).await(20, TimeUnit.SECONDS);
        assertThat(consumer.width()).isEqualTo(WIDTH);
        assertThat(consumer.hookName()).isEqualTo(SyntheticActivations.HOOK_NAME);

        List<Long> sequences = new ArrayList<>();
        ActivationBatch batch;
        while ((batch = consumer.next()) != null) {
          assertBitExact(batch, SyntheticActivations.batch(SEED, batch.sequence(), ROWS, WIDTH));
          sequences.add(batch.sequence());
        }

        assertThat(sequences).isEqualTo(LongStream.range(0, BATCHES).boxed().toList());
        assertThat(consumer.maxBuffered()).isLessThanOrEqualTo(4);
        assertThat(child.awaitLine("DONE", 10, TimeUnit.SECONDS)).startsWith("DONE " + BATCHES + " in ");
        child.send("stop");
        assertThat(child.awaitExit(30, TimeUnit.SECONDS)).as("child exit code; log:\n%s", child.log()).isZero();
      } finally {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
    }
  }

  private static void assertBitExact(ActivationBatch actual, ActivationBatch expected) {
    assertThat(actual.rows()).isEqualTo(expected.rows());
    assertThat(actual.width()).isEqualTo(expected.width());
    assertThat(actual.modelId()).isEqualTo(expected.modelId());
    assertThat(actual.hookName()).isEqualTo(expected.hookName());
    float[] a = actual.values();
    float[] e = expected.values();
    assertThat(a.length).isEqualTo(e.length);
    for (int i = 0; i < a.length; i++) {
      if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(e[i])) {
        throw new AssertionError("batch #" + actual.sequence() + " value " + i + ": " + a[i] + " != " + e[i]);
      }
    }
    assertThat(actual.tokenIds()).isEqualTo(expected.tokenIds());
    assertThat(actual.docIds()).isEqualTo(expected.docIds());
    assertThat(actual.positions()).isEqualTo(expected.positions());
    assertThat(actual.labels()).isEqualTo(expected.labels());
  }
}
