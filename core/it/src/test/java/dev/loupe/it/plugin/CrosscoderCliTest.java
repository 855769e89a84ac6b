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
 * {@code loupe job crosscoder} with the built plugin zip on the two shipped models, demo and its
 * French fine-tune demo-ft, at the same hook: two sessions harvested on the same tokens, a
 * crosscoder trained on both, and the model-diff results and report.
 */
class CrosscoderCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  @Test
  @Timeout(300)
  void aCrosscoderOnDemoAndItsFineTuneReportsTheDiff() throws Exception {
    Path job = Files.writeString(home.resolve("cc.yaml"), """
        config:
          activation: batchtopk
          k: 16
          expansion: 4
          batch_size: 1024
          epochs: 3
          eval_rows: 4096
          eval_every: 0
          checkpoint_every: 0
          lr: 0.001
          top_examples: 3
        inputs:
          base:      {model: {model: demo,    corpus: europarl, hook: blocks.2.hook_resid_post, tokens: 16000}}
          finetuned: {model: {model: demo-ft, corpus: europarl, hook: blocks.2.hook_resid_post, tokens: 16000}}
        """);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = LoupeCli.run(new PrintWriter(out), new PrintWriter(err), "--home", home.toString(),
        "--plugins-dir", PluginFixtures.builtPluginsDir().toString(),
        "job", "crosscoder", "--config", job.toString(), "--run-dir", home.resolve("runs").toString(), "--job-id", "cc");

    assertThat(code).as(err.toString()).isZero();
    Path dir = home.resolve("runs/cc");
    JsonNode summary = JSON.readTree(dir.resolve("results/summary.json").toFile());
    assertThat(summary.get("d_in").asInt()).isEqualTo(2 * 192);
    assertThat(summary.get("d_sae").asInt()).isEqualTo(4 * 192);
    assertThat(summary.get("input_scales").size()).isEqualTo(2);
    assertThat(summary.get("eval_fve_per_source").get("base").asDouble()).isPositive();
    assertThat(summary.get("eval_fve_per_source").get("finetuned").asDouble()).isPositive();
    JsonNode diff = summary.get("diff");
    long counted = 0;
    for (String c : new String[] {"a_only", "shared", "b_only", "mixed", "zero", "never_fired"}) {
      counted += diff.get("counts").get(c).asLong();
    }
    assertThat(counted).isEqualTo(4 * 192);
    JsonNode latents = JSON.readTree(dir.resolve("results/latents.json").toFile());
    assertThat(latents.size()).isEqualTo(4 * 192);
    assertThat(latents.get(0).has("relative_norm")).isTrue();
    assertThat(latents.get(0).has("nu_error")).isTrue();
    assertThat(dir.resolve("crosscoder/cfg.json")).isRegularFile();
    assertThat(Files.readString(dir.resolve("crosscoder/cfg.json"))).contains("\"crosscoder\"").contains("demo-ft");
    assertThat(Files.readString(dir.resolve("report.md"))).contains("base vs finetuned").contains("Latent Scaling");
  }
}
