package dev.loupe.core.bench;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.sdk.sparse.SparseActivation;
import dev.loupe.sdk.sparse.SparseCoderBenchmark;
import dev.loupe.sdk.sparse.TrainerConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Times one sparse-coder training step (ReLU + L1 and TopK) in Loupe and the same step in PyTorch
 * eager with autograd and torch.optim.Adam in a Python child process, alternating the two so that
 * load changes hit both. Called by {@code loupe bench sae}.
 */
public final class SaeBenchmark {
  private static final String SCRIPT = "torch_sae_step.py";
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What to measure.
   *
   * @param dIns input widths, each measured with both activations
   * @param expansion d_sae / d_in
   * @param batch rows per training step
   * @param k TopK's k (at most d_in x expansion for every d_in)
   * @param warmup untimed steps before each timed run
   * @param steps timed steps per run (the median counts)
   * @param rounds Loupe-then-PyTorch rounds per case; figures are medians over rounds
   * @param python Python interpreter with torch, or null to skip the PyTorch comparison
   */
  public record Options(List<Integer> dIns, int expansion, int batch, int k, int warmup, int steps, int rounds,
      String python) {
    public Options {
      if (dIns == null || dIns.isEmpty()) {
        throw new IllegalArgumentException("d_in needs at least one width, such as 256,384");
      }
      dIns = List.copyOf(dIns);
      for (int d : dIns) {
        if (d <= 0) {
          throw new IllegalArgumentException("d_in must be positive, got " + d + " in " + dIns);
        }
      }
      positive("expansion", expansion);
      positive("batch", batch);
      positive("k", k);
      if (warmup < 0) {
        throw new IllegalArgumentException("warmup must be >= 0, got " + warmup);
      }
      positive("steps", steps);
      positive("rounds", rounds);
      int smallest = dIns.stream().mapToInt(Integer::intValue).min().orElseThrow();
      if ((long) smallest * expansion < k) {
        throw new IllegalArgumentException("k = " + k + " exceeds d_sae = d_in x expansion = " + smallest + " x "
            + expansion + "; choose k <= d_sae");
      }
    }

    /** d_in 256 and 384, expansion 16, batch 4096, k 32, 2 warm-up + 5 timed steps, 2 rounds. */
    public static Options defaults() {
      return new Options(List.of(256, 384), 16, 4096, 32, 2, 5, 2, "/usr/bin/python3");
    }

    private static void positive(String field, int v) {
      if (v <= 0) {
        throw new IllegalArgumentException(field + " must be positive, got " + v);
      }
    }
  }

  /**
   * One case's medians over rounds; PyTorch figures are NaN when it was skipped.
   *
   * @param loupeTokensPerSecond Loupe training rows per second
   * @param torchTokensPerSecond PyTorch eager training rows per second
   * @param loupeOverTorch median of the per-round ratios of the two
   * @param loupeStepGflops Loupe's 10 n d_in d_sae matmul flop per step time
   * @param matmulGflops the same-run rate of one [n, d_in] x [d_in, d_sae] float32 matmul in Loupe's engine
   * @param matmulFraction median of the per-round loupeStepGflops / matmulGflops
   * @param torchMatmulGflops the same reference matmul's rate in the PyTorch child (its own BLAS build)
   * @param torchMatmulFraction median of the per-round PyTorch step GFLOP/s over torchMatmulGflops
   */
  public record Row(int dIn, int dSae, String activation, double loupeTokensPerSecond, double torchTokensPerSecond,
      double loupeOverTorch, double loupeStepGflops, double matmulGflops, double matmulFraction,
      double torchMatmulGflops, double torchMatmulFraction) {
  }

  private SaeBenchmark() {
  }

