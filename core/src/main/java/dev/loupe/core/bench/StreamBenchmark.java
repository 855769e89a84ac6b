package dev.loupe.core.bench;

import dev.loupe.core.cluster.ClusterDemoProducerMain;
import dev.loupe.core.cluster.ClusterNodes;
import dev.loupe.core.cluster.ClusterOptions;
import dev.loupe.core.stream.ActivationStreamConsumer;
import dev.loupe.core.stream.ActivationStreamProducer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.core.stream.SyntheticActivations;
import dev.loupe.sdk.activation.ActivationBatch;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Measures activation-stream throughput: in one JVM with 1 and 4 consumers, and between two JVMs
 * joined in a Hazelcast cluster over loopback (a producer node started as a child process).
 * Locally it measures twice: with consumers that take each batch and touch every row (one value
 * and the token id per row: the cost of the stream itself, credits and hand-off; local consumers
 * are linked to the producer directly, so no event-bus message is involved), and
 * with consumers that sum every float (the stream plus real per-float work, which needs a free
 * core per consumer to keep up, so on a 2-core machine 4 such consumers cannot reach 0.9).
 * Called by {@code loupe bench stream}; also runnable on its own through {@link #main}.
 */
public final class StreamBenchmark {

  /**
   * What to measure.
   *
   * @param rows rows per batch
   * @param width floats per row
   * @param localBatches batches per local measurement (after as many again for warm-up)
   * @param clusterBatches batches in the clustered measurement (the first fifth is warm-up)
   * @param credits prefetch of each consumer
   * @param maxChunkBytes wire chunk size for the clustered run
   * @param local whether to run the local measurements
   * @param clustered whether to run the two-JVM measurement
   */
  public record Options(int rows, int width, int localBatches, int clusterBatches, int credits, int maxChunkBytes,
      boolean local, boolean clustered) {
    public Options {
      positive("rows", rows);
      positive("width", width);
      positive("localBatches", localBatches);
      if (clusterBatches < 5) {
        throw new IllegalArgumentException("clusterBatches must be >= 5 (a fifth is warm-up), got " + clusterBatches);
      }
      new StreamOptions().setCredits(credits).setMaxChunkBytes(maxChunkBytes);
    }

    /** 4096 x 512 floats (8 MiB) per batch, 4 MiB chunks, 8 credits. */
    public static Options defaults() {
      return new Options(4096, 512, 400, 100, StreamOptions.DEFAULT_CREDITS, StreamOptions.DEFAULT_MAX_CHUNK_BYTES,
          true, true);
    }

    private static void positive(String field, int v) {
      if (v <= 0) {
        throw new IllegalArgumentException(field + " must be positive, got " + v);
      }
    }

    long batchBytes() {
      return 4L * rows * width;
    }
  }

  /**
   * Measured figures; NaN for what was not run.
   *
   * @param local1GBps stream rate with one consumer, GB/s (10^9 bytes of float32 per second)
   * @param local4GBps stream rate with four consumers, each reading every batch, GB/s
   * @param fanOutRatio local4GBps / local1GBps
   * @param clusteredMBps rate between two JVMs over loopback, MB/s (10^6 bytes per second)
   * @param cores processors available to this JVM (the figures depend on it)
   */
  public record Result(double local1GBps, double local4GBps, double fanOutRatio, double local1SumGBps,
      double local4SumGBps, double sumFanOutRatio, double clusteredMBps, int cores) {
  }

  private static volatile double sink;
  private static final boolean VERBOSE = Boolean.getBoolean("loupe.bench.verbose");
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private StreamBenchmark() {
  }

  public static void main(String[] args) throws Exception {
    Options d = Options.defaults();
    int rows = d.rows();
    int width = d.width();
    int localBatches = d.localBatches();
    int clusterBatches = d.clusterBatches();
    int credits = d.credits();
    int chunk = d.maxChunkBytes();
    boolean local = true;
    boolean clustered = true;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--rows" -> rows = Integer.parseInt(args[++i]);
        case "--width" -> width = Integer.parseInt(args[++i]);
        case "--local-batches" -> localBatches = Integer.parseInt(args[++i]);
        case "--cluster-batches" -> clusterBatches = Integer.parseInt(args[++i]);
        case "--credits" -> credits = Integer.parseInt(args[++i]);
        case "--max-chunk-bytes" -> chunk = Integer.parseInt(args[++i]);
        case "--local-only" -> clustered = false;
        case "--clustered-only" -> local = false;
        default -> throw new IllegalArgumentException("unknown argument '" + a + "'; expected --rows, --width, "
            + "--local-batches, --cluster-batches, --credits, --max-chunk-bytes, --local-only, --clustered-only");
      }
    }
    run(new Options(rows, width, localBatches, clusterBatches, credits, chunk, local, clustered), System.out);
    System.exit(0);
  }

  /** Runs the measurements chosen in {@code options}, printing progress and figures to {@code out}. */
  public static Result run(Options options, PrintStream out) throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    out.printf("activation stream benchmark: batches of %d x %d float32 (%.1f MiB), %d credits, %d cores%n",
        options.rows(), options.width(), options.batchBytes() / 1048576.0, options.credits(), cores);
    double one = Double.NaN;
    double four = Double.NaN;
    double ratio = Double.NaN;
    double oneSum = Double.NaN;
    double fourSum = Double.NaN;
    double ratioSum = Double.NaN;
    double clustered = Double.NaN;
    if (options.local()) {
      one = local(options, 1, false) / 1e9;
      out.printf("local, consumers touch every row:  1 consumer %.2f GB/s%n", one);
      four = local(options, 4, false) / 1e9;
      ratio = four / one;
      out.printf("local, consumers touch every row:  4 consumers %.2f GB/s each, ratio 4/1 = %.2f%n", four, ratio);
      oneSum = local(options, 1, true) / 1e9;
      out.printf("local, consumers sum every float:  1 consumer %.2f GB/s%n", oneSum);
      fourSum = local(options, 4, true) / 1e9;
      ratioSum = fourSum / oneSum;
      out.printf("local, consumers sum every float:  4 consumers %.2f GB/s each (%.2f GB/s summed in all), "
          + "ratio 4/1 = %.2f on %d cores%n", fourSum, 4 * fourSum, ratioSum, cores);
    }
    if (options.clustered()) {
      clustered = clustered(options, out) / 1e6;
      out.printf("clustered, 2 JVMs over loopback: %.0f MB/s%n", clustered);
    }
    return new Result(one, four, ratio, oneSum, fourSum, ratioSum, clustered, cores);
  }

  /** Bytes per second each of {@code consumers} local readers receives. */
  private static double local(Options options, int consumers, boolean sumEveryFloat) throws Exception {
    ActivationBatch[] cycle = new ActivationBatch[4];
    for (int i = 0; i < cycle.length; i++) {
      cycle[i] = SyntheticActivations.batch(1, i, options.rows(), options.width());
    }
    Vertx vertx = Vertx.vertx();
    ExecutorService threads = Executors.newCachedThreadPool();
    try {
      String id = "bench-" + UUID.randomUUID();
      ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
      List<Future<Long>> readers = new ArrayList<>();
      long warmup = options.localBatches();
      for (int c = 0; c < consumers; c++) {
        ActivationStreamConsumer consumer = ActivationStreamConsumer
            .subscribe(vertx, id, new StreamOptions().setCredits(options.credits())).await(10, TimeUnit.SECONDS);
        readers.add(threads.submit(() -> read(consumer, warmup, sumEveryFloat)));
      }
      Future<?> producing = threads.submit(() -> {
        producer.awaitConsumers(consumers, Duration.ofSeconds(10));
        long cpu = 0;
        long waited = 0;
        for (long seq = 0; seq < warmup + options.localBatches(); seq++) {
          if (seq == warmup) {
            cpu = THREADS.getCurrentThreadCpuTime();
            waited = producer.stats().waitNanos();
          }
          producer.accept(cycle[(int) (seq % cycle.length)].withSequence(seq));
        }
        if (VERBOSE) {
          System.out.printf("producer, %d consumer(s): %.1f us CPU per batch, %.1f us per batch waiting for credit%n",
              consumers, (THREADS.getCurrentThreadCpuTime() - cpu) / 1e3 / options.localBatches(),
              (producer.stats().waitNanos() - waited) / 1e3 / options.localBatches());
        }
        producer.close();
        return null;
      });
      producing.get();
      long slowest = Long.MAX_VALUE;
      for (Future<Long> r : readers) {
        slowest = Math.min(slowest, r.get());
      }
      return slowest == 0 ? Double.NaN : options.localBatches() * options.batchBytes() * 1e9 / slowest;
    } finally {
      threads.shutdownNow();
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /**
   * Reads a source to its end, summing every float (or one float and the token id of every row);
   * returns the nanoseconds from the end of the warm-up batches to the end of the stream.
   */
  private static long read(ActivationStreamConsumer consumer, long warmupBatches, boolean sumEveryFloat)
      throws InterruptedException {
    long start = 0;
    long cpu = 0;
    double total = 0;
    ActivationBatch b;
    long n = 0;
    long waiting = 0;
    long t;
    while (true) {
      t = System.nanoTime();
      b = consumer.next();
      if (n >= warmupBatches) {
        waiting += System.nanoTime() - t;
      }
      if (b == null) {
        break;
      }
      total += sumEveryFloat ? sum(b.values()) : touchRows(b);
      if (++n == warmupBatches) {
        start = System.nanoTime();
        cpu = THREADS.getCurrentThreadCpuTime();
      }
    }
    sink = total;
    if (VERBOSE) {
      long timed = Math.max(1, n - warmupBatches);
      System.out.printf("reader %s: %d ms waiting in next(), %.1f us CPU per batch (stream and reading)%n",
          consumer.consumerId(), waiting / 1_000_000, (THREADS.getCurrentThreadCpuTime() - cpu) / 1e3 / timed);
    }
    return start == 0 ? 0 : System.nanoTime() - start;
  }

  /** One value and the token id of every row: proves each row arrived without per-float work. */
  static double touchRows(ActivationBatch b) {
    double t = 0;
    float[] v = b.values();
    int[] tokens = b.tokenIds();
    int w = b.width();
    for (int r = 0; r < b.rows(); r++) {
      t += v[r * w + (r % w)] + tokens[r];
    }
    return t;
  }

  /** Eight independent partial sums so the loop runs at memory speed, not at add latency. */
  static double sum(float[] v) {
    float s0 = 0;
    float s1 = 0;
    float s2 = 0;
    float s3 = 0;
    float s4 = 0;
    float s5 = 0;
    float s6 = 0;
    float s7 = 0;
    int i = 0;
    for (; i + 8 <= v.length; i += 8) {
      s0 += v[i];
      s1 += v[i + 1];
      s2 += v[i + 2];
      s3 += v[i + 3];
      s4 += v[i + 4];
      s5 += v[i + 5];
      s6 += v[i + 6];
      s7 += v[i + 7];
    }
    for (; i < v.length; i++) {
      s0 += v[i];
    }
    return (double) s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
  }

  /** Bytes per second from a producer node in a child JVM to a consumer in this one. */
  private static double clustered(Options options, PrintStream out) throws Exception {
    String clusterName = "loupe-bench-" + UUID.randomUUID();
    int childPort = freePort();
    int ownPort = freePort();
    String members = "127.0.0.1:" + childPort + ",127.0.0.1:" + ownPort;
    String stream = "bench";
    Process child = startChild(List.of(
        "--cluster-name", clusterName, "--port", Integer.toString(childPort), "--members", members,
        "--stream", stream, "--batches", Integer.toString(options.clusterBatches()),
        "--rows", Integer.toString(options.rows()), "--width", Integer.toString(options.width()),
        "--distinct", "4", "--consumers", "1", "--max-chunk-bytes", Integer.toString(options.maxChunkBytes())));
    StringBuffer log = new StringBuffer();
    LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread pump = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          log.append(line).append('\n');
          lines.add(line);
        }
      } catch (IOException ignored) {
        // the child is gone; its log so far says why
      }
    });
    pump.setDaemon(true);
    pump.start();
    Vertx vertx = null;
    try {
      awaitLine(lines, "READY", child, log);
      out.println("clustered: producer node up in a child JVM; joining the cluster");
      vertx = ClusterNodes.start(new ClusterOptions().setClusterName(clusterName).setHazelcastPort(ownPort)
          .setMembers(members)).await(60, TimeUnit.SECONDS);
      ActivationStreamConsumer consumer = ActivationStreamConsumer
          .subscribe(vertx, stream, new StreamOptions().setCredits(options.credits())).await(30, TimeUnit.SECONDS);
      long warmup = options.clusterBatches() / 5;
      long nanos = read(consumer, warmup, true);
      out.println("clustered: producer node says: " + awaitLine(lines, "DONE", child, log));
      try (Writer w = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8)) {
        w.write("stop\n");
      }
      child.waitFor(30, TimeUnit.SECONDS);
      return (options.clusterBatches() - warmup) * options.batchBytes() * 1e9 / nanos;
    } finally {
      child.destroyForcibly();
      if (vertx != null) {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
    }
  }

  private static String awaitLine(LinkedBlockingQueue<String> lines, String prefix, Process child, StringBuffer log)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      String line = lines.poll(100, TimeUnit.MILLISECONDS);
      if (line != null && line.startsWith(prefix)) {
        return line;
      }
      if (line == null && !child.isAlive()) {
        throw new IllegalStateException("producer node exited before '" + prefix + "'; its output:\n" + log);
      }
    }
    throw new IllegalStateException("producer node did not print '" + prefix + "' within 60 s; its output:\n" + log);
  }

  private static Process startChild(List<String> args) throws IOException {
    Path logback = Files.createTempFile("loupe-bench-logback", ".xml");
    logback.toFile().deleteOnExit();
    Files.writeString(logback, "<configuration><appender name=\"OUT\" class=\"ch.qos.logback.core.ConsoleAppender\">"
        + "<encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder></appender>"
        + "<root level=\"WARN\"><appender-ref ref=\"OUT\"/></root></configuration>");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "java.se",
        "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
        "--add-opens", "java.base/java.lang=ALL-UNNAMED",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens", "java.management/sun.management=ALL-UNNAMED",
        "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
        "-Xmx2g", "-Dhazelcast.logging.type=slf4j", "-Dai.djl.offline=true",
        "-Dlogback.configurationFile=" + logback,
        "-cp", ChildJvmClasspath.current(), ClusterDemoProducerMain.class.getName()));
    command.addAll(args);
    return new ProcessBuilder(command).redirectErrorStream(true).start();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
