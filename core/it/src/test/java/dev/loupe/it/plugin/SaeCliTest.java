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
 * {@code loupe job sae} with the built sae plugin zip, training a TopK SAE on the shipped demo
 * model's layer-2 residual stream over Europarl: harvest, training, held-out evaluation and the
 * SAELens output all run for real.
 */
class SaeCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  @Test
  @Timeout(240)
  void aTopKSaeOnTheDemoModelExplainsMostHeldOutVariance() throws Exception {
    Path job = Files.writeString(home.resolve("sae-job.yaml"), """
        config:
          activation: topk
          k: 16
          expansion: 4
          batch_size: 1024
          epochs: 12
          eval_rows: 2048
          eval_every: 20
          checkpoint_every: 50
          lr: 0.001
          top_examples: 5
        inputs:
          main:
            model: {model: demo, corpus: europarl, hook: blocks.2.hook_resid_post, tokens: 20000}
        """);
    Path runs = home.resolve("runs");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();

    int code = LoupeCli.run(new PrintWriter(out), new PrintWriter(err), "--home", home.toString(),
        "--plugins-dir", PluginFixtures.builtPluginsDir().toString(),
        "job", "sae", "--config", job.toString(), "--run-dir", runs.toString(), "--job-id", "sae-demo");

    assertThat(code).as(err.toString()).isZero();
    Path jobDir = runs.resolve("sae-demo");
    JsonNode summary = JSON.readTree(jobDir.resolve("results/summary.json").toFile());
    System.out.println("sae on demo blocks.2.hook_resid_post: " + summary);
    assertThat(summary.get("d_in").asInt()).isEqualTo(192);
    assertThat(summary.get("d_sae").asInt()).isEqualTo(768);
    assertThat(summary.get("tokens").asLong()).isEqualTo(12L * (20000 - 2048));
    assertThat(summary.get("steps").asLong()).isEqualTo(211);
    assertThat(summary.get("eval_l0").asDouble()).isLessThanOrEqualTo(16.0);
    assertThat(summary.get("eval_fve").asDouble()).isGreaterThan(0.5);
    assertThat(jobDir.resolve("sae/cfg.json")).isRegularFile();
    assertThat(jobDir.resolve("sae/sae_weights.safetensors")).isRegularFile();
    assertThat(jobDir.resolve("report.md")).isRegularFile();
    JsonNode features = JSON.readTree(jobDir.resolve("results/features.json").toFile());
    assertThat(features.size()).isEqualTo(768);

    // spliced into the model on held-out windows, the SAE keeps most of what zero-ablation destroys
    JsonNode splice = summary.get("splice");
    assertThat(splice.get("sequences").asInt()).isPositive();
    assertThat(splice.get("zero_ablated_loss").asDouble()).isGreaterThan(splice.get("clean_loss").asDouble() + 1);
    assertThat(splice.get("spliced_loss").asDouble()).isGreaterThan(splice.get("clean_loss").asDouble());
    assertThat(splice.get("loss_recovered").asDouble()).isBetween(0.5, 1.0);
    assertThat(splice.get("kl_divergence").asDouble()).isPositive();
    // each latent's dashboard lists the bytes its decoder direction promotes and suppresses most
    JsonNode promoted = features.get(0).get("logits_positive");
    JsonNode suppressed = features.get(0).get("logits_negative");
    assertThat(promoted.size()).isEqualTo(10);
    assertThat(promoted.get(0).get("effect").asDouble()).isGreaterThanOrEqualTo(promoted.get(9).get("effect").asDouble());
    assertThat(suppressed.get(0).get("effect").asDouble()).isLessThan(promoted.get(9).get("effect").asDouble());
    assertThat(Files.readString(jobDir.resolve("report.md"))).contains("loss_recovered");
  }
}
