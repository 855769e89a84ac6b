package dev.loupe.it.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.cli.LoupeCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe demo} and a {@code loupe job} reading a model input, in-process with the built
 * activation-stats plugin: the model, streams, jobs and stores all run for real.
 */
class DemoCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  /** The shipped dataset definitions, as an installation has them under its home. */
  @org.junit.jupiter.api.BeforeEach
  void installDatasets() throws Exception {
    Path dir = Files.createDirectories(home.resolve("config/datasets"));
    Files.copy(PluginFixtures.repoRoot().resolve("config/datasets/europarl.yaml"), dir.resolve("europarl.yaml"));
  }

  private int loupe(String... args) {
    List<String> all = new ArrayList<>(List.of("--home", home.toString(),
        "--plugins-dir", PluginFixtures.builtPluginsDir().toString()));
    all.addAll(List.of(args));
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), all.toArray(String[]::new));
  }

  @Test
  @Timeout(60)
  void theDemoWritesAReportCoveringEveryLayer() throws Exception {
    Path runDir = home.resolve("demo");

    int code = loupe("demo", "--tokens", "3000", "--out", runDir.toString());

    assertThat(code).as(err.toString()).isZero();
    Path report = runDir.resolve("report.html");
    assertThat(report).isRegularFile();
    String html = Files.readString(report);
    for (int layer = 0; layer < 4; layer++) {
      String hook = "blocks." + layer + ".hook_resid_post";
      assertThat(html).contains(hook);
      assertThat(out.toString()).containsPattern(hook.replace(".", "\\.") + " +3,000 ");
      JsonNode stats = JSON.readTree(runDir.resolve("jobs/activation-stats-blocks-" + layer + "-hook_resid_post")
          .resolve("results/stats.json").toFile());
      assertThat(stats.get("rows").asLong()).as(hook).isEqualTo(3000);
      assertThat(runDir.resolve("stores").resolve(hook).resolve("manifest.json")).isRegularFile();
    }
    assertThat(out.toString()).contains("report: " + report).contains("3,000 Europarl tokens")
        .contains("sparse autoencoder on blocks.2.hook_resid_post: TopK k=16, 768 latents");
    assertThat(html).contains("Sparse autoencoder on <code>blocks.2.hook_resid_post</code>");
    JsonNode sae = JSON.readTree(runDir.resolve("jobs/sae-blocks-2-hook_resid_post/results/summary.json").toFile());
    assertThat(sae.get("eval_rows").asLong()).isEqualTo(300);
    assertThat(sae.get("eval_l0").asDouble()).isLessThanOrEqualTo(16.0);
    assertThat(runDir.resolve("jobs/sae-blocks-2-hook_resid_post/sae/sae_weights.safetensors")).isRegularFile();
    // the sae plugin's plots, shown in the report
    assertThat(runDir.resolve("jobs/sae-blocks-2-hook_resid_post/plots/density.png")).isRegularFile();
    assertThat(html).contains("src=\"jobs/sae-blocks-2-hook_resid_post/plots/density.png\"");
    // 3,000 tokens are too few for language neurons: said, and the demo goes on
    assertThat(err.toString()).contains("language neurons skipped: too few tokens (3,000)");
    // demo against its French fine-tune, on the same tokens
    assertThat(out.toString()).containsPattern("crosscoder demo vs demo-ft on blocks\\.2\\.hook_resid_post: 768 latents");
    assertThat(html).contains("Model diff: <code>demo</code> vs <code>demo-ft</code>");
    JsonNode cc = JSON.readTree(runDir.resolve("jobs/crosscoder-demo-vs-demo-ft/results/summary.json").toFile());
    assertThat(cc.get("sources").get(1).asText()).startsWith("demo-ft: demo-ft blocks.2.hook_resid_post");
    assertThat(err.toString()).doesNotContain("\tat ");
  }

  @Test
  @Timeout(180)
  void theDemoFindsLanguageNeuronsWithEnoughTokens() throws Exception {
    Path runDir = home.resolve("demo-neurons");

    int code = loupe("demo", "--tokens", "20000", "--no-sae", "--no-crosscoder", "--out", runDir.toString());

    assertThat(code).as(err.toString()).isZero();
    // every family the tokens allow is scored, the rest are named
    assertThat(out.toString()).contains("language neurons in the MLPs (3072 neurons, 20,000 tokens");
    String html = Files.readString(runDir.resolve("report.html"));
    assertThat(html).contains("<h2>Language neurons</h2>").contains("jobs/neurons-languages/report.md");
    JsonNode neurons = JSON.readTree(runDir.resolve("jobs/neurons-languages/results/summary.json").toFile());
    assertThat(neurons.get("neurons").asInt()).isEqualTo(3072);
    assertThat(neurons.get("families_scored").asInt()).isPositive();
    assertThat(neurons.get("families_scored").asInt() + neurons.get("families_skipped").size()).isEqualTo(5);
    JsonNode families = JSON.readTree(runDir.resolve("jobs/neurons-languages/results/families.json").toFile());
    for (JsonNode f : families) {
      // French on demo: better than calling every row French (F1 2/3 on balanced rows), on held-out documents
      if (f.get("family").asText().equals("french")) {
        assertThat(f.get("best").get("auc").asDouble()).isGreaterThan(0.6);
        assertThat(out.toString()).containsPattern("french +best neuron L\\d\\.N\\d+ +F1 0\\.\\d{3}");
      }
    }
  }

  /**
   * {@code --serve}: after the demo, the same node serves its jobs and model session over HTTP until
   * the JVM is asked to stop (SIGTERM, as Ctrl-C), and then exits cleanly.
   */
  @Test
  @Timeout(150)
  void theDemoServesItsResultsUntilStopped() throws Exception {
    Path runDir = home.resolve("served");
    Path log = home.resolve("served.log");
    Process p = childDemo(log, List.of(), "--tokens", "3000", "--no-crosscoder", "--no-neurons", "--out",
        runDir.toString(), "--serve", "--port", "0");
    try {
      String url = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(110);
      while (url == null && System.nanoTime() < deadline && p.isAlive()) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("web UI on the demo's results: (http://\\S+/)")
            .matcher(Files.readString(log));
        if (m.find()) {
          url = m.group(1);
        } else {
          Thread.sleep(250);
        }
      }
      assertThat(url).as("no web UI line:%n%s", Files.readString(log)).isNotNull();
      String text = Files.readString(log);
      assertThat(text).contains("report: " + runDir.resolve("report.html")).contains("#/sessions/").contains("#/coders")
          .doesNotContain("#/jobs/neurons-languages").doesNotContain("#/jobs/crosscoder-demo-vs-demo-ft/diff");
      java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
          .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
      java.net.http.HttpResponse<String> jobs = client.send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create(url + "api/jobs")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(jobs.statusCode()).isEqualTo(200);
      assertThat(jobs.body()).contains("sae-blocks-2-hook_resid_post").contains("activation-stats-blocks-0-hook_resid_post")
          .contains("SUCCEEDED");
      java.net.http.HttpResponse<String> page = client.send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create(url)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).containsIgnoringCase("<html").contains("Loupe");
      assertThat(p.isAlive()).isTrue();
      p.destroy(); // SIGTERM: the shutdown hook lets the demo close its node
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(Files.readString(log)).isTrue();
    } finally {
      p.destroyForcibly();
    }
  }

  /** {@code loupe demo ARGS} in a child JVM (with {@code jvmArgs}), its output into {@code log}. */
  private Process childDemo(Path log, List<String> jvmArgs, String... args) throws java.io.IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Dai.djl.offline=true");
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-Dloupe.log.dir=" + home, "-cp", System.getProperty("java.class.path"),
        LoupeCli.class.getName(), "--home", home.toString(), "--plugins-dir",
        PluginFixtures.builtPluginsDir().toString(), "demo"));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  @Test
  void portWithoutServeIsAUsageError() {
    assertThat(loupe("demo", "--port", "7071")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("--port", "--serve");
  }

  /**
   * Six layers, so six analysis jobs and six store writers all reading one harvest at once, in a
   * JVM whose common pool has two threads (as on a three-core machine): nothing may queue.
   */
  @Test
  @Timeout(90)
  void theDemoFinishesWhenLayersOutnumberThreadsAndWorkers() throws Exception {
    Path runDir = home.resolve("demo6");
    Path log = home.resolve("demo6.log");
    Process p = childDemo(log, List.of("-Djava.util.concurrent.ForkJoinPool.common.parallelism=2"), "--model",
        "random-gpt2:6x64", "--tokens", "3000", "--out", runDir.toString());
    try {
      boolean ended = p.waitFor(75, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(ended).as("demo still running after 75 s:%n%s", Files.readString(log)).isTrue();
      assertThat(p.exitValue()).as(Files.readString(log)).isZero();
    } finally {
      p.destroyForcibly();
    }
    String html = Files.readString(runDir.resolve("report.html"));
    for (int layer = 0; layer < 6; layer++) {
      assertThat(html).contains("blocks." + layer + ".hook_resid_post");
    }
  }

  @Test
  @Timeout(60)
  void aJobFileWithAModelInputHarvestsExactlyItsTokens() throws Exception {
    Path corpus = Files.writeString(home.resolve("corpus.txt"), "The committee met on Tuesday.\n\n".repeat(200));
    Path job = Files.writeString(home.resolve("job.yaml"), "config:\n  bins: 10\ninputs:\n  main:\n    model:\n"
        + "      model: tiny\n      corpus: " + corpus + "\n      hook: blocks.2.hook_mlp_out\n"
        + "      tokens: 2000\n      ctx: 64\n");
    Path runs = home.resolve("runs");

    int code = loupe("job", "activation-stats", "--config", job.toString(), "--run-dir", runs.toString(),
        "--job-id", "from-model");

    assertThat(code).as(err.toString()).isZero();
    JsonNode stats = JSON.readTree(runs.resolve("from-model/results/stats.json").toFile());
    assertThat(stats.get("rows").asLong()).isEqualTo(2000);
  }

  @Test
  void aModelInputWithAnUnknownHookExitsWith2NamingTheField() throws Exception {
    Path job = Files.writeString(home.resolve("job.yaml"), "inputs:\n  main:\n    model:\n"
        + "      model: tiny\n      hook: blocks.8.hook_resid_post\n");

    int code = loupe("job", "activation-stats", "--config", job.toString(), "--run-dir", home.resolve("runs").toString());

    assertThat(code).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("inputs.main.model.hook").contains("blocks.8.hook_resid_post")
        .doesNotContain("\tat ");
    assertThat(home.resolve("runs")).doesNotExist();
  }
}
