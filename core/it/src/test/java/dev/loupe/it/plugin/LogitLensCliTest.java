package dev.loupe.it.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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
 * {@code loupe job logit-lens} with the built sample plugin zip on the shipped demo model: four
 * layers read from one harvest, unembedded through the real session, and a lens that sharpens
 * towards the model's own prediction layer by layer.
 */
class LogitLensCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int job(String yaml, String jobId) throws Exception {
    Path job = Files.writeString(home.resolve(jobId + ".yaml"), yaml);
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), "--home", home.toString(),
        "--plugins-dir", PluginFixtures.builtPluginsDir().toString(),
        "job", "logit-lens", "--config", job.toString(), "--run-dir", home.resolve("runs").toString(), "--job-id", jobId);
  }

  @Test
  @Timeout(180)
  void theLensOfEachDemoLayerComesCloserToTheModelsPrediction() throws Exception {
    StringBuilder inputs = new StringBuilder();
    for (int l = 0; l < 4; l++) {
      inputs.append("  l").append(l).append(": {model: {model: demo, corpus: \"europarl:validation:shuffled\", hook: blocks.")
          .append(l).append(".hook_resid_post, tokens: 6000}}\n");
    }
    int code = job("config:\n  examples: 4\ninputs:\n" + inputs, "lens-demo");

    assertThat(code).as(err.toString()).isZero();
    Path dir = home.resolve("runs/lens-demo");
    JsonNode summary = JSON.readTree(dir.resolve("results/summary.json").toFile());
    System.out.println("logit-lens on demo: " + summary.get("layers"));
    assertThat(summary.get("model").asText()).isEqualTo("demo");
    assertThat(summary.get("rows").asLong()).isEqualTo(6000);
    assertThat(summary.get("rows_with_next").asLong()).isBetween(5900L, 5999L);
    assertThat(summary.get("final_input").asText()).isEqualTo("l3");
    JsonNode layers = summary.get("layers");
    assertThat(layers).hasSize(4);
    // the last layer's lens is the model's own output
    assertThat(layers.get(3).get("top1_agreement").asDouble()).isEqualTo(1.0);
    assertThat(layers.get(3).get("kl_mean").asDouble()).isCloseTo(0.0, within(1e-9));
    for (int l = 1; l < 4; l++) {
      assertThat(layers.get(l).get("top1_agreement").asDouble()).as("agreement of layer %d", l)
          .isGreaterThan(layers.get(l - 1).get("top1_agreement").asDouble());
      assertThat(layers.get(l).get("kl_mean").asDouble()).as("KL of layer %d", l)
          .isLessThan(layers.get(l - 1).get("kl_mean").asDouble());
      assertThat(layers.get(l).get("loss").asDouble()).as("loss of layer %d", l)
          .isLessThan(layers.get(l - 1).get("loss").asDouble());
    }
    // the demo model predicts the next byte of unseen Europarl text at about 1.6 nats
    assertThat(layers.get(3).get("loss").asDouble()).isBetween(1.0, 2.5);
    assertThat(layers.get(3).get("accuracy").asDouble()).isGreaterThan(layers.get(0).get("accuracy").asDouble());
    assertThat(summary.get("examples")).hasSize(4);

    String report = Files.readString(dir.resolve("report.md"));
    assertThat(report).startsWith("# Logit lens: demo").contains("| l0 | `blocks.0.hook_resid_post` |")
        .contains("| l3 | `blocks.3.hook_resid_post` | 1.000").contains("## Examples");
    assertThat(Files.readAllLines(dir.resolve("metrics.jsonl"))).isNotEmpty();
  }

  @Test
  void anInputWithoutAModelFailsTheJobSayingToUseAModelInput() throws Exception {
    int code = job("inputs:\n  main:\n    synthetic: {rows: 100, width: 192, hook: blocks.3.hook_resid_post}\n", "lens-bad");

    assertThat(code).isEqualTo(LoupeCli.JOB_FAILED);
    assertThat(err.toString()).contains("input 'main' (blocks.3.hook_resid_post) comes with no model session")
        .contains("`model:` input");
  }
}
