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
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe run}: a pipeline file harvests the demo model, trains an SAE on the store, evaluates
 * it on held-out text and writes a report; a second run resumes without redoing anything, a changed
 * variable reruns the steps from the first one it changes, and a failing step names itself.
 */
class PipelineCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path home;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    out.getBuffer().setLength(0);
    err.getBuffer().setLength(0);
    List<String> all = new ArrayList<>(List.of("--home", home.toString(), "--plugins-dir",
        PluginFixtures.builtPluginsDir().toString(), "run"));
    all.addAll(List.of(args));
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), all.toArray(String[]::new));
  }

  private static final String PIPELINE = """
      name: tiny-sae
      vars:
        hook: blocks.1.hook_resid_post
        k: 8
      steps:
        - id: acts
          harvest: {model: demo, corpus: "europarl:shuffled", hooks: ["${hook}"], tokens: 4000, ctx: 64}
        - id: sae
          job:
            method: sae
            config: {activation: topk, k: "${k}", expansion: 2, batch_size: 256, epochs: 2, eval_rows: 512,
                     eval_every: 0, checkpoint_every: 0, top_examples: 2}
            inputs:
              main: {store: {path: "${steps.acts.dir}/${hook}"}}
        - id: check
          eval: {coder: "${steps.sae.dir}/sae", model: demo, corpus: "europarl:test", tokens: 2000, splice_windows: 4}
        - id: report
          report: {title: "tiny SAE at ${hook}"}
      """;

  @Test
  @Timeout(300)
  void aPipelineRunsResumesAndRerunsWhatChanged() throws Exception {
    Path file = Files.writeString(home.resolve("tiny.yaml"), PIPELINE);
    Path dir = home.resolve("out");
    assertThat(run(file.toString(), "--out", dir.toString())).as(err.toString()).isZero();

    assertThat(dir.resolve("acts/blocks.1.hook_resid_post")).isDirectory();
    assertThat(dir.resolve("jobs/sae/sae/cfg.json")).isRegularFile();
    JsonNode check = JSON.readTree(dir.resolve("check.json").toFile());
    assertThat(check.get("tokens").asLong()).isEqualTo(2000);
    assertThat(check.get("l0").asDouble()).isEqualTo(8.0);
    assertThat(check.get("fve").asDouble()).isBetween(0.0, 1.0);
    assertThat(check.get("splice_windows").asInt()).isEqualTo(4);
    String report = Files.readString(dir.resolve("report.html"));
    assertThat(report).contains("tiny SAE at blocks.1.hook_resid_post").contains("acts").contains("check")
        .contains("jobs/sae/plots/loss.png").contains("jobs/sae/plots/density.png");
    JsonNode state = JSON.readTree(dir.resolve("pipeline-state.json").toFile());
    for (String id : List.of("acts", "sae", "check", "report")) {
      assertThat(state.at("/steps/" + id + "/state").asText()).as(id).isEqualTo("done");
    }
    assertThat(state.at("/steps/acts/outputs/rows/blocks.1.hook_resid_post").asLong()).isEqualTo(4000);

    // the same directory again: refused without --resume, every step skipped with it
    assertThat(run(file.toString(), "--out", dir.toString())).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("--resume").contains("--fresh").doesNotContain("\tat ");
    long before = Files.getLastModifiedTime(dir.resolve("check.json")).toMillis();
    assertThat(run(file.toString(), "--out", dir.toString(), "--resume")).as(err.toString()).isZero();
    assertThat(out.toString() + err.toString()).contains("acts (harvest) skipped").contains("report (report) skipped");
    assertThat(Files.getLastModifiedTime(dir.resolve("check.json")).toMillis()).isEqualTo(before);

    // a changed variable reruns from the first step it changes: the harvest stays
    assertThat(run(file.toString(), "--out", dir.toString(), "--resume", "--set", "k=4")).as(err.toString()).isZero();
    String log = out.toString() + err.toString();
    assertThat(log).contains("acts (harvest) skipped").doesNotContain("sae (job) skipped");
    assertThat(JSON.readTree(dir.resolve("check.json").toFile()).get("l0").asDouble()).isEqualTo(4.0);
  }

  @Test
  @Timeout(120)
  void aFailingStepIsNamedAndRecorded() throws Exception {
    Path file = Files.writeString(home.resolve("bad.yaml"), """
        steps:
          - id: check
            eval: {coder: "%s", model: demo, tokens: 100}
        """.formatted(home.resolve("no-such-sae")));
    Path dir = home.resolve("bad-out");
    assertThat(run(file.toString(), "--out", dir.toString())).isEqualTo(LoupeCli.JOB_FAILED);
    assertThat(err.toString()).contains("step check (eval)").contains("no-such-sae").contains("--resume")
        .doesNotContain("\tat ");
    JsonNode state = JSON.readTree(dir.resolve("pipeline-state.json").toFile());
    assertThat(state.at("/steps/check/state").asText()).isEqualTo("failed");
  }

  @Test
  @Timeout(180)
  void resumingAfterAFailedStepKeepsEarlierStepsAndRerunsTheFailedOne() throws Exception {
    // the job reads a store the harvest did not make: it fails at run time, not in the check
    Path file = Files.writeString(home.resolve("stats.yaml"), """
        vars: {read: blocks.3.hook_resid_post}
        steps:
          - id: acts
            harvest: {model: demo, hooks: [blocks.0.hook_resid_post], tokens: 3000, ctx: 64}
          - id: stats
            job:
              method: activation-stats
              inputs: {main: {store: {path: "${steps.acts.dir}/${read}"}}}
        """);
    Path dir = home.resolve("stats-out");
    assertThat(run(file.toString(), "--out", dir.toString())).isEqualTo(LoupeCli.JOB_FAILED);
    assertThat(err.toString()).contains("step stats").contains("blocks.3.hook_resid_post").doesNotContain("\tat ");
    JsonNode state = JSON.readTree(dir.resolve("pipeline-state.json").toFile());
    assertThat(state.at("/steps/acts/state").asText()).isEqualTo("done");
    assertThat(state.at("/steps/stats/state").asText()).isEqualTo("failed");
    assertThat(dir.resolve("acts/blocks.0.hook_resid_post/manifest.json")).isRegularFile();
    long harvested = Files.getLastModifiedTime(dir.resolve("acts/blocks.0.hook_resid_post/manifest.json")).toMillis();

    assertThat(run(file.toString(), "--out", dir.toString(), "--resume", "--set", "read=blocks.0.hook_resid_post"))
        .as(err.toString()).isZero();
    assertThat(out.toString() + err.toString()).contains("acts (harvest) skipped");
    assertThat(Files.getLastModifiedTime(dir.resolve("acts/blocks.0.hook_resid_post/manifest.json")).toMillis())
        .isEqualTo(harvested);
    state = JSON.readTree(dir.resolve("pipeline-state.json").toFile());
    assertThat(state.at("/steps/stats/state").asText()).isEqualTo("done");
    assertThat(dir.resolve("jobs/stats/results/stats.json")).isRegularFile();
  }

  @Test
  void theShippedPipelinesPassTheCheck() throws Exception {
    try (var files = Files.list(PluginFixtures.repoRoot().resolve("config/pipelines"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        assertThat(run(f.toString(), "--check")).as(f + ": " + err).isZero();
        assertThat(out.toString()).contains("ok (");
      }
    }
  }

  @Test
  void aBadFileIsAUsageErrorWithItsLine() throws Exception {
    Path file = Files.writeString(home.resolve("typo.yaml"), """
        steps:
          - id: train
            job: {method: sae, config: {activaton: topk}, inputs: {main: {store: {path: /x}}}}
        """);
    assertThat(run(file.toString(), "--check")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("line 3").contains("steps[0].job.config.activaton").doesNotContain("\tat ");
  }
}
