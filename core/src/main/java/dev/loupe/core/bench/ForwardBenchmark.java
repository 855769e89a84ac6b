package dev.loupe.core.bench;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.RunResult;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Measures forward-pass throughput of a model in Loupe without capture, capturing every residual
 * hook, and capturing them plus copying them to Java float arrays (through {@code toFloatArray},
 * and through a zero-copy buffer view), and compares it with the same
 * weights run by a plain PyTorch eager forward (GPT-2 or BERT) in a Python child process, alternating
 * rounds so that both see the same machine load. Called by {@code loupe bench forward}.
 */
public final class ForwardBenchmark {
  private static final String SCRIPT = "torch_forward.py";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Architectures torch_forward.py implements; others run without the PyTorch comparison. */
  private static final Set<String> TORCH_ARCHITECTURES = Set.of("gpt2", "bert");

  /**
   * What to measure.
   *
   * @param model model reference (the PyTorch side implements GPT-2 and BERT; others skip it)
   * @param batch sequences per pass
   * @param seq tokens per sequence
   * @param warmup untimed passes per variant before the first round
   * @param passes timed passes per variant per round
   * @param rounds rounds; figures are medians over rounds
   * @param python Python interpreter with torch, or null to skip the PyTorch comparison
   */
  public record Options(String model, int batch, int seq, int warmup, int passes, int rounds, String python) {
    public Options {
      if (model == null || model.isBlank()) {
        throw new IllegalArgumentException("model must be a model reference such as random-gpt2:4x256x8, got '"
            + model + "'");
      }
      positive("batch", batch);
      positive("seq", seq);
      if (warmup < 0) {
        throw new IllegalArgumentException("warmup must be >= 0, got " + warmup);
      }
      positive("passes", passes);
      positive("rounds", rounds);
    }

    /** random-gpt2:4x256x8 (4 layers, d_model 256, 8 heads), batch 8 x 256, 2 warm-up, 5 passes, 5 rounds. */
    public static Options defaults() {
      return new Options("random-gpt2:4x256x8", 8, 256, 2, 5, 5, "/usr/bin/python3");
    }

    private static void positive(String field, int v) {
      if (v <= 0) {
        throw new IllegalArgumentException(field + " must be positive, got " + v);
      }
    }
  }

  /**
   * Medians over rounds (tokens per second), NaN where not measured.
   *
   * @param plain Loupe, no capture
   * @param capture Loupe, every residual hook captured (kept as native arrays until the result closes)
   * @param captureCopy Loupe, captured and copied to Java float arrays with {@code NDArray.toFloatArray()}
   * @param captureView Loupe, captured and copied to Java float arrays from a zero-copy view of the
   *     native memory ({@code toByteBuffer(true)}): one copy instead of toFloatArray's two
   * @param torch PyTorch eager, NaN when skipped
   * @param captureOverheadPct median over rounds of (plain / capture - 1) x 100
   * @param captureCopyOverheadPct the same for capture plus toFloatArray
   * @param captureViewOverheadPct the same for capture plus the copy from a view
   * @param loupeOverTorch median over rounds of plain / torch
   * @param captureCpuOverheadPct median over rounds of the process CPU time per pass with capture
   *     over that without, minus one, x 100 (less disturbed by other processes than wall time)
   * @param captureCopyCpuOverheadPct the same for capture plus toFloatArray
   * @param captureViewCpuOverheadPct the same for capture plus the copy from a view
   * @param torchCpuOverLoupeCpu median over rounds of PyTorch's process CPU time per pass over Loupe's
   * @param maxAbsLogitDiff largest |Loupe - PyTorch| over the first batch's output (GPT-2 logits,
   *     BERT last hidden state), NaN when skipped
   * @param hooks residual hooks captured
   */
  public record Result(double plain, double capture, double captureCopy, double captureView, double torch,
      double captureOverheadPct, double captureCopyOverheadPct, double captureViewOverheadPct, double loupeOverTorch,
      double captureCpuOverheadPct, double captureCopyCpuOverheadPct, double captureViewCpuOverheadPct,
      double torchCpuOverLoupeCpu, double maxAbsLogitDiff, int hooks) {
  }

  private ForwardBenchmark() {
  }

  /** Runs {@link Options#defaults()} and prints to stdout. */
  public static void main(String[] args) throws Exception {
    run(Options.defaults(), System.out);
  }

