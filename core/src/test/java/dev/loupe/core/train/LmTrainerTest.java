package dev.loupe.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.model.HfDirectory;
import dev.loupe.core.model.LoadedModel;
import dev.loupe.core.model.ModelRegistry;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A few steps of real autograd training on a tiny GPT-2: determinism, resume, bad input. */
class LmTrainerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path tmp;

  static Path corpus;

  @BeforeAll
  static void writeCorpus() throws IOException {
    StringBuilder sb = new StringBuilder();
    String[] words = {"the", "parliament", "votes", "on", "the", "report", "today", "and", "tomorrow"};
    for (int d = 0; d < 300; d++) {
      for (int w = 0; w < 30; w++) {
        sb.append(words[(d * 7 + w * 3) % words.length]).append(w % 10 == 9 ? ". " : " ");
      }
      sb.append("\n\n");
    }
    corpus = tmp.resolve("corpus.txt");
    Files.writeString(corpus, sb.toString());
  }

  private LmTrainConfig config(String name, int steps) {
    String yaml = "name: " + name + "\n"
        + "out: " + tmp.resolve(name + "-model") + "\n"
        + "work_dir: " + tmp.resolve(name + "-work") + "\n"
        + "corpus: " + corpus + "\n"
        + "model: {layers: 1, d_model: 32, heads: 2, context: 32}\n"
        + "seed: 7\nbatch_size: 4\nsteps: " + steps + "\nlr: 3e-3\nwarmup_steps: 2\n"
        + "eval_every: 3\neval_windows: 8\ncheckpoint_every: 3\nsamples: [\"the \"]\nsample_tokens: 8\n";
    return LmTrainConfig.parse(yaml, name + ".yaml", Map.of());
  }

  private static List<Double> losses(Path work) throws IOException {
    List<Double> out = new ArrayList<>();
    for (String line : Files.readAllLines(work.resolve(LmTrainer.METRICS))) {
      JsonNode n = JSON.readTree(line);
      out.add(n.get("train_loss").asDouble());
    }
    return out;
  }

  @Test
  void theSameSeedGivesTheSameLossesTwiceAndTheLossFalls() throws IOException {
    LmTrainer.Result a = new LmTrainer(config("a", 6), ModelRegistry.withDefaults(), new LmTrainer.Listener() { })
        .run(false, false);
    LmTrainer.Result b = new LmTrainer(config("b", 6), ModelRegistry.withDefaults(), new LmTrainer.Listener() { })
        .run(false, false);
    List<Double> la = losses(a.workDir());
    assertThat(la).hasSize(6).containsExactlyElementsOf(losses(b.workDir()));
    assertThat(la.get(5)).isLessThan(la.get(0));
    assertThat(la.get(0)).isCloseTo(Math.log(256), org.assertj.core.data.Offset.offset(0.3));
    assertThat(a.valBpb()).isEqualTo(b.valBpb()).isPositive();
    assertThat(a.samples()).containsKey("the ");
    try (NDManager m = NDManager.newBaseManager(); LoadedModel loaded = HfDirectory.load(a.out(), "a", m)) {
      assertThat(loaded.model().nLayers()).isEqualTo(1);
      assertThat(loaded.model().parameterCount()).isEqualTo(a.parameters());
    }
  }

  @Test
  void aRunStoppedAfterACheckpointResumesExactly() throws IOException {
    Path straight = new LmTrainer(config("straight", 6), ModelRegistry.withDefaults(), new LmTrainer.Listener() { })
        .run(false, false).workDir();
    LmTrainer.Listener killer = new LmTrainer.Listener() {
      @Override
      public void step(LmTrainer.StepStats s) {
        if (s.step() == 5) {
          throw new IllegalStateException("killed");
        }
      }
    };
    LmTrainConfig cfg = config("resumed", 6);
    assertThatThrownBy(() -> new LmTrainer(cfg, ModelRegistry.withDefaults(), killer).run(false, false))
        .hasMessage("killed");
    assertThat(LmTrainer.latestCheckpoint(cfg.workDir())).isEqualTo(3);
    assertThat(losses(cfg.workDir())).hasSize(5);
    assertThatThrownBy(() -> new LmTrainer(cfg, ModelRegistry.withDefaults(), new LmTrainer.Listener() { })
        .run(false, false)).hasMessageContaining("checkpoint at step 3").hasMessageContaining("--resume");
    List<Integer> started = new ArrayList<>();
    new LmTrainer(cfg, ModelRegistry.withDefaults(), new LmTrainer.Listener() {
      @Override
      public void started(int fromStep, int totalSteps, long parameters) {
        started.add(fromStep);
      }
    }).run(true, false);
    assertThat(started).containsExactly(3);
    assertThat(losses(cfg.workDir())).containsExactlyElementsOf(losses(straight));
  }

  /** A step must free everything it allocates: an earlier version kept one gradient-sized array per weight per step. */
  @Test
  void trainingStepsDoNotAccumulateArrays() {
    try (NDManager root = NDManager.newBaseManager()) {
      dev.loupe.core.model.Gpt2Model model = dev.loupe.core.model.Gpt2Model.random(
          dev.loupe.core.model.Gpt2Config.of(256, 16, 16, 1, 2), 3, root);
      model.weights().values().forEach(w -> w.setRequiresGradient(true));
      AdamW adam = new AdamW(0.9, 0.95, 1e-8, 0.1, root);
      int[][] windows = {java.util.Arrays.copyOf("the parliament votes".chars().toArray(), 17)};
      int[] counts = new int[4];
      for (int step = 0; step < 4; step++) {
        LmTrainer.trainStep(model, windows, root);
        AdamW.clipGradients(model.weights(), 0.5);
        adam.step(model.weights(), 1e-3);
        LmTrainer.evaluate(model, windows, root);
        counts[step] = root.getManagedArrays().size();
      }
      assertThat(counts[3]).as("arrays held after steps 1..4: %s", java.util.Arrays.toString(counts)).isEqualTo(counts[1]);
      adam.close();
    }
  }

  @Test
  void anEmptyOrMissingCorpusFailsBeforeTraining() throws IOException {
    Path empty = tmp.resolve("empty.txt");
    Files.writeString(empty, "\n\n  \n");
    String base = "name: bad\nwork_dir: " + tmp.resolve("bad-work") + "\nmodel: {layers: 1, d_model: 32, heads: 2, context: 32}\n"
        + "steps: 2\n";
    assertThatThrownBy(() -> new LmTrainer(LmTrainConfig.parse(base + "corpus: " + empty + "\n", "bad.yaml", Map.of()),
        ModelRegistry.withDefaults(), new LmTrainer.Listener() { }).run(false, false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(empty.toString());
    assertThatThrownBy(() -> new LmTrainer(LmTrainConfig.parse(base + "corpus: no-such-corpus\n", "bad.yaml", Map.of()),
        ModelRegistry.withDefaults(), new LmTrainer.Listener() { }).run(false, false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no-such-corpus");
    assertThat(tmp.resolve("bad-work").resolve(LmTrainer.CHECKPOINTS)).doesNotExist();
    String llama = "name: bad\nwork_dir: " + tmp.resolve("bad-work") + "\ninit: random-llama:1x32\nsteps: 2\ncorpus: "
        + corpus + "\n";
    assertThatThrownBy(() -> new LmTrainer(LmTrainConfig.parse(llama, "llama.yaml", Map.of()), ModelRegistry.withDefaults(),
        new LmTrainer.Listener() { }).run(false, false)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fine-tunes GPT-2 models").hasMessageContaining("llama");
    String huge = base.replace("layers: 1, d_model: 32", "layers: 128, d_model: 4096") + "corpus: " + corpus + "\n";
    assertThatThrownBy(() -> new LmTrainer(LmTrainConfig.parse(huge, "huge.yaml", Map.of()), ModelRegistry.withDefaults(),
        new LmTrainer.Listener() { }).run(false, false)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("25,770,983,424 parameters").hasMessageContaining("this machine has");
  }
}
