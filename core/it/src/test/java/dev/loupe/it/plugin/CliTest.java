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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe plugins} and {@code loupe job} run in-process against the built plugin zips. */
class CliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int loupe(String... args) {
    List<String> all = new ArrayList<>(List.of("--home", home.toString(),
        "--plugins-dir", PluginFixtures.builtPluginsDir().toString()));
    all.addAll(List.of(args));
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), all.toArray(String[]::new));
  }

  private Path jobFile(String config) throws Exception {
    Path f = home.resolve("job.yaml");
    Files.writeString(f, "config:\n" + config + "inputs:\n  main:\n    synthetic: {rows: 3000, width: 16, seed: 5}\n");
    return f;
  }

  @Test
  void pluginsJsonListsTheMethodWithItsOptions() throws Exception {
    assertThat(loupe("plugins", "--json")).isZero();

    JsonNode doc = JSON.readTree(out.toString());
    JsonNode method = null;
    for (JsonNode m : doc.get("methods")) {
      if (m.get("id").asText().equals("activation-stats")) {
        method = m;
      }
    }
    assertThat(method).as(out.toString()).isNotNull();
    assertThat(method.at("/plugin/version").asText()).isEqualTo("0.1.0");
    assertThat(method.get("inputs").get(0).asText()).isEqualTo("main");
    assertThat(method.get("options").get(0).get("summary").asText())
        .startsWith("bins (int, default 50, 1..10000)");
  }

  @Test
  void pluginsReportsBrokenPluginsAndStillSucceeds() throws Exception {
    Path broken = Files.createDirectories(home.resolve("broken"));
    PluginFixtures.garbageManifestZip(broken.resolve("garbage.zip"));

    assertThat(loupe("--plugins-dir", broken.toString(), "plugins")).isZero();

    assertThat(out.toString()).contains("activation-stats").contains("failed to load (1)").contains("garbage.zip");
  }

  @Test
  void aJobRunsToTheEndAndEmitsJsonEvents() throws Exception {
    Path runs = home.resolve("runs");
    int code = loupe("job", "activation-stats", "--config", jobFile("  bins: 10\n").toString(),
        "--run-dir", runs.toString(), "--json", "--job-id", "stats-1");

    assertThat(code).as(err.toString()).isZero();
    List<JsonNode> events = new ArrayList<>();
    for (String line : out.toString().split("\n")) {
      events.add(JSON.readTree(line));
    }
    assertThat(events).extracting(e -> e.get("event").asText()).contains("progress", "metrics", "result", "status");
    JsonNode last = events.get(events.size() - 1);
    assertThat(last.get("state").asText()).isEqualTo("SUCCEEDED");
    JsonNode stats = JSON.readTree(runs.resolve("stats-1/results/stats.json").toFile());
    assertThat(stats.get("rows").asInt()).isEqualTo(3000);
    assertThat(stats.at("/norm_histogram/counts")).hasSize(10);
  }

  @Test
  void anUnknownConfigKeyExitsWith2AndNamesIt() throws Exception {
    int code = loupe("job", "activation-stats", "--config", jobFile("  binz: 10\n").toString(),
        "--run-dir", home.resolve("runs").toString());

    assertThat(code).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("'binz'").contains("unknown key").doesNotContain("\tat ");
    assertThat(home.resolve("runs")).doesNotExist();
  }

  @Test
  void aSetOverrideIsValidatedToo() throws Exception {
    int code = loupe("job", "activation-stats", "--config", jobFile("  bins: 10\n").toString(), "--set", "bins=-3");

    assertThat(code).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("'bins'");
  }
}
