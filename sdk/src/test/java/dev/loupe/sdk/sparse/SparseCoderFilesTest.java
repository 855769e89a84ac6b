package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sparse coders on disk in the SAELens layout, and training checkpoints that resume exactly. */
class SparseCoderFilesTest {
  private static NDManager manager;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  private static SparseCoderTrainer trained(SparseActivation act, PlantedFeatures data, int steps) {
    SparseCoder coder = SparseCoder.initialize(manager, 16, 48, act, 1.0, 0.3, 3);
    try (NDManager m = manager.newSubManager()) {
      SparseCoderInit.fromSample(coder, m.create(data.batch(512), new ai.djl.ndarray.types.Shape(512, 16)));
    }
    SparseCoderTrainer t = new SparseCoderTrainer(coder, TrainerConfig.builder().learningRate(1e-3).l1Coefficient(1)
        .kAux(8).deadTokenWindow(640).resampleEverySteps(15).targetL0(4).build());
    for (int s = 0; s < steps; s++) {
      t.step(data.batch(64), 64);
    }
    return t;
  }

  private static void assertSameWeights(SparseCoder a, SparseCoder b) {
    for (String name : a.tensors().keySet()) {
      assertThat(b.weights(name)).as(name).containsExactly(a.weights(name));
    }
    assertThat(b.inputScale()).isEqualTo(a.inputScale());
    assertThat(b.activation()).isEqualTo(a.activation());
  }

  @Test
  void saveThenLoadIsBitExactForEveryActivation() throws IOException {
    SparseActivation[] acts = {new SparseActivation.Relu(), new SparseActivation.TopK(5),
        new SparseActivation.BatchTopK(5), new SparseActivation.JumpRelu()};
    for (SparseActivation act : acts) {
      try (SparseCoderTrainer t = trained(act, new PlantedFeatures(16, 24, 0.1, 1), 20)) {
        Path dir = tmp.resolve(act.name());
        SparseCoderFiles.save(t.coder(), dir, new SparseCoderFiles.CoderInfo("demo", "blocks.2.hook_resid_post"),
            t.deadLatents().density());
        SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(manager, dir);
        assertSameWeights(t.coder(), loaded.coder());
        assertThat(loaded.info().hookName()).isEqualTo("blocks.2.hook_resid_post");
        assertThat(loaded.logFeatureSparsity()).hasSize(48);
        loaded.coder().close();
      }
    }
  }

  @Test
  void writesTheSaeLensLayout() throws IOException {
    try (SparseCoderTrainer t = trained(new SparseActivation.TopK(5), new PlantedFeatures(16, 24, 0.1, 2), 5)) {
      Path dir = tmp.resolve("sae");
      SparseCoderFiles.save(t.coder(), dir, new SparseCoderFiles.CoderInfo("demo", "blocks.3.hook_resid_pre"), null);
      JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
      assertThat(cfg.get("architecture").asText()).isEqualTo("topk");
      assertThat(cfg.get("d_in").asInt()).isEqualTo(16);
      assertThat(cfg.get("d_sae").asInt()).isEqualTo(48);
      assertThat(cfg.get("k").asInt()).isEqualTo(5);
      assertThat(cfg.get("activation_fn_kwargs").get("k").asInt()).isEqualTo(5);
      assertThat(cfg.get("hook_name").asText()).isEqualTo("blocks.3.hook_resid_pre");
      assertThat(cfg.get("hook_layer").asInt()).isEqualTo(3);
      assertThat(cfg.get("dtype").asText()).isEqualTo("float32");
      assertThat(cfg.get("normalize_activations").asText()).isEqualTo("expected_average_only_in");
      try (SafetensorsFile f = Safetensors.open(dir.resolve("sae_weights.safetensors"))) {
        assertThat(f.names()).containsExactlyInAnyOrder("W_enc", "b_enc", "W_dec", "b_dec");
        assertThat(f.shape("W_enc")).containsExactly(16, 48);
        assertThat(f.shape("W_dec")).containsExactly(48, 16);
      }
      assertThat(dir.resolve("sparsity.safetensors")).doesNotExist();
      try (Stream<Path> left = Files.list(tmp)) {
        assertThat(left.map(p -> p.getFileName().toString())).containsExactly("sae");
      }
    }
  }

  @Test
  void foldedCoderIsTheSaeLensInferenceFormAndEncodesTheSame() throws IOException {
    PlantedFeatures data = new PlantedFeatures(16, 24, 0.1, 3);
    try (SparseCoderTrainer t = trained(new SparseActivation.JumpRelu(), data, 10);
         NDManager m = manager.newSubManager();
         SparseCoder folded = t.coder().foldInputScale(manager)) {
      assertThat(t.coder().inputScale()).isNotEqualTo(1f);
      Path dir = tmp.resolve("folded");
      SparseCoderFiles.save(folded, dir, null, null);
      JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
      assertThat(cfg.get("normalize_activations").asText()).isEqualTo("none");
      assertThat(cfg.get("architecture").asText()).isEqualTo("jumprelu");
      var x = m.create(data.batch(100), new ai.djl.ndarray.types.Shape(100, 16));
      float[] a = t.coder().forward(x).get(1).toFloatArray();
      float[] b = folded.forward(x).get(1).toFloatArray();
      for (int i = 0; i < a.length; i++) {
        assertThat(b[i]).isCloseTo(a[i], org.assertj.core.data.Offset.offset(1e-4f));
      }
    }
  }

