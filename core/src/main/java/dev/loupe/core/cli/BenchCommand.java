package dev.loupe.core.cli;

import dev.loupe.core.bench.ForwardBenchmark;
import dev.loupe.core.bench.SaeBenchmark;
import dev.loupe.core.bench.ServeBenchmark;
import dev.loupe.core.bench.StreamBenchmark;
import dev.loupe.sdk.sparse.TrainerConfig;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code loupe bench ...}: measurements whose figures go into docs/BENCHMARKS.md. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measure Loupe's performance.",
    subcommands = {BenchCommand.Stream.class, BenchCommand.Forward.class, BenchCommand.Sae.class,
        BenchCommand.Probes.class, BenchCommand.Serve.class})
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

  /** {@code loupe bench forward}: model forward throughput, capture overhead, and PyTorch eager on the same weights. */
  @Command(name = "forward", mixinStandardHelpOptions = true,
      description = "Forward throughput (tokens/s) without capture, capturing every residual hook (with and without "
          + "copying to Java arrays), and the same weights in PyTorch eager, alternating rounds.")
  static final class Forward implements Callable<Integer> {
    private final ForwardBenchmark.Options d = ForwardBenchmark.Options.defaults();

    @Option(names = "--model", description = "GPT-2 model reference (default: ${DEFAULT-VALUE})")
    String model = d.model();

    @Option(names = "--batch", description = "sequences per pass (default: ${DEFAULT-VALUE})")
    int batch = d.batch();

    @Option(names = "--seq", description = "tokens per sequence (default: ${DEFAULT-VALUE})")
    int seq = d.seq();

    @Option(names = "--warmup", description = "untimed passes per variant (default: ${DEFAULT-VALUE})")
    int warmup = d.warmup();

    @Option(names = "--passes", description = "timed passes per variant per round (default: ${DEFAULT-VALUE})")
    int passes = d.passes();

    @Option(names = "--rounds", description = "rounds; medians are reported (default: ${DEFAULT-VALUE})")
    int rounds = d.rounds();

    @Option(names = "--python", description = "Python with torch for the comparison (default: ${DEFAULT-VALUE})")
    String python = d.python();

    @Option(names = "--no-torch", description = "skip the PyTorch comparison")
    boolean noTorch;

    @Override
    public Integer call() throws Exception {
      ForwardBenchmark.run(new ForwardBenchmark.Options(model, batch, seq, warmup, passes, rounds,
          noTorch ? null : python), new PrintStream(System.out, true));
      return LoupeCli.OK;
    }
  }

  /** {@code loupe bench sae}: one sparse-coder training step in Loupe and in PyTorch eager, alternating. */
  @Command(name = "sae", mixinStandardHelpOptions = true,
      description = "Sparse-coder training throughput (tokens/s) for ReLU+L1 and TopK in Loupe and the same step in "
          + "PyTorch eager (autograd + torch.optim.Adam), alternating, with Loupe's fraction of its own matmul rate.")
  static final class Sae implements Callable<Integer> {
    private final SaeBenchmark.Options d = SaeBenchmark.Options.defaults();

    @ParentCommand
    BenchCommand bench;

    @Option(names = "--d-in", split = ",", description = "input widths, comma-separated (default: 256,384)")
    List<Integer> dIns = d.dIns();

    @Option(names = "--expansion", description = "d_sae / d_in (default: ${DEFAULT-VALUE})")
    int expansion = d.expansion();

    @Option(names = "--batch", description = "rows per training step (default: ${DEFAULT-VALUE})")
    int batch = d.batch();

    @Option(names = "--k", description = "TopK's k (default: ${DEFAULT-VALUE})")
    int k = d.k();

    @Option(names = "--warmup", description = "untimed steps per run (default: ${DEFAULT-VALUE})")
    int warmup = d.warmup();

    @Option(names = "--steps", description = "timed steps per run; the median counts (default: ${DEFAULT-VALUE})")
    int steps = d.steps();

    @Option(names = "--rounds", description = "Loupe-then-PyTorch rounds per case; medians are reported "
        + "(default: ${DEFAULT-VALUE})")
    int rounds = d.rounds();

    @Option(names = "--python", description = "Python with torch for the comparison (default: ${DEFAULT-VALUE})")
    String python = d.python();

    @Option(names = "--no-torch", description = "skip the PyTorch comparison")
    boolean noTorch;

    @Option(names = "--json", description = "print the results as JSON on stdout (progress goes to stderr)")
    boolean json;

    @Override
    public Integer call() throws Exception {
      SaeBenchmark.Options o = new SaeBenchmark.Options(dIns, expansion, batch, k, warmup, steps, rounds,
          noTorch ? null : python);
      PrintWriter out = bench.parent.spec.commandLine().getOut();
      PrintWriter log = json ? bench.parent.spec.commandLine().getErr() : out;
      List<SaeBenchmark.Row> rows = SaeBenchmark.run(o, TrainerConfig.builder().build(), log);
      out.print(json ? SaeBenchmark.json(o, rows) + System.lineSeparator() : SaeBenchmark.table(rows));
      out.flush();
      return LoupeCli.OK;
    }
  }

  /** {@code loupe bench probes}: the SDK's logistic regression against scikit-learn on identical data. */
  @Command(name = "probes", mixinStandardHelpOptions = true,
      description = "Logistic-regression probes: Loupe's L-BFGS and scikit-learn's LogisticRegression (lbfgs) on the "
          + "same float32 problems (written as .npy), back to back: fit time, iterations, objective, test accuracy.")
  static final class Probes implements Callable<Integer> {
    @ParentCommand
    BenchCommand bench;

    @Option(names = "--python", description = "Python with scikit-learn (default: ${DEFAULT-VALUE})")
    String python = "/usr/bin/python3";

    @Option(names = "--rounds", description = "Loupe-then-sklearn rounds per problem (default: ${DEFAULT-VALUE})")
    int rounds = 2;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = bench.parent.spec.commandLine().getOut();
      PrintWriter err = bench.parent.spec.commandLine().getErr();
      if (rounds < 1) {
        err.println("--rounds: expected at least 1, got " + rounds);
        return LoupeCli.USAGE;
      }
      Process check = new ProcessBuilder(python, "-c", "import sklearn, numpy").redirectErrorStream(true).start();
      String why = new String(check.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      if (check.waitFor() != 0) {
        err.println("--python " + python + ": cannot import sklearn and numpy (install Debian's python3-sklearn and "
            + "libopenblas0-pthread): " + why.strip());
        return LoupeCli.USAGE;
      }
      java.nio.file.Path work = java.nio.file.Files.createTempDirectory("loupe-bench-probes");
      try {
        out.print(dev.loupe.sdk.probe.ProbeBenchmark.table(dev.loupe.sdk.probe.ProbeBenchmark.run(
            java.nio.file.Path.of(python), work, dev.loupe.sdk.probe.ProbeBenchmark.defaultProblems(), rounds, out)));
        out.flush();
      } finally {
        try (var files = java.nio.file.Files.walk(work)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
      }
      return LoupeCli.OK;
    }
  }

  /** {@code loupe bench serve}: the HTTP/WebSocket server with many WebSocket clients and prompt requests. */
  @Command(name = "serve", mixinStandardHelpOptions = true,
      description = "Server load: WebSocket clients follow a running job (some stalled until it ends) while prompt "
          + "requests run on a session of the model; p50/p99 latency of health and prompt requests, server memory, "
          + "client errors. The server runs in its own JVM.")
  static final class Serve implements Callable<Integer> {
    private final ServeBenchmark.Options d = ServeBenchmark.Options.defaults();

    @ParentCommand
    BenchCommand bench;

    @Option(names = "--clients", description = "WebSocket clients following the job (default: ${DEFAULT-VALUE})")
    int clients = d.clients();

    @Option(names = "--stalled", description = "of those, clients that read nothing until the job ends "
        + "(default: ${DEFAULT-VALUE})")
    int stalled = d.stalled();

    @Option(names = "--prompt-clients", description = "loops sending prompt requests one after another "
        + "(default: ${DEFAULT-VALUE})")
    int promptClients = d.promptClients();

    @Option(names = "--seconds", description = "how long the job runs (default: ${DEFAULT-VALUE})")
    int seconds = d.seconds();

    @Option(names = "--model", description = "model of the prompt session (default: ${DEFAULT-VALUE})")
    String model = d.model();

    @Option(names = "--rows-per-second", description = "metrics rows the job writes a second (default: ${DEFAULT-VALUE})")
    int rowsPerSecond = d.rowsPerSecond();

    @Option(names = "--progress-per-second", description = "progress reports of the job a second "
        + "(default: ${DEFAULT-VALUE})")
    int progressPerSecond = d.progressPerSecond();

    @Option(names = "--json", description = "print the results as JSON on stdout (progress goes to stderr)")
    boolean json;

    @Override
    public Integer call() throws Exception {
      ServeBenchmark.Options o;
      try {
        o = new ServeBenchmark.Options(clients, stalled, promptClients, seconds, model, rowsPerSecond,
            progressPerSecond, d.prompt());
      } catch (IllegalArgumentException e) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, e.getMessage());
      }
      PrintWriter out = bench.parent.spec.commandLine().getOut();
      PrintWriter log = json ? bench.parent.spec.commandLine().getErr() : out;
      ServeBenchmark.Result r = ServeBenchmark.run(o, log);
      out.print(json ? r.json().encodePrettily() + System.lineSeparator() : ServeBenchmark.table(r));
      out.flush();
      return r.errors().isEmpty() ? LoupeCli.OK : LoupeCli.JOB_FAILED;
    }
  }
}