  /** Measures every d_in with ReLU and TopK, printing progress to {@code log}. */
  public static List<Row> run(Options o, TrainerConfig config, PrintWriter log)
      throws IOException, InterruptedException {
    int threads = Runtime.getRuntime().availableProcessors();
    log.printf("sae benchmark: d_in %s, expansion %d, batch %d, %d warm-up + %d timed steps, %d rounds "
        + "(Loupe then PyTorch each round)%n", o.dIns(), o.expansion(), o.batch(), o.warmup(), o.steps(), o.rounds());
    log.println("load average at start: " + ForwardBenchmark.loadAverage());
    List<Row> rows = new ArrayList<>();
    Path tmp = Files.createTempDirectory("loupe-saebench");
    try (NDManager manager = NDManager.newBaseManager();
         TorchProcess torch = TorchProcess.start(o.python(), threads, tmp, log)) {
      for (int dIn : o.dIns()) {
        for (SparseActivation act : List.of(new SparseActivation.Relu(), new SparseActivation.TopK(o.k()))) {
          double[][] rounds = new double[o.rounds()][];
          for (int r = 0; r < o.rounds(); r++) {
            SparseCoderBenchmark.Result l = SparseCoderBenchmark.measure(manager, dIn, o.expansion(), o.batch(), act,
                config, o.warmup(), o.steps());
            JsonNode t = torch == null ? null
                : torch.measure(act, dIn, dIn * o.expansion(), o.batch(), o.k(), config, o.warmup(), o.steps());
            rounds[r] = new double[] {l.tokensPerSecond(), figure(t, "tokens_per_s"), l.stepGflops(), l.matmulGflops(),
                l.rooflineFraction(), figure(t, "matmul_gflops"), figure(t, "matmul_fraction")};
            log.printf("d_in %d %s round %d: Loupe %.0f tokens/s (%.1f ms/step, %.2f of its %.0f GFLOP/s matmul)%s; "
                + "load %s%n", dIn, act.name(), r + 1, l.tokensPerSecond(), l.stepMillis(), l.rooflineFraction(),
                l.matmulGflops(), t == null ? "" : String.format(", PyTorch %.0f tokens/s (%.1f ms/step, %.2f of its "
                    + "%.0f GFLOP/s matmul)", rounds[r][1], t.get("step_ms").asDouble(), rounds[r][6], rounds[r][5]),
                ForwardBenchmark.loadAverage());
          }
          rows.add(new Row(dIn, dIn * o.expansion(), label(act), median(rounds, 0), median(rounds, 1),
              medianRatio(rounds), median(rounds, 2), median(rounds, 3), median(rounds, 4), median(rounds, 5),
              median(rounds, 6)));
        }
      }
    } finally {
      try (var paths = Files.list(tmp)) {
        for (Path p : paths.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(tmp);
    }
    log.println("load average at end: " + ForwardBenchmark.loadAverage());
    return rows;
  }

  /** The results as an aligned text table, one line per case; skipped PyTorch figures show as "-". */
  public static String table(List<Row> rows) {
    StringBuilder b = new StringBuilder();
    String head = "%5s  %-10s  %18s  %20s  %14s  %20s%n";
    String line = "%5d  %-10s  %18.0f  %20s  %14s  %20.2f%n";
    b.append(String.format(Locale.ROOT, head, "d_in", "activation", "Loupe tokens/s", "PyTorch tokens/s",
        "Loupe/PyTorch", "Loupe/matmul rate"));
    for (Row r : rows) {
      b.append(String.format(Locale.ROOT, line, r.dIn(), r.activation(), r.loupeTokensPerSecond(),
          Double.isNaN(r.torchTokensPerSecond()) ? "-" : String.format(Locale.ROOT, "%.0f", r.torchTokensPerSecond()),
          Double.isNaN(r.loupeOverTorch()) ? "-" : String.format(Locale.ROOT, "%.2f", r.loupeOverTorch()),
          r.matmulFraction()));
    }
    return b.toString();
  }

  /** The options and results as one JSON object; skipped PyTorch figures are null. */
  public static String json(Options o, List<Row> rows) {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode dIns = root.putArray("d_in");
    o.dIns().forEach(dIns::add);
    root.put("expansion", o.expansion()).put("batch", o.batch()).put("k", o.k()).put("warmup", o.warmup())
        .put("steps", o.steps()).put("rounds", o.rounds());
    ArrayNode results = root.putArray("results");
    for (Row r : rows) {
      ObjectNode n = results.addObject();
      n.put("d_in", r.dIn()).put("d_sae", r.dSae()).put("activation", r.activation())
          .put("loupe_tokens_per_s", r.loupeTokensPerSecond());
      number(n, "torch_tokens_per_s", r.torchTokensPerSecond());
      number(n, "loupe_over_torch", r.loupeOverTorch());
      n.put("loupe_step_gflops", r.loupeStepGflops()).put("matmul_gflops", r.matmulGflops())
          .put("loupe_matmul_fraction", r.matmulFraction());
      number(n, "torch_matmul_gflops", r.torchMatmulGflops());
      number(n, "torch_matmul_fraction", r.torchMatmulFraction());
    }
    return root.toString();
  }

  private static void number(ObjectNode n, String field, double v) {
    if (Double.isNaN(v)) {
      n.putNull(field);
    } else {
      n.put(field, v);
    }
  }

  private static double figure(JsonNode torchAnswer, String field) {
    return torchAnswer == null ? Double.NaN : torchAnswer.get(field).asDouble();
  }

  private static String label(SparseActivation act) {
    return act instanceof SparseActivation.TopK t ? "topk k=" + t.k() : act.name();
  }

  private static double median(double[][] rounds, int column) {
    return median(Arrays.stream(rounds).mapToDouble(r -> r[column]).toArray());
  }

  private static double medianRatio(double[][] rounds) {
    return median(Arrays.stream(rounds).mapToDouble(r -> r[0] / r[1]).toArray());
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  /** The Python child running torch_sae_step.py; one JSON answer per command line. */
  private static final class TorchProcess implements AutoCloseable {
    private final Process process;
    private final Writer in;
    private final BufferedReader reply;
    private final Path stderr;

    private TorchProcess(Process process, Path stderr) {
      this.process = process;
      this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      this.reply = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      this.stderr = stderr;
    }

    /** Null (after saying why) when there is no such interpreter or it cannot import torch. */
    static TorchProcess start(String python, int threads, Path tmp, PrintWriter log) throws IOException,
        InterruptedException {
      if (python == null) {
        log.println("PyTorch comparison skipped (no Python interpreter given)");
        return null;
      }
      if (!Files.isExecutable(Path.of(python))) {
        log.println("PyTorch comparison skipped: " + python + " is not an executable file");
        return null;
      }
      Path script = tmp.resolve(SCRIPT);
      try (InputStream res = SaeBenchmark.class.getResourceAsStream(SCRIPT)) {
        if (res == null) {
          throw new IllegalStateException("resource dev/loupe/core/bench/" + SCRIPT + " is missing from the classpath");
        }
        Files.copy(res, script, StandardCopyOption.REPLACE_EXISTING);
      }
      Path err = tmp.resolve("torch.stderr");
      Process p = new ProcessBuilder(python, script.toString(), Integer.toString(threads))
          .redirectError(err.toFile()).start();
      TorchProcess t = new TorchProcess(p, err);
      JsonNode ready;
      try {
        ready = t.read();
      } catch (IOException e) {
        t.close();
        log.println("PyTorch comparison skipped (is torch installed for " + python + "?): " + e.getMessage());
        return null;
      }
      log.printf("PyTorch %s eager, %d threads (the JVM's available processors; Python child: %s)%n",
          ready.get("torch").asText(), ready.get("threads").asInt(), python);
      return t;
    }

    JsonNode measure(SparseActivation act, int dIn, int dSae, int batch, int k, TrainerConfig c, int warmup, int steps)
        throws IOException {
      String cmd = String.format(Locale.ROOT, "measure %s %d %d %d %d %s %s %s %s %s %d %d 1", act.name(), dIn, dSae,
          batch, k, c.l1Coefficient(), c.learningRate(), c.adamBeta1(), c.adamBeta2(), c.adamEpsilon(), warmup, steps);
      in.write(cmd + "\n");
      in.flush();
      return read();
    }

    private JsonNode read() throws IOException {
      String line = reply.readLine();
      if (line == null) {
        String err = Files.exists(stderr) ? Files.readString(stderr).strip() : "";
        String[] lines = err.split("\n");
        throw new IOException("the PyTorch process ended without answering: "
            + String.join(" | ", Arrays.copyOfRange(lines, Math.max(0, lines.length - 3), lines.length)));
      }
      return JSON.readTree(line);
    }

    @Override
    public void close() throws InterruptedException {
      try {
        in.write("quit\n");
        in.flush();
      } catch (IOException e) {
        // Already gone: nothing to ask to quit.
      }
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
