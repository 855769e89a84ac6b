package dev.loupe.core.cli;

import dev.loupe.core.bench.StreamBenchmark;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code loupe bench ...}: measurements whose figures go into docs/BENCHMARKS.md. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measure Loupe's performance.",
    subcommands = {BenchCommand.Stream.class})
final class BenchCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Override
  public Integer call() {
    parent.spec.commandLine().getSubcommands().get("bench").usage(parent.spec.commandLine().getErr());
    return LoupeCli.USAGE;
  }

  /** {@code loupe bench stream}: activation-stream throughput, local fan-out and two JVMs. */
  @Command(name = "stream", mixinStandardHelpOptions = true,
      description = "Stream throughput: 1 and 4 local consumers (GB/s), and two clustered JVMs over loopback (MB/s).")
  static final class Stream implements Callable<Integer> {
    private final StreamBenchmark.Options d = StreamBenchmark.Options.defaults();

    @Option(names = "--rows", description = "rows per batch (default: ${DEFAULT-VALUE})")
    int rows = d.rows();

    @Option(names = "--width", description = "floats per row (default: ${DEFAULT-VALUE})")
    int width = d.width();

    @Option(names = "--local-batches", description = "batches per local measurement (default: ${DEFAULT-VALUE})")
    int localBatches = d.localBatches();

    @Option(names = "--cluster-batches", description = "batches in the clustered measurement (default: ${DEFAULT-VALUE})")
    int clusterBatches = d.clusterBatches();

    @Option(names = "--credits", description = "consumer prefetch (default: ${DEFAULT-VALUE})")
    int credits = d.credits();

    @Option(names = "--max-chunk-bytes", description = "wire chunk size when clustered (default: ${DEFAULT-VALUE})")
    int chunk = d.maxChunkBytes();

    @Option(names = "--local-only", description = "skip the two-JVM measurement")
    boolean localOnly;

    @Option(names = "--clustered-only", description = "skip the local measurements")
    boolean clusteredOnly;

    @Override
    public Integer call() throws Exception {
      StreamBenchmark.Options o = new StreamBenchmark.Options(rows, width, localBatches, clusterBatches, credits, chunk,
          !clusteredOnly, !localOnly);
      StreamBenchmark.run(o, new PrintStream(System.out, true));
      return LoupeCli.OK;
    }
  }
}
