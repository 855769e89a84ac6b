package dev.loupe.sdk.probe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.sdk.io.Npy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Times Loupe's logistic regression against scikit-learn's on identical synthetic probing problems
 * (written as .npy so both read the same float32 values), for docs/BENCHMARKS.md and the agreement
 * test. Run {@code main} with an optional python path (default /usr/bin/python3) and work folder.
 */
public final class ProbeBenchmark {
  private ProbeBenchmark() {
  }

  /** A train/test split of one problem. */
  public record Dataset(String name, FeatureMatrix trainX, int[] trainY, FeatureMatrix testX, int[] testY,
      int classes) {
  }

  /**
   * One engine's fit: wall seconds of the fit alone, solver iterations, the objective reached
   * ({@code 0.5 * ||W||^2 + C * sum logloss}) and accuracies.
   */
  public record Timing(String engine, String problem, double seconds, int iterations, double objective,
      double trainAccuracy, double testAccuracy) {
  }

  /** scikit-learn's fitted parameters and timing, as its script reported them. */
  public record SklearnFit(double[][] coefficients, double[] intercepts, Timing timing, String version) {
  }

  /**
   * Binary problem like a neuron probe: {@code d} correlated features (a shared low-rank component plus
   * noise) and labels from a noisy linear rule; {@code n} training and {@code n / 4} test rows.
   */
  public static Dataset binary(int n, int d, long seed) {
    Random r = new Random(seed);
    double[] w = gaussian(r, d, 1.0 / Math.sqrt(d));
    int rank = Math.max(1, d / 16);
    double[][] basis = new double[rank][];
    for (int q = 0; q < rank; q++) {
      basis[q] = gaussian(r, d, 1.0);
    }
    int total = n + n / 4;
    float[] x = new float[Math.multiplyExact(total, d)];
    int[] y = new int[total];
    double[] latent = new double[rank];
    for (int i = 0; i < total; i++) {
      for (int q = 0; q < rank; q++) {
        latent[q] = r.nextGaussian() * 0.5;
      }
      double z = 0.2;
      for (int j = 0; j < d; j++) {
        double v = r.nextGaussian();
        for (int q = 0; q < rank; q++) {
          v += latent[q] * basis[q][j];
        }
        x[i * d + j] = (float) v;
        z += w[j] * (float) v;
      }
      y[i] = z + 0.5 * r.nextGaussian() > 0 ? 1 : 0;
    }
    return split("binary " + n + "x" + d, x, y, n, d, 2);
  }

