package dev.loupe.it.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobManager;
import dev.loupe.core.job.JobRequest;
import dev.loupe.core.job.JobState;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.job.SyntheticSource;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.core.plugin.PluginHost;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pf4j.PluginClassLoader;

/** The activation-stats plugin as the build packaged it: loaded from its zip and run as a job. */
class BuiltPluginTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int ROWS = 5000;
  private static final int WIDTH = 24;

  @TempDir
  static Path extract;

  private static PluginHost host;

  @BeforeAll
  static void load() throws Exception {
    Path zips = Files.createDirectories(extract.resolve("plugins"));
    Files.copy(PluginFixtures.activationStatsZip(), zips.resolve("activation-stats.zip"));
    host = PluginHost.builder().pluginDir(zips).extractDir(extract.resolve("expanded")).build();
  }

  @AfterAll
  static void close() {
    host.close();
  }

  private static SyntheticSource input() {
    return new SyntheticSource("blocks.1.hook_resid_post", ROWS, WIDTH, 11, 128, 0.5, 2.0);
  }

  @Test
  void theZipLoadsInItsOwnClassLoader() {
    assertThat(host.failures()).isEmpty();
    MethodEntry e = host.method("activation-stats");

    assertThat(e.pluginId()).isEqualTo("activation-stats");
    assertThat(e.pluginVersion()).isEqualTo("0.1.0");
    assertThat(e.info().inputs()).containsExactly("main");
    assertThat(e.method().getClass().getClassLoader())
        .isInstanceOf(PluginClassLoader.class)
        .isNotSameAs(ClassLoader.getSystemClassLoader())
        .isNotSameAs(getClass().getClassLoader());
    // The plugin is not on this module's class path: only the zip provides it.
    assertThatThrownBy(() -> Class.forName("dev.loupe.samples.stats.ActivationStatsMethod"))
        .isInstanceOf(ClassNotFoundException.class);
  }

  @Test
  void aJobComputesTheSameStatisticsAsADirectComputation() throws Exception {
    JobStatus end;
    try (JobManager jobs = new JobManager(host, extract.resolve("runs"), 1)) {
      JobHandle job = jobs.start(JobRequest.builder("activation-stats").set("bins", 20).set("top_dims", 5)
          .input("main", input()).build());
      end = job.completion().get(30, TimeUnit.SECONDS);
    }
    assertThat(end.state()).as(String.valueOf(end.message())).isEqualTo(JobState.SUCCEEDED);
    JsonNode stats = JSON.readTree(end.artifactDir().resolve("results/stats.json").toFile());

    // Direct two-pass computation over the same deterministic rows.
    List<float[]> rows = new ArrayList<>();
    SyntheticSource again = input();
    for (ActivationBatch b = again.next(); b != null; b = again.next()) {
      for (int r = 0; r < b.rows(); r++) {
        rows.add(b.row(r));
      }
    }
    double[] mean = new double[WIDTH];
    for (float[] r : rows) {
      for (int d = 0; d < WIDTH; d++) {
        mean[d] += r[d] / (double) ROWS;
      }
    }
    double[] var = new double[WIDTH];
    double[] norms = new double[ROWS];
    for (int i = 0; i < ROWS; i++) {
      double ss = 0;
      for (int d = 0; d < WIDTH; d++) {
        double e = rows.get(i)[d] - mean[d];
        var[d] += e * e / ROWS;
        ss += (double) rows.get(i)[d] * rows.get(i)[d];
      }
      norms[i] = Math.sqrt(ss);
    }

    assertThat(stats.get("rows").asLong()).isEqualTo(ROWS);
    assertThat(stats.get("width").asInt()).isEqualTo(WIDTH);
    for (int d = 0; d < WIDTH; d++) {
      assertThat(stats.get("mean").get(d).asDouble()).isCloseTo(mean[d], within(1e-9));
      assertThat(stats.get("variance").get(d).asDouble()).isCloseTo(var[d], within(1e-9));
    }
    double meanNorm = java.util.Arrays.stream(norms).average().orElseThrow();
    double min = java.util.Arrays.stream(norms).min().orElseThrow();
    double max = java.util.Arrays.stream(norms).max().orElseThrow();
    assertThat(stats.get("mean_norm").asDouble()).isCloseTo(meanNorm, within(1e-9));
    JsonNode hist = stats.get("norm_histogram");
    assertThat(hist.get("edges")).hasSize(21);
    assertThat(hist.get("edges").get(0).asDouble()).isCloseTo(min, within(1e-9));
    assertThat(hist.get("edges").get(20).asDouble()).isCloseTo(max, within(1e-9));
    long[] direct = new long[20];
    for (double n : norms) {
      direct[Math.min(19, (int) ((n - min) / (max - min) * 20))]++;
    }
    long total = 0;
    for (int b = 0; b < 20; b++) {
      long c = hist.get("counts").get(b).asLong();
      total += c;
      // The plugin keeps norms as float32; a row on a bin edge may land one bin over.
      assertThat(c).isCloseTo(direct[b], within(2L));
    }
    assertThat(total).isEqualTo(ROWS);
    int top = stats.get("top_variance_dims").get(0).get("dim").asInt();
    int argmax = 0;
    for (int d = 1; d < WIDTH; d++) {
      argmax = var[d] > var[argmax] ? d : argmax;
    }
    assertThat(top).isEqualTo(argmax);
    assertThat(Files.readString(end.artifactDir().resolve("report.md"))).contains("- rows: 5000");
    assertThat(Files.readAllLines(end.artifactDir().resolve("metrics.jsonl"))).isNotEmpty();
  }

  @Test
  void thePluginModuleLoadsInDevelopmentModeFromTargetClasses() {
    Path module = PluginFixtures.repoRoot().resolve("sample-plugins/activation-stats");
    try (PluginHost dev = PluginHost.builder().developmentPlugin(module).extractDir(extract.resolve("dev")).build()) {
      assertThat(dev.failures()).isEmpty();
      MethodEntry e = dev.method("activation-stats");
      assertThat(e.pluginPath()).isEqualTo(module);
      assertThat(e.method().getClass().getClassLoader()).isInstanceOf(PluginClassLoader.class);
    }
  }

  @Test
  void theMethodsSchemaRejectsABadConfigBeforeTheJobStarts() {
    try (JobManager jobs = new JobManager(host, extract.resolve("runs-bad"), 1)) {
      assertThatThrownBy(() -> jobs.start(JobRequest.builder("activation-stats").set("bins", 0)
          .input("main", input()).build()))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("'bins'");
      assertThat(extract.resolve("runs-bad")).doesNotExist();
    }
  }
}
