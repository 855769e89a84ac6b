package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe train-lm}: a short run end to end, the checkpoint guard, and config errors. */
class TrainLmCommandTest {
  @TempDir
  Path tmp;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  private Path recipe(String extra) throws IOException {
    StringBuilder text = new StringBuilder();
    for (int d = 0; d < 120; d++) {
      text.append("Document ").append(d).append(" says the vote is open and the debate is closed.\n\n");
    }
    Path corpus = tmp.resolve("c.txt");
    Files.writeString(corpus, text);
    Path yaml = tmp.resolve("r.yaml");
    Files.writeString(yaml, "name: t\nout: " + tmp.resolve("model") + "\nwork_dir: " + tmp.resolve("work") + "\ncorpus: "
        + corpus + "\nmodel: {layers: 1, d_model: 16, heads: 2, context: 16}\nbatch_size: 2\nsteps: 3\n"
        + "eval_windows: 2\n" + extra);
    return yaml;
  }

  @Test
  void trainsWritesTheModelAndGuardsItsCheckpoints() throws Exception {
    Path yaml = recipe("");

    assertThat(run("train-lm", "--config", yaml.toString(), "--no-card", "--json")).as(err.toString()).isZero();
    assertThat(out.toString()).contains("\"event\":\"step\"").contains("\"event\":\"done\"");
    assertThat(tmp.resolve("model/model.safetensors")).isRegularFile();
    assertThat(tmp.resolve("model/tokenizer.json")).isRegularFile();

    assertThat(run("train-lm", "--config", yaml.toString(), "--no-card")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("checkpoint at step 3").contains("--resume").doesNotContain("\tat ");
    assertThat(run("train-lm", "--config", yaml.toString(), "--no-card", "--resume")).as(err.toString()).isZero();
    assertThat(run("generate", "--model", tmp.resolve("model").toString(), "--text", "Doc", "--max-new-tokens", "4"))
        .as(err.toString()).isZero();
  }

  @Test
  void aBadRecipeIsRejectedBeforeTraining() throws Exception {
    Path yaml = recipe("learning_rate: 1\n");

    assertThat(run("train-lm", "--config", yaml.toString())).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("unknown key 'learning_rate'").doesNotContain("\tat ");
    assertThat(tmp.resolve("work")).doesNotExist();
    assertThat(run("train-lm", "--config", tmp.resolve("missing.yaml").toString())).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("missing.yaml");
  }
}