  /** {@code k} Gaussian classes in {@code d} dimensions with overlapping clusters. */
  public static Dataset multinomial(int n, int d, int k, long seed) {
    Random r = new Random(seed);
    double[][] centres = new double[k][];
    for (int c = 0; c < k; c++) {
      centres[c] = gaussian(r, d, 3.0 / Math.sqrt(d));
    }
    int total = n + n / 4;
    float[] x = new float[Math.multiplyExact(total, d)];
    int[] y = new int[total];
    for (int i = 0; i < total; i++) {
      y[i] = r.nextInt(k);
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (float) (centres[y[i]][j] + r.nextGaussian());
      }
    }
    // Every class must occur in training for the fit; with n >> k it does, checked by the fitter.
    return split("multinomial " + n + "x" + d + " " + k + " classes", x, y, n, d, k);
  }

  private static double[] gaussian(Random r, int d, double scale) {
    double[] v = new double[d];
    for (int j = 0; j < d; j++) {
      v[j] = r.nextGaussian() * scale;
    }
    return v;
  }

  private static Dataset split(String name, float[] x, int[] y, int n, int d, int classes) {
    int total = y.length;
    FeatureMatrix all = FeatureMatrix.of(x, total, d);
    int[] train = FeatureMatrix.identity(n);
    int[] test = new int[total - n];
    for (int i = 0; i < test.length; i++) {
      test[i] = n + i;
    }
    return new Dataset(name, all.select(train, null), ProbeInputs.pick(y, train), all.select(test, null),
        ProbeInputs.pick(y, test), classes);
  }

  /** Fits {@code probe} on the training split and times the fit. */
  public static Timing timeLoupe(Dataset data, LogisticRegression probe) {
    long t0 = System.nanoTime();
    LogisticModel model = probe.fit(data.trainX(), data.trainY());
    double seconds = (System.nanoTime() - t0) / 1e9;
    return new Timing("loupe", data.name(), seconds, model.report().iterations(), model.report().objective(),
        accuracy(model, data.trainX(), data.trainY(), data.classes()),
        accuracy(model, data.testX(), data.testY(), data.classes()));
  }

  static double accuracy(LogisticModel model, FeatureMatrix x, int[] y, int classes) {
    return ConfusionMatrix.of(y, model.predict(x), classes).accuracy();
  }

  /** Writes X_train.npy, y_train.npy, X_test.npy and y_test.npy (float32) into {@code folder}. */
  public static void writeNpy(Dataset data, Path folder) throws IOException {
    Files.createDirectories(folder);
    Npy.writeFloats(folder.resolve("X_train.npy"), data.trainX().values(), data.trainX().rows(), data.trainX().cols());
    Npy.writeFloats(folder.resolve("y_train.npy"), toFloats(data.trainY()), data.trainY().length);
    Npy.writeFloats(folder.resolve("X_test.npy"), data.testX().values(), data.testX().rows(), data.testX().cols());
    Npy.writeFloats(folder.resolve("y_test.npy"), toFloats(data.testY()), data.testY().length);
  }

  private static float[] toFloats(int[] v) {
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = v[i];
    }
    return out;
  }

  /**
   * Runs the bundled sklearn_logistic.py with {@code python} on the files in {@code folder} (see
   * {@link #writeNpy}) and reads its sklearn.json.
   *
   * @throws IOException when python fails (its output is in the message) or runs past the timeout
   */
  public static SklearnFit runSklearn(Path python, Path folder, String problem, double c, double tol, int maxIter,
      long timeoutSeconds) throws IOException, InterruptedException {
    Path script = folder.resolve("sklearn_logistic.py");
    try (InputStream in = ProbeBenchmark.class.getResourceAsStream("sklearn_logistic.py")) {
      if (in == null) {
        throw new IOException("sklearn_logistic.py: resource missing from the SDK jar");
      }
      Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
    }
    Path log = folder.resolve("sklearn.log");
    Process p = new ProcessBuilder(python.toString(), script.toString(), folder.toString(), Double.toString(c),
        Double.toString(tol), Integer.toString(maxIter))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(python + " " + script + ": no result within " + timeoutSeconds + " s");
    }
    if (p.exitValue() != 0) {
      throw new IOException(python + " " + script + " exited " + p.exitValue() + ": "
          + Files.readString(log, StandardCharsets.UTF_8));
    }
    JsonNode json = new ObjectMapper().readTree(folder.resolve("sklearn.json").toFile());
    JsonNode coef = json.get("coefficients");
    double[][] w = new double[coef.size()][];
    for (int o = 0; o < w.length; o++) {
      w[o] = new double[coef.get(o).size()];
      for (int j = 0; j < w[o].length; j++) {
        w[o][j] = coef.get(o).get(j).asDouble();
      }
    }
    JsonNode b = json.get("intercepts");
    double[] intercepts = new double[b.size()];
    for (int o = 0; o < intercepts.length; o++) {
      intercepts[o] = b.get(o).asDouble();
    }
    Timing t = new Timing("sklearn", problem, json.get("seconds").asDouble(), json.get("iterations").asInt(),
        json.get("objective").asDouble(),
        json.get("train_accuracy").asDouble(), json.get("test_accuracy").asDouble());
    return new SklearnFit(w, intercepts, t, json.get("sklearn").asText());
  }

  /** One problem's back-to-back round: Loupe's fit, then scikit-learn's on the same files. */
  public record Round(Timing loupe, Timing sklearn) {
    /** scikit-learn's fit time over Loupe's (above 1: Loupe is faster). */
    public double ratio() {
      return sklearn.seconds() / loupe.seconds();
    }
  }

  /**
   * The default problems: a probes-job-sized binary problem (2,000 x 192: one dataset at one layer of
   * {@code demo}), a neuron-sized one (20,000 x 768) and a 21-class language-like one (20,000 x 192).
   */
  public static Dataset[] defaultProblems() {
    return new Dataset[] {binary(2_000, 192, 3), binary(20_000, 768, 1), multinomial(20_000, 192, 21, 2)};
  }

  /**
   * Times both engines on each problem, {@code rounds} times back to back (Loupe first, after one
   * untimed Loupe fit to warm the JIT), with C = 1, tol = 1e-4, at most 1000 iterations; progress
   * lines go to {@code log}.
   */
  public static java.util.List<Round> run(Path python, Path work, Dataset[] problems, int rounds,
      java.io.PrintWriter log) throws IOException, InterruptedException {
    double c = 1.0;
    double tol = 1e-4;
    int maxIter = 1000;
    LogisticRegression probe = LogisticRegression.builder().c(c).tolerance(tol).maxIterations(maxIter).build();
    java.util.List<Round> out = new java.util.ArrayList<>();
    for (Dataset data : problems) {
      Path folder = work.resolve(data.name().replaceAll("[^A-Za-z0-9]+", "-"));
      writeNpy(data, folder);
      timeLoupe(data, probe); // JIT warm-up
      for (int rep = 0; rep < rounds; rep++) {
        Timing ours = timeLoupe(data, probe);
        Timing theirs = runSklearn(python, folder, data.name(), c, tol, maxIter, 1800).timing();
        log.println(format(ours));
        log.println(format(theirs));
        log.flush();
        out.add(new Round(ours, theirs));
      }
    }
    return out;
  }

  /** A Markdown table of the rounds: times, iterations, test accuracies and the time ratio. */
  public static String table(java.util.List<Round> rounds) {
    StringBuilder b = new StringBuilder("| problem | Loupe s (iterations) | scikit-learn s (iterations) "
        + "| sklearn / Loupe time | test accuracy Loupe / sklearn | objective Loupe / sklearn |\n"
        + "|---|---:|---:|---:|---|---|\n");
    for (Round r : rounds) {
      b.append(String.format(Locale.ROOT, "| %s | %.3f (%d) | %.3f (%d) | %.2f | %.4f / %.4f | %.2f / %.2f |%n",
          r.loupe().problem(), r.loupe().seconds(), r.loupe().iterations(), r.sklearn().seconds(),
          r.sklearn().iterations(), r.ratio(), r.loupe().testAccuracy(), r.sklearn().testAccuracy(),
          r.loupe().objective(), r.sklearn().objective()));
    }
    return b.toString();
  }

  /** Prints back-to-back timings of both engines. Arguments: [python] [work folder] [rounds]. */
  public static void main(String[] args) throws Exception {
    Path python = Path.of(args.length > 0 ? args[0] : "/usr/bin/python3");
    Path work = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("loupe-probe-bench");
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    java.io.PrintWriter out = new java.io.PrintWriter(System.out, true);
    out.print(table(run(python, work, defaultProblems(), rounds, out)));
    out.flush();
  }

  private static String format(Timing t) {
    return String.format(Locale.ROOT, "%-8s %-34s %8.3f s %5d iterations objective %.4f train %.4f test %.4f",
        t.engine(), t.problem(), t.seconds(), t.iterations(), t.objective(), t.trainAccuracy(), t.testAccuracy());
  }
}