  /** Measures as {@code o} says, printing each round and a summary to {@code out}. */
  public static Result run(Options o, PrintStream out) throws IOException, InterruptedException {
    out.printf("forward benchmark: %s, batch %d x %d tokens, %d warm-up + %d timed passes per variant, %d rounds%n",
        o.model(), o.batch(), o.seq(), o.warmup(), o.passes(), o.rounds());
    out.println("load average at start: " + loadAverage());
    try (LocalModelSession session = LocalModelSession.open(o.model())) {
      int[][] tokens = tokens(o, session.info().vocabSize());
      Set<String> resid = residualHooks(session);
      if (resid.isEmpty()) {
        throw new IllegalArgumentException("model " + o.model() + " has no residual hooks to capture");
      }
      out.printf("capturing %d residual hooks: %s ... %s%n", resid.size(), first(resid), last(resid));
      Path tmp = Files.createTempDirectory("loupe-fwdbench");
      try (TorchProcess torch = TorchProcess.start(o, session, tokens, tmp, out)) {
        double diff = Double.NaN;
        if (torch != null) {
          diff = maxAbsDiff(session, tokens, torch.logits(tmp.resolve("torch-logits.bin")));
          out.printf("output check on the first batch (%s): max |Loupe - PyTorch| = %.3g (%s 1e-4)%n",
              session.model().architecture().equals("bert") ? "last hidden state" : "logits", diff,
              diff <= 1e-4 ? "within" : "NOT within");
          torch.command("warmup " + o.warmup());
        }
        for (int i = 0; i < o.warmup(); i++) {
          for (Copy c : Copy.values()) {
            pass(session, tokens, resid, c);
          }
          pass(session, tokens, Set.of(), Copy.NONE);
        }
        List<double[]> rounds = new ArrayList<>();
        for (int r = 0; r < o.rounds(); r++) {
          // Variant order rotates per round so that no variant always follows the same one.
          // v: tokens/s of no capture, capture, capture + toFloatArray, capture + view copy, PyTorch;
          // then process CPU ms per pass in the same order.
          double[] v = new double[10];
          loupeRound(session, tokens, resid, o.passes(), r, v);
          if (torch == null) {
            v[4] = Double.NaN;
            v[9] = Double.NaN;
          } else {
            JsonNode t = torch.command("round " + o.passes());
            v[4] = t.get("tokens_per_s").asDouble();
            v[9] = t.get("cpu_ms_per_pass").asDouble();
          }
          rounds.add(v);
          out.printf("round %d: Loupe %.0f tok/s, capture %.0f (%+.1f%%), +toFloatArray %.0f (%+.1f%%), "
              + "+view copy %.0f (%+.1f%%)%s; load %s%n", r + 1, v[0], v[1], overhead(v[0], v[1]), v[2],
              overhead(v[0], v[2]), v[3], overhead(v[0], v[3]),
              torch == null ? "" : String.format(", PyTorch %.0f tok/s (Loupe/PyTorch %.2f)", v[4], v[0] / v[4]),
              loadAverage());
          out.printf("  CPU ms/pass: Loupe %.0f, capture %.0f (%+.1f%%), +toFloatArray %.0f (%+.1f%%), "
              + "+view copy %.0f (%+.1f%%)%s%n", v[5], v[6], cpuOverhead(v[5], v[6]), v[7], cpuOverhead(v[5], v[7]),
              v[8], cpuOverhead(v[5], v[8]), torch == null ? "" : String.format(", PyTorch %.0f", v[9]));
        }
        Result res = new Result(median(rounds, v -> v[0]), median(rounds, v -> v[1]), median(rounds, v -> v[2]),
            median(rounds, v -> v[3]), median(rounds, v -> v[4]), median(rounds, v -> overhead(v[0], v[1])),
            median(rounds, v -> overhead(v[0], v[2])), median(rounds, v -> overhead(v[0], v[3])),
            median(rounds, v -> v[0] / v[4]), median(rounds, v -> cpuOverhead(v[5], v[6])),
            median(rounds, v -> cpuOverhead(v[5], v[7])), median(rounds, v -> cpuOverhead(v[5], v[8])),
            median(rounds, v -> v[9] / v[5]), diff, resid.size());
        out.printf("median of %d rounds: Loupe %.0f tokens/s; capture %.0f (overhead %.1f%%); capture+toFloatArray "
            + "%.0f (overhead %.1f%%); capture+view copy %.0f (overhead %.1f%%)%n", o.rounds(), res.plain(),
            res.capture(), res.captureOverheadPct(), res.captureCopy(), res.captureCopyOverheadPct(),
            res.captureView(), res.captureViewOverheadPct());
        out.printf("CPU-time overhead (median): capture %.1f%%, capture+toFloatArray %.1f%%, capture+view copy %.1f%%%n",
            res.captureCpuOverheadPct(), res.captureCopyCpuOverheadPct(), res.captureViewCpuOverheadPct());
        if (torch != null) {
          out.printf("median PyTorch eager %.0f tokens/s; Loupe/PyTorch %.2f (median of per-round ratios)%n",
              res.torch(), res.loupeOverTorch());
          out.printf("CPU time per pass, PyTorch/Loupe %.2f (median of per-round ratios)%n", res.torchCpuOverLoupeCpu());
        }
        out.println("load average at end: " + loadAverage());
        return res;
      } finally {
        deleteTree(tmp);
      }
    }
  }

