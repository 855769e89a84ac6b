package dev.loupe.core.cluster;

import dev.loupe.core.stream.ActivationStreamProducer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.core.stream.SyntheticActivations;
import dev.loupe.sdk.activation.ActivationBatch;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A cluster node that produces a deterministic synthetic activation stream (see
 * {@link SyntheticActivations}) so that tests and benchmarks can exercise a real second JVM; a
 * model session takes its place in real use.
 *
 * <p>Arguments ({@code --name value}): {@code --cluster-name}, {@code --host} (127.0.0.1),
 * {@code --port} (Hazelcast port), {@code --members} (comma-separated host:port), {@code --stream}
 * (stream id), {@code --batches} (-1 = until told to stop), {@code --rows}, {@code --width},
 * {@code --seed}, {@code --distinct} (0 = generate every batch; k &gt; 0 = cycle k pre-generated
 * batches, renumbered, for benchmarks), {@code --consumers} (wait for this many before the first
 * batch), {@code --max-chunk-bytes}.
 *
 * <p>Protocol on stdout: {@code READY <stream>} once consumers can subscribe, then
 * {@code DONE <batches>} after the stream was closed. The node leaves the cluster when stdin
 * says {@code stop} or is closed (so it never outlives a parent that died).
 */
public final class ClusterDemoProducerMain {

  private ClusterDemoProducerMain() {
  }

  public static void main(String[] args) {
    int code;
    try {
      code = run(args, System.in, System.out);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      code = 2;
    } catch (Exception e) {
      e.printStackTrace();
      code = 1;
    }
    System.exit(code);
  }

  /** Runs the node; returns the process exit code. */
  public static int run(String[] args, InputStream stdin, PrintStream out) throws Exception {
    Map<String, String> a = parse(args);
    ClusterOptions cluster = new ClusterOptions()
        .setClusterName(a.getOrDefault("cluster-name", "loupe"))
        .setHost(a.getOrDefault("host", ClusterOptions.DEFAULT_HOST))
        .setHazelcastPort(intArg(a, "port", ClusterOptions.DEFAULT_HAZELCAST_PORT))
        .setMembers(a.getOrDefault("members", "127.0.0.1:" + intArg(a, "port", ClusterOptions.DEFAULT_HAZELCAST_PORT)));
    String stream = a.getOrDefault("stream", "demo");
    long batches = Long.parseLong(a.getOrDefault("batches", "-1"));
    int rows = intArg(a, "rows", 256);
    int width = intArg(a, "width", 512);
    long seed = Long.parseLong(a.getOrDefault("seed", "1"));
    int distinct = intArg(a, "distinct", 0);
    int consumers = intArg(a, "consumers", 1);
    StreamOptions streamOptions = new StreamOptions()
        .setHookName(SyntheticActivations.HOOK_NAME)
        .setWidth(width)
        .setMaxChunkBytes(intArg(a, "max-chunk-bytes", StreamOptions.DEFAULT_MAX_CHUNK_BYTES));

    Vertx vertx = ClusterNodes.start(cluster).await(60, TimeUnit.SECONDS);
    StopSignal stop = new StopSignal(stdin);
    try {
      ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, stream, streamOptions)
          .await(30, TimeUnit.SECONDS);
      out.println("READY " + stream);
      out.flush();
      if (!producer.awaitConsumers(consumers, Duration.ofSeconds(60))) {
        producer.fail("no consumers subscribed within 60 s");
        out.println("ERROR no consumers");
        return 3;
      }
      ActivationBatch[] cycle = new ActivationBatch[distinct];
      for (int i = 0; i < distinct; i++) {
        cycle[i] = SyntheticActivations.batch(seed, i, rows, width);
      }
      long seq = 0;
      long t0 = System.nanoTime();
      for (; (batches < 0 || seq < batches) && !stop.requested(); seq++) {
        producer.accept(distinct > 0 ? cycle[(int) (seq % distinct)].withSequence(seq)
            : SyntheticActivations.batch(seed, seq, rows, width));
      }
      producer.close();
      long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      out.println("DONE " + seq + " in " + elapsedMs + " ms, " + TimeUnit.NANOSECONDS.toMillis(producer.stats().waitNanos())
          + " ms of it waiting for consumers' credit");
      out.flush();
      // Stay in the cluster until told: the end-of-stream message must reach the consumers first.
      stop.await();
      return 0;
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> map = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("arguments must be '--name value' pairs, got '" + args[i] + "'");
      }
      map.put(args[i].substring(2), args[i + 1]);
    }
    return map;
  }

  private static int intArg(Map<String, String> a, String name, int dflt) {
    String v = a.get(name);
    if (v == null) {
      return dflt;
    }
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + " must be an integer, got '" + v + "'");
    }
  }

  /** Watches stdin on a daemon thread: "stop" or end of input asks the node to finish. */
  private static final class StopSignal {
    private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);

    StopSignal(InputStream stdin) {
      Thread t = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null && !line.trim().equals("stop")) {
            // other input is ignored
          }
        } catch (IOException e) {
          // a broken stdin means the parent is gone: stop as well
        }
        stopped.countDown();
      }, "demo-producer-stdin");
      t.setDaemon(true);
      t.start();
    }

    boolean requested() {
      return stopped.getCount() == 0;
    }

    void await() throws InterruptedException {
      stopped.await();
    }
  }
}