  /** A run saved at step 30 and resumed reaches the same weights at step 60 as the uninterrupted run. */
  @Test
  void checkpointResumesExactly() throws IOException {
    PlantedFeatures batches = new PlantedFeatures(16, 24, 0.1, 4);
    float[][] data = new float[60][];
    for (int i = 0; i < data.length; i++) {
      data[i] = batches.batch(64);
    }
    for (SparseActivation act : new SparseActivation[] {new SparseActivation.TopK(4), new SparseActivation.JumpRelu(),
        new SparseActivation.BatchTopK(4), new SparseActivation.Relu()}) {
      try (SparseCoderTrainer straight = trained(act, new PlantedFeatures(16, 24, 0.1, 5), 0);
           SparseCoderTrainer first = trained(act, new PlantedFeatures(16, 24, 0.1, 5), 0)) {
        for (int i = 0; i < 60; i++) {
          straight.step(data[i], 64);
        }
        for (int i = 0; i < 30; i++) {
          first.step(data[i], 64);
        }
        Path dir = tmp.resolve("ckpt-" + act.name());
        SparseCoderFiles.saveCheckpoint(first, dir, new SparseCoderFiles.CoderInfo("demo", "blocks.0.hook_resid_post"));
        SparseCoderFiles.Checkpoint ckpt = SparseCoderFiles.loadCheckpoint(manager, dir);
        SparseCoderTrainer resumed = ckpt.trainer();
        assertThat(resumed.step()).isEqualTo(30);
        for (int i = 30; i < 60; i++) {
          resumed.step(data[i], 64);
        }
        assertThat(resumed.tokens()).isEqualTo(straight.tokens());
        assertSameWeights(straight.coder(), resumed.coder());
        resumed.close();
        resumed.coder().close();
      }
    }
  }

  /** A TopK coder as SAELens before version 6 saved it: architecture "standard", k in activation_fn_kwargs. */
  @Test
  void opensALegacySaeLensTopKDirectory() throws IOException {
    Path dir = tmp.resolve("legacy");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("cfg.json"), "{\"architecture\": \"standard\", \"d_in\": 2, \"d_sae\": 3, "
        + "\"dtype\": \"float32\", \"hook_name\": \"blocks.1.hook_resid_post\", \"activation_fn_str\": \"topk\", "
        + "\"activation_fn_kwargs\": {\"k\": 1}, \"apply_b_dec_to_input\": true, \"normalize_activations\": \"none\"}");
    java.util.Map<String, dev.loupe.sdk.io.TensorData> w = new java.util.LinkedHashMap<>();
    w.put("W_enc", dev.loupe.sdk.io.TensorData.f16(new float[] {1, 0, 0.5f, 0, 1, 0.5f}, 2, 3));
    w.put("b_enc", dev.loupe.sdk.io.TensorData.f16(new float[3], 3));
    w.put("W_dec", dev.loupe.sdk.io.TensorData.f16(new float[] {1, 0, 0, 1, 0.5f, 0.5f}, 3, 2));
    w.put("b_dec", dev.loupe.sdk.io.TensorData.f16(new float[2], 2));
    Safetensors.write(dir.resolve("sae_weights.safetensors"), w, null);
    SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(manager, dir);
    assertThat(loaded.coder().activation()).isEqualTo(new SparseActivation.TopK(1));
    assertThat(loaded.info().hookName()).isEqualTo("blocks.1.hook_resid_post");
    try (NDManager m = manager.newSubManager()) {
      float[] code = loaded.coder().encode(m.create(new float[] {3, 1}, new ai.djl.ndarray.types.Shape(1, 2))).toFloatArray();
      assertThat(code).containsExactly(3, 0, 0);
    }
    loaded.coder().close();
  }

  @Test
  void loadingAMalformedDirectoryNamesTheProblem() throws IOException {
    try (SparseCoderTrainer t = trained(new SparseActivation.Relu(), new PlantedFeatures(16, 24, 0.1, 6), 1)) {
      Path dir = tmp.resolve("bad");
      SparseCoderFiles.save(t.coder(), dir, null, null);
      String cfg = Files.readString(dir.resolve("cfg.json")).replace("\"d_sae\" : 48", "\"d_sae\" : 40");
      Files.writeString(dir.resolve("cfg.json"), cfg);
      assertThatThrownBy(() -> SparseCoderFiles.load(manager, dir)).isInstanceOf(IOException.class)
          .hasMessageContaining("W_enc").hasMessageContaining("[16, 48]").hasMessageContaining("[16, 40]");
      assertThatThrownBy(() -> SparseCoderFiles.load(manager, tmp.resolve("missing")))
          .isInstanceOf(IOException.class).hasMessageContaining("cfg.json");
    }
  }
}