  /** Positive overhead means slower: the no-capture throughput over the variant's, minus one. */
  private static double overhead(double plain, double variant) {
    return (plain / variant - 1) * 100;
  }

  private static double cpuOverhead(double plainMs, double variantMs) {
    return (variantMs / plainMs - 1) * 100;
  }

  /** How captured activations are brought to the Java heap after a pass. */
  private enum Copy {
    /** Left in native memory (freed when the result closes). */
    NONE,
    /** {@code NDArray.toFloatArray()}: libtorch copies into a new direct buffer, then into a new float[]. */
    TO_FLOAT_ARRAY,
    /** A new float[] filled from {@code toByteBuffer(true)}, a view of the tensor's own memory. */
    VIEW
  }

  /**
   * One round of the four Loupe variants, interleaved pass by pass (order rotating) so that a
   * burst of load from other processes falls on all of them alike. Fills {@code v[0..3]} with
   * tokens/s and {@code v[5..8]} with process CPU ms per pass.
   */
  private static void loupeRound(LocalModelSession s, int[][] tokens, Set<String> resid, int n, int round,
      double[] v) {
    long[] wall = new long[4];
    long[] cpu = new long[4];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < 4; k++) {
        int variant = (k + i + round) % 4;
        long c0 = processCpuNanos();
        long t0 = System.nanoTime();
        if (variant == 0) {
          pass(s, tokens, Set.of(), Copy.NONE);
        } else {
          pass(s, tokens, resid, Copy.values()[variant - 1]);
        }
        wall[variant] += System.nanoTime() - t0;
        cpu[variant] += processCpuNanos() - c0;
      }
    }
    for (int k = 0; k < 4; k++) {
      v[k] = (double) n * tokens.length * tokens[0].length / (wall[k] / 1e9);
      v[5 + k] = cpu[k] / 1e6 / n;
    }
  }

  private static long processCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return 0;
  }

  private static void pass(LocalModelSession s, int[][] tokens, Set<String> hooks, Copy copy) {
    try (RunResult r = s.run(tokens, hooks)) {
      // What a harvester does with each captured hook: bring it to the Java heap, a fresh array
      // per hook because the batches it emits keep their arrays.
      long sink = 0;
      for (String h : hooks) {
        NDArray a = r.activation(h);
        if (copy == Copy.TO_FLOAT_ARRAY) {
          sink += a.toFloatArray().length;
        } else if (copy == Copy.VIEW) {
          FloatBuffer view = a.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
          float[] values = new float[view.remaining()];
          view.get(values);
          sink += values.length;
        }
      }
      if (copy != Copy.NONE && sink == 0) {
        throw new IllegalStateException("captured activations were empty");
      }
    }
  }

  private static double maxAbsDiff(LocalModelSession s, int[][] tokens, float[] torchLogits) {
    try (RunResult r = s.run(tokens, Set.of())) {
      float[] loupe = r.output().toFloatArray();
      if (loupe.length != torchLogits.length) {
        throw new IllegalStateException("PyTorch output has " + torchLogits.length + " values, Loupe's "
            + loupe.length + "; the two forwards disagree on the output shape");
      }
      double max = 0;
      for (int i = 0; i < loupe.length; i++) {
        max = Math.max(max, Math.abs(loupe[i] - torchLogits[i]));
      }
      return max;
    }
  }

  private static int[][] tokens(Options o, int vocab) {
    Random random = new Random(0);
    int[][] t = new int[o.batch()][o.seq()];
    for (int[] row : t) {
      for (int i = 0; i < row.length; i++) {
        row[i] = random.nextInt(vocab);
      }
    }
    return t;
  }

  private static Set<String> residualHooks(LocalModelSession s) {
    Set<String> resid = new TreeSet<>(Comparator.comparing(ForwardBenchmark::hookOrder));
    for (String h : s.info().hookNames()) {
      if (h.startsWith("blocks.") && HookPoint.parse(h).isResidual()) {
        resid.add(h);
      }
    }
    return resid;
  }

  private static String hookOrder(String h) {
    // Layer, then pre < mid < post, so the printed range reads first to last.
    String[] parts = h.split("\\.", 3);
    int stage = parts[2].endsWith("_pre") ? 0 : parts[2].endsWith("_mid") ? 1 : 2;
    return String.format("%05d.%d.%s", Integer.parseInt(parts[1]), stage, parts[2]);
  }

  private static String first(Set<String> s) {
    return s.iterator().next();
  }

  private static String last(Set<String> s) {
    return s.stream().reduce((a, b) -> b).orElseThrow();
  }

  private interface Figure {
    double of(double[] round);
  }

  private static double median(List<double[]> rounds, Figure f) {
    double[] v = rounds.stream().mapToDouble(f::of).sorted().toArray();
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return String.format("%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The Python child running torch_forward.py; one JSON answer per command line. */
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

    /** Null (after saying why) when there is no such interpreter or it has no torch. */
    static TorchProcess start(Options o, LocalModelSession s, int[][] tokens, Path tmp, PrintStream out)
        throws IOException, InterruptedException {
      if (o.python() == null) {
        out.println("PyTorch comparison skipped (no Python interpreter given)");
        return null;
      }
      if (!Files.isExecutable(Path.of(o.python()))) {
        out.println("PyTorch comparison skipped: " + o.python() + " is not an executable file");
        return null;
      }
      if (!TORCH_ARCHITECTURES.contains(s.model().architecture())) {
        out.println("PyTorch comparison skipped: torch_forward.py implements gpt2 and bert only, and " + o.model()
            + " is " + s.model().architecture());
        return null;
      }
      Path modelDir = tmp.resolve("model");
      try {
        s.model().saveHfDirectory(modelDir, s.tokenizer());
      } catch (UnsupportedOperationException | IllegalArgumentException e) {
        out.println("PyTorch comparison skipped: " + o.model() + " cannot be saved as a Hugging Face directory ("
            + e.getMessage() + ")");
        return null;
      }
      Path tokensFile = tmp.resolve("tokens.json");
      JSON.writeValue(tokensFile.toFile(), tokens);
      Path script = tmp.resolve(SCRIPT);
      try (InputStream res = ForwardBenchmark.class.getResourceAsStream(SCRIPT)) {
        if (res == null) {
          throw new IllegalStateException("resource dev/loupe/core/bench/" + SCRIPT + " is missing from the classpath");
        }
        Files.copy(res, script, StandardCopyOption.REPLACE_EXISTING);
      }
      Path err = tmp.resolve("torch.stderr");
      Process p = new ProcessBuilder(o.python(), script.toString(), modelDir.toString(), tokensFile.toString())
          .redirectError(err.toFile()).start();
      TorchProcess t = new TorchProcess(p, err);
      JsonNode ready;
      try {
        ready = t.read();
      } catch (IOException e) {
        t.close();
        out.println("PyTorch comparison skipped: " + e.getMessage());
        return null;
      }
      out.printf("PyTorch %s eager, %d threads, OMP_WAIT_POLICY=%s (Python child: %s)%n", ready.get("torch").asText(),
          ready.get("threads").asInt(), System.getenv().getOrDefault("OMP_WAIT_POLICY", "unset"), o.python());
      return t;
    }

    float[] logits(Path file) throws IOException {
      command("logits " + file);
      byte[] bytes = Files.readAllBytes(file);
      float[] f = new float[bytes.length / 4];
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
      return f;
    }

    JsonNode command(String line) throws IOException {
      in.write(line + "\n");
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
