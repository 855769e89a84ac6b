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
 * {@code loupe job transcoder} with the built plugin zip on the shipped demo model: a transcoder
 * for the MLP of layer 1, then one for layer 3 attributed to it; both inputs of a job come from
 * one harvest, the model runs with the MLP replaced, and the attribution's contributions add up.
 */
class TranscoderCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  private JsonNode run(String jobId, String yaml) throws Exception {
    Path job = Files.writeString(home.resolve(jobId + ".yaml"), yaml);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = LoupeCli.run(new PrintWriter(out), new PrintWriter(err), "--home", home.toString(),
        "--plugins-dir", PluginFixtures.builtPluginsDir().toString(),
        "job", "transcoder", "--config", job.toString(), "--run-dir", home.resolve("runs").toString(), "--job-id", jobId);
    assertThat(code).as(err.toString()).isZero();
    return JSON.readTree(home.resolve("runs").resolve(jobId).resolve("results/summary.json").toFile());
  }

  private static String job(int layer, String extra) {
    return """
        config:
          activation: topk
          k: 16
          expansion: 4
          batch_size: 1024
          epochs: 4
          eval_rows: 2048
          eval_every: 0
          checkpoint_every: 0
          lr: 0.001
          top_examples: 3
          splice_sequences: 8
        %s
        inputs:
          input:  {model: {model: demo, corpus: europarl, hook: blocks.%d.ln2.hook_normalized, tokens: 12000}}
          target: {model: {model: demo, corpus: europarl, hook: blocks.%d.hook_mlp_out, tokens: 12000}}
        """.formatted(extra, layer, layer);
  }

  @Test
  @Timeout(300)
  void transcodersOnTheDemoModelReplaceItsMlpsAndAttributeAcrossLayers() throws Exception {
    JsonNode l1 = run("tc-l1", job(1, ""));
    assertThat(l1.get("d_in").asInt()).isEqualTo(192);
    assertThat(l1.get("d_out").asInt()).isEqualTo(192);
    assertThat(l1.get("kind").asText()).isEqualTo("transcoder");
    assertThat(l1.get("eval_fve").asDouble()).isPositive();
    JsonNode splice = l1.get("splice");
    assertThat(splice.get("sequences").asInt()).isPositive();
    // the zero-ablated MLP costs more than the transcoder in its place
    assertThat(splice.get("zero_ablated_loss").asDouble()).isGreaterThan(splice.get("clean_loss").asDouble());
    assertThat(splice.get("spliced_loss").asDouble()).isLessThan(splice.get("zero_ablated_loss").asDouble() + 0.5);
    assertThat(home.resolve("runs/tc-l1/transcoder/cfg.json")).isRegularFile();

    String upstream = "  upstream: " + home.resolve("runs/tc-l1/transcoder") + "\n  attribution_latents: 8\n"
        + "  attribution_sequences: 4";
    JsonNode l3 = run("tc-l3", job(3, upstream));
    assertThat(l3.get("attribution").get("max_sum_error").asDouble()).isLessThan(1e-4);
    JsonNode attribution = JSON.readTree(home.resolve("runs/tc-l3/results/attribution.json").toFile());
    assertThat(attribution.get("upstream_output_hook").asText()).isEqualTo("blocks.1.hook_mlp_out");
    JsonNode first = attribution.get("latents").get(0);
    assertThat(first.get("fired").asLong()).isPositive();
    assertThat(first.get("by_attribution").size()).isPositive();
    assertThat(first.get("by_invariant").size()).isEqualTo(10);
    assertThat(Files.readString(home.resolve("runs/tc-l3/report.md"))).contains("Attribution to");
  }
}
