package dev.loupe.it.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.cli.LoupeCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe job probes} with the built plugin zip on the shipped demo model: two layers read
 * from one harvest, the shipped Europarl dataset definitions, a layer sweep, k-sparse sweeps, a
 * mechanistic probe from the unembedding, and the plots.
 */
class ProbesCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  @Test
  @Timeout(180)
  void probesOnTwoLayersOfTheDemoModel() throws Exception {
    Path datasets = Files.createDirectories(home.resolve("config/datasets"));
    Files.copy(PluginFixtures.repoRoot().resolve("config/datasets/europarl.yaml"), datasets.resolve("europarl.yaml"));
    Path job = Files.writeString(home.resolve("probes.yaml"), """
        config:
          datasets: [french, position, token-class]
          max_per_class: 300
          ks: [1, 4, 16, 64]
          mechanistic:
            - {dataset: french, positive: "é è ç à ê", negative: "w k th"}
        inputs:
          l1: {model: {model: demo, corpus: "europarl:shuffled", hook: blocks.1.hook_resid_post, tokens: 20000}}
          l3: {model: {model: demo, corpus: "europarl:shuffled", hook: blocks.3.hook_resid_post, tokens: 20000}}
        """);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = LoupeCli.run(new PrintWriter(out), new PrintWriter(err), "--home", home.toString(),
        "--plugins-dir", PluginFixtures.builtPluginsDir().toString(),
        "job", "probes", "--config", job.toString(), "--run-dir", home.resolve("runs").toString(), "--job-id", "pr");

    assertThat(code).as(err.toString()).isZero();
    Path dir = home.resolve("runs/pr");
    JsonNode summary = JSON.readTree(dir.resolve("results/summary.json").toFile());
    assertThat(summary.get("rows_read").asLong()).isEqualTo(20000);
    assertThat(summary.get("models").get(0).asText()).isEqualTo("demo");
    assertThat(summary.get("inputs").get(1).get("layer").asInt()).isEqualTo(3);
    JsonNode results = summary.get("results");
    // the token's own class is in the residual stream at every layer; the document's language is well above chance
    for (JsonNode row : results.get("token-class")) {
      assertThat(row.get("test_accuracy").asDouble()).as(row.toString()).isGreaterThan(0.8);
    }
    for (JsonNode row : results.get("french")) {
      assertThat(row.get("test_accuracy").asDouble()).as(row.toString()).isGreaterThan(0.65);
      assertThat(row.get("k_sparse_test_f1").get("f_stat").size()).isEqualTo(4);
    }
    assertThat(summary.get("train_f1_never_falls_with_k").asBoolean()).isTrue();
    assertThat(summary.get("layer_sweep").get("position").get("inputs").size()).isEqualTo(2);
    double auc = summary.get("mechanistic").get(0).get("test_auc").get("l3").asDouble();
    assertThat(auc).isBetween(0.0, 1.0);
    for (String plot : new String[] {"accuracy_vs_layer.png", "accuracy_vs_layer.svg", "f1_vs_k_french.png",
        "f1_vs_k_token-class.svg", "mechanistic_auc_vs_layer.png"}) {
      assertThat(dir.resolve("plots").resolve(plot)).isRegularFile();
    }
    assertThat(Files.readAllBytes(dir.resolve("plots/accuracy_vs_layer.png"))).startsWith(new byte[] {(byte) 0x89, 'P', 'N', 'G'});
    assertThat(dir.resolve("results/dataset-token-class.json")).isRegularFile();
    assertThat(Files.readString(dir.resolve("report.md"))).contains("## french", "Layer sweep", "Mechanistic probe");
  }
}
