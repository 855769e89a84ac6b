package dev.loupe.it.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.cli.LoupeCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe job neurons} with the built plugin zip on the shipped demo model: two layers' MLP
 * neurons from one harvest, scored against the datasets of config/datasets/europarl.yaml; a family
 * the first 20,000 tokens cannot fill is skipped with its reason, and bad hooks and datasets are
 * refused naming them.
 */
class NeuronsCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  private record Run(int code, String out, String err) {
  }

  @BeforeEach
  void datasets() throws Exception {
    Path dir = Files.createDirectories(home.resolve("config/datasets"));
    Files.copy(PluginFixtures.repoRoot().resolve("config/datasets/europarl.yaml"), dir.resolve("europarl.yaml"));
  }

  private Run run(String jobId, String datasets, int layer1) throws Exception {
    Path job = Files.writeString(home.resolve(jobId + ".yaml"), """
        config:
          datasets: %s
          max_per_class: 500
          top_examples: 3
          context_tokens: 8
        inputs:
          l0: {model: {model: demo, corpus: "europarl:shuffled", hook: blocks.0.mlp.hook_post, tokens: 20000}}
          l1: {model: {model: demo, corpus: "europarl:shuffled", hook: blocks.%d.mlp.hook_post, tokens: 20000}}
        """.formatted(datasets, layer1));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = LoupeCli.run(new PrintWriter(out), new PrintWriter(err), "--home", home.toString(),
        "--plugins-dir", PluginFixtures.builtPluginsDir().toString(),
        "job", "neurons", "--config", job.toString(), "--run-dir", home.resolve("runs").toString(), "--job-id", jobId);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  @Timeout(120)
  void findsASpaceNeuronAndReportsLanguageFamiliesOnTheDemoModel() throws Exception {
    Run r = run("neurons", "[french, greek, \"token-class=space\", \"word:Union\"]", 1);

    assertThat(r.code()).as(r.err()).isZero();
    Path dir = home.resolve("runs/neurons");
    JsonNode summary = JSON.readTree(dir.resolve("results/summary.json").toFile());
    assertThat(summary.get("tokens").asLong()).isEqualTo(20_000);
    assertThat(summary.get("neurons").asInt()).isEqualTo(2 * 768);
    assertThat(summary.get("inputs").get(1).get("hook").asText()).isEqualTo("blocks.1.mlp.hook_post");
    assertThat(summary.get("inputs").get(1).get("layer").asInt()).isEqualTo(1);
    assertThat(summary.get("inputs").get(1).get("model").asText()).isEqualTo("demo");
    assertThat(summary.get("families_scored").asInt()).isEqualTo(3);
    // "Union" is completed a handful of times in 20,000 tokens: too few to score, and the summary says so
    assertThat(summary.get("families_skipped").get("word:Union").asText()).contains("completes Union");
    // a byte-level model has neurons that fire on the space byte and nothing else
    JsonNode space = summary.get("dedicated").get(0);
    assertThat(space.get("family").asText()).isEqualTo("token-class=space");
    assertThat(space.get("f1").asDouble()).isGreaterThanOrEqualTo(0.9);
    assertThat(summary.get("needs_k").size()).isEqualTo(2);

    JsonNode families = JSON.readTree(dir.resolve("results/families.json").toFile());
    assertThat(families.size()).isEqualTo(3);
    assertThat(families.get(0).get("family").asText()).isEqualTo("french");
    assertThat(families.get(0).get("curve").size()).isEqualTo(6);
    JsonNode neurons = JSON.readTree(dir.resolve("results/neurons.json").toFile());
    assertThat(neurons.get(0).get("top_examples").get(0).has("context")).isTrue();
    assertThat(dir.resolve("scores.safetensors")).isRegularFile();
    assertThat(Files.readString(dir.resolve("report.md"))).contains("## Dedicated neurons", "| token-class=space |");
  }

  @Test
  @Timeout(120)
  void aHookTheModelLacksAndAnUnknownDatasetAreRefused() throws Exception {
    Run badHook = run("bad-hook", "[french]", 7);
    assertThat(badHook.code()).isEqualTo(2);
    assertThat(badHook.err()).contains("inputs.l1", "has no hook 'blocks.7.mlp.hook_post'");

    Run badDataset = run("bad-dataset", "[french, nope]", 1);
    assertThat(badDataset.code()).isEqualTo(1);
    assertThat(badDataset.out() + badDataset.err()).contains("no dataset named 'nope'");
    assertThat(home.resolve("runs/bad-dataset/results/summary.json")).doesNotExist();
  }
}
