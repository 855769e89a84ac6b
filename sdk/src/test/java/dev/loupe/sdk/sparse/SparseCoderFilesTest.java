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

  // ---- transcoders and crosscoders ----

  private static final int T_IN = 16;
  private static final int T_OUT = 12;
  private static final int SOURCES = 3;
  private static final int D_SOURCE = 8;
  /** Each crosscoder source's raw scale: different enough that every source gets its own input scale. */
  private static final float[] SOURCE_GAINS = {1f, 4f, 0.25f};

  private static TrainerConfig familyConfig() {
    return TrainerConfig.builder().learningRate(1e-3).l1Coefficient(1).kAux(8).deadTokenWindow(640)
        .resampleEverySteps(15).targetL0(4).build();
  }

  /** A transcoder d_in 16 -> d_out 12 with both scales fitted to the data (neither is 1), trained for {@code steps}. */
  private static SparseCoderTrainer trainedTranscoder(SparseActivation act, boolean skip, PlantedTranscoderFeatures data,
      int steps) {
    SparseCoder coder = SparseCoder.initialize(manager, SparseCoder.Layout.transcoder(T_IN, T_OUT, 48, skip), act, 1.0,
        0.3, 3);
    PlantedTranscoderFeatures.Batch sample = data.batch(512);
    try (NDManager m = manager.newSubManager()) {
      coder.setInputScale(SparseCoderInit.inputScale(m.create(sample.x(), new ai.djl.ndarray.types.Shape(512, T_IN))));
      coder.setOutputScale(SparseCoderInit.inputScale(m.create(sample.y(), new ai.djl.ndarray.types.Shape(512, T_OUT))));
    }
    SparseCoderTrainer t = new SparseCoderTrainer(coder, familyConfig());
    for (int s = 0; s < steps; s++) {
      PlantedTranscoderFeatures.Batch b = data.batch(64);
      t.step(b.x(), b.y(), 64);
    }
    return t;
  }

  private static PlantedTranscoderFeatures transcoderData(long seed) {
    return new PlantedTranscoderFeatures(T_IN, T_OUT, 24, 0.1, 0.5, seed);
  }

  /** Planted features over 3 sources of width 8, source b's columns times SOURCE_GAINS[b]. */
  private static float[] crosscoderBatch(PlantedFeatures data, int rows) {
    float[] x = data.batch(rows);
    for (int i = 0; i < x.length; i++) {
      x[i] *= SOURCE_GAINS[(i % (SOURCES * D_SOURCE)) / D_SOURCE];
    }
    return x;
  }

  /** A crosscoder over 3 sources of width 8 with per-source scales fitted to the data, trained for {@code steps}. */
  private static SparseCoderTrainer trainedCrosscoder(SparseActivation act, PlantedFeatures data, int steps) {
    SparseCoder coder = SparseCoder.initialize(manager, SparseCoder.Layout.crosscoder(D_SOURCE, SOURCES, 48), act, 1.0,
        0, 3);
    try (NDManager m = manager.newSubManager()) {
      coder.setInputScales(SparseCoderInit.sourceScales(
          m.create(crosscoderBatch(data, 512), new ai.djl.ndarray.types.Shape(512, SOURCES * D_SOURCE)), SOURCES));
    }
    SparseCoderTrainer t = new SparseCoderTrainer(coder, familyConfig());
    for (int s = 0; s < steps; s++) {
      t.step(crosscoderBatch(data, 64), 64);
    }
    return t;
  }

  /** Same layout, activation, scales and bit-identical weights (every tensor the coder has). */
  private static void assertSameCoder(SparseCoder a, SparseCoder b) {
    assertThat(b.layout()).isEqualTo(a.layout());
    assertThat(b.activation()).isEqualTo(a.activation());
    assertThat(b.applyBDecToInput()).isEqualTo(a.applyBDecToInput());
    assertThat(b.inputScales()).containsExactly(a.inputScales());
    if (!a.layout().autoencoder()) {
      assertThat(b.outputScale()).isEqualTo(a.outputScale());
    }
    assertThat(b.tensors().keySet()).containsExactlyElementsOf(a.tensors().keySet());
    for (String name : a.tensors().keySet()) {
      assertThat(b.weights(name)).as(name).containsExactly(a.weights(name));
    }
  }

  @Test
  void skipTranscoderSaveThenLoadIsBitExactForEveryActivation() throws IOException {
    SparseActivation[] acts = {new SparseActivation.Relu(), new SparseActivation.TopK(5),
        new SparseActivation.BatchTopK(5), new SparseActivation.JumpRelu()};
    for (SparseActivation act : acts) {
      try (SparseCoderTrainer t = trainedTranscoder(act, true, transcoderData(11), 20)) {
        assertThat(t.coder().inputScale()).isNotEqualTo(1f);
        assertThat(t.coder().outputScale()).isNotEqualTo(1f).isNotEqualTo(t.coder().inputScale());
        Path dir = tmp.resolve("skip-" + act.name());
        SparseCoderFiles.save(t.coder(), dir, new SparseCoderFiles.CoderInfo("demo", "blocks.2.ln2.hook_normalized",
            "blocks.2.hook_mlp_out", null), t.deadLatents().density());
        SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(manager, dir);
        assertThat(loaded.coder().layout()).isEqualTo(SparseCoder.Layout.transcoder(T_IN, T_OUT, 48, true));
        assertSameCoder(t.coder(), loaded.coder());
        assertThat(loaded.info().hookName()).isEqualTo("blocks.2.ln2.hook_normalized");
        assertThat(loaded.info().hookNameOut()).isEqualTo("blocks.2.hook_mlp_out");
        assertThat(loaded.logFeatureSparsity()).hasSize(48);
        loaded.coder().close();
      }
    }
  }

  @Test
  void skipTranscoderWritesTheSaeLensTranscoderLayoutWithWSkipAsDOutByDIn() throws IOException {
    try (SparseCoderTrainer t = trainedTranscoder(new SparseActivation.Relu(), true, transcoderData(12), 5)) {
      Path dir = tmp.resolve("skip");
      SparseCoderFiles.save(t.coder(), dir, new SparseCoderFiles.CoderInfo("demo", "blocks.3.ln2.hook_normalized",
          "blocks.3.hook_mlp_out", null), null);
      JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
      assertThat(cfg.get("architecture").asText()).isEqualTo("skip_transcoder");
      assertThat(cfg.get("d_in").asInt()).isEqualTo(T_IN);
      assertThat(cfg.get("d_out").asInt()).isEqualTo(T_OUT);
      assertThat(cfg.get("d_sae").asInt()).isEqualTo(48);
      assertThat(cfg.get("apply_b_dec_to_input").asBoolean(true)).isFalse();
      assertThat(cfg.get("hook_name_out").asText()).isEqualTo("blocks.3.hook_mlp_out");
      assertThat(cfg.get("hook_layer_out").asInt()).isEqualTo(3);
      assertThat(cfg.get("metadata").get("hook_name_out").asText()).isEqualTo("blocks.3.hook_mlp_out");
      float[] wSkip = t.coder().weights(SparseCoder.W_SKIP);
      try (SafetensorsFile f = Safetensors.open(dir.resolve("sae_weights.safetensors"))) {
        assertThat(f.names()).containsExactlyInAnyOrder("W_enc", "b_enc", "W_dec", "b_dec", "W_skip");
        assertThat(f.shape("W_enc")).containsExactly(T_IN, 48);
        assertThat(f.shape("W_dec")).containsExactly(48, T_OUT);
        assertThat(f.shape("b_dec")).containsExactly(T_OUT);
        // SAELens keeps W_skip as [d_out, d_in]: entry (o, i) is the coder's W_skip[i, o]
        assertThat(f.shape("W_skip")).containsExactly(T_OUT, T_IN);
        float[] onDisk = f.readFloats("W_skip");
        for (int i = 0; i < T_IN; i++) {
          for (int o = 0; o < T_OUT; o++) {
            assertThat(onDisk[o * T_IN + i]).as("W_skip[%d, %d]", o, i).isEqualTo(wSkip[i * T_OUT + o]);
          }
        }
      }
    }
  }

  /**
   * Each transcoder is saved under the SAELens architecture that infers as it does: thresholds
   * (JumpReLU, and BatchTopK's inference rule) make it a jumprelu_ one, a skip connection a skip_ one.
   */
  @Test
  void transcodersAreSavedUnderTheSaeLensArchitectureThatInfersAsTheyDo() throws IOException {
    Object[][] cases = {
        {new SparseActivation.Relu(), false, "transcoder"},
        {new SparseActivation.JumpRelu(), false, "jumprelu_transcoder"},
        {new SparseActivation.Relu(), true, "skip_transcoder"},
        {new SparseActivation.JumpRelu(), true, "jumprelu_skip_transcoder"},
        {new SparseActivation.BatchTopK(5), true, "jumprelu_skip_transcoder"},
    };
    for (Object[] c : cases) {
      SparseActivation act = (SparseActivation) c[0];
      boolean skip = (boolean) c[1];
      try (SparseCoderTrainer t = trainedTranscoder(act, skip, transcoderData(13), 3)) {
        Path dir = tmp.resolve("arch-" + act.name() + "-" + skip);
        SparseCoderFiles.save(t.coder(), dir, null, null);
        JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
        assertThat(cfg.get("architecture").asText()).as("%s, skip %s", act.name(), skip).isEqualTo(c[2]);
        try (SafetensorsFile f = Safetensors.open(dir.resolve("sae_weights.safetensors"))) {
          assertThat(f.contains("W_skip")).isEqualTo(skip);
          assertThat(f.contains("threshold")).isEqualTo(((String) c[2]).startsWith("jumprelu"));
        }
        SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(manager, dir);
        assertSameCoder(t.coder(), loaded.coder());
        loaded.coder().close();
      }
    }
  }

  /** A JumpReLU skip transcoder as SAELens writes it (e.g. Gemma Scope 2's affine transcoders): no Loupe fields. */
  @Test
  void opensASaeLensJumpReluSkipTranscoderDirectory() throws IOException {
    Path dir = tmp.resolve("saelens-jumprelu-skip");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("cfg.json"), "{\"architecture\": \"jumprelu_skip_transcoder\", \"d_in\": 2, "
        + "\"d_sae\": 2, \"d_out\": 3, \"dtype\": \"float32\", \"apply_b_dec_to_input\": false, "
        + "\"normalize_activations\": \"none\", \"metadata\": {\"hook_name\": \"blocks.1.ln2.hook_normalized\", "
        + "\"hook_name_out\": \"blocks.1.hook_mlp_out\"}}");
    java.util.Map<String, dev.loupe.sdk.io.TensorData> w = new java.util.LinkedHashMap<>();
    w.put("W_enc", dev.loupe.sdk.io.TensorData.f32(new float[] {1, 0, 0, 1}, 2, 2));
    w.put("b_enc", dev.loupe.sdk.io.TensorData.f32(new float[2], 2));
    w.put("W_dec", dev.loupe.sdk.io.TensorData.f32(new float[] {1, 0, 0, 0, 1, 0}, 2, 3));
    w.put("b_dec", dev.loupe.sdk.io.TensorData.f32(new float[] {0, 0, 1}, 3));
    w.put("threshold", dev.loupe.sdk.io.TensorData.f32(new float[] {0.5f, 0.5f}, 2));
    // [d_out, d_in]: out = x W_skip^T
    w.put("W_skip", dev.loupe.sdk.io.TensorData.f32(new float[] {0, 0, 0, 0, 2, 3}, 3, 2));
    Safetensors.write(dir.resolve("sae_weights.safetensors"), w, null);
    SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(manager, dir);
    assertThat(loaded.coder().layout()).isEqualTo(SparseCoder.Layout.transcoder(2, 3, 2, true));
    assertThat(loaded.coder().activation()).isEqualTo(new SparseActivation.JumpRelu());
    assertThat(loaded.info().hookNameOut()).isEqualTo("blocks.1.hook_mlp_out");
    try (NDManager m = manager.newSubManager()) {
      // x = (1, 0.25): latent 1 stays under its threshold; out = (1, 0, 0) + (0, 0, 1) + (0, 0, 2 + 0.75)
      ai.djl.ndarray.NDList out = loaded.coder().forward(m.create(new float[] {1, 0.25f}, new ai.djl.ndarray.types.Shape(1, 2)));
      assertThat(out.get(0).toFloatArray()).containsExactly(1, 0);
      assertThat(out.get(1).toFloatArray()).containsExactly(1, 0, 3.75f);
    }
    loaded.coder().close();
  }

  @Test
  void crosscoderWithThreeSourceScalesSaveThenLoadIsBitExactWithItsSourceNames() throws IOException {
    java.util.List<String> sources = java.util.List.of("base/blocks.4.hook_resid_post", "chat/blocks.4.hook_resid_post",
        "chat/blocks.5.hook_resid_post");
    for (SparseActivation act : new SparseActivation[] {new SparseActivation.Relu(), new SparseActivation.BatchTopK(5)}) {
      try (SparseCoderTrainer t = trainedCrosscoder(act, new PlantedFeatures(SOURCES * D_SOURCE, 36, 0.08, 14), 20)) {
        float[] scales = t.coder().inputScales();
        assertThat(scales[0]).isNotEqualTo(scales[1]).isNotEqualTo(scales[2]);
        assertThat(scales[1]).isNotEqualTo(scales[2]);
        Path dir = tmp.resolve("crosscoder-" + act.name());
        SparseCoderFiles.save(t.coder(), dir, new SparseCoderFiles.CoderInfo("base+chat", null, null, sources), null);
        JsonNode cfg = new ObjectMapper().readTree(dir.resolve("cfg.json").toFile());
        assertThat(cfg.get("architecture").asText()).isEqualTo("crosscoder");
        assertThat(cfg.get("loupe_sources").asInt()).isEqualTo(SOURCES);
        assertThat(cfg.get("loupe_input_scales")).hasSize(SOURCES);
        SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(manager, dir);
        assertThat(loaded.coder().layout()).isEqualTo(SparseCoder.Layout.crosscoder(D_SOURCE, SOURCES, 48));
        assertSameCoder(t.coder(), loaded.coder());
        assertThat(loaded.info().sources()).containsExactlyElementsOf(sources);
        assertThat(loaded.info().modelName()).isEqualTo("base+chat");
        loaded.coder().close();
      }
    }
  }

  private static void assertCloseOutputs(SparseCoder a, SparseCoder b, ai.djl.ndarray.NDArray x) {
    float[] want = a.forward(x).get(1).toFloatArray();
    float[] got = b.forward(x).get(1).toFloatArray();
    assertThat(got).hasSameSizeAs(want);
    for (int i = 0; i < want.length; i++) {
      assertThat(got[i]).as("output %d", i)
          .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-4f * Math.max(1f, Math.abs(want[i]))));
    }
  }

  @Test
  void foldingTheScalesKeepsASkipTranscodersOutputs() {
    PlantedTranscoderFeatures data = transcoderData(15);
    try (SparseCoderTrainer t = trainedTranscoder(new SparseActivation.TopK(5), true, data, 20);
         NDManager m = manager.newSubManager();
         SparseCoder folded = t.coder().foldInputScale(manager)) {
      assertThat(folded.inputScale()).isEqualTo(1f);
      assertThat(folded.outputScale()).isEqualTo(1f);
      assertThat(folded.weights(SparseCoder.W_SKIP)).isNotEqualTo(t.coder().weights(SparseCoder.W_SKIP));
      assertCloseOutputs(t.coder(), folded, m.create(data.batch(100).x(), new ai.djl.ndarray.types.Shape(100, T_IN)));
    }
  }

  @Test
  void foldingTheScalesKeepsACrosscodersOutputs() {
    PlantedFeatures data = new PlantedFeatures(SOURCES * D_SOURCE, 36, 0.08, 16);
    try (SparseCoderTrainer t = trainedCrosscoder(new SparseActivation.Relu(), data, 20);
         NDManager m = manager.newSubManager();
         SparseCoder folded = t.coder().foldInputScale(manager)) {
      assertThat(folded.inputScales()).containsExactly(1f, 1f, 1f);
      assertCloseOutputs(t.coder(), folded,
          m.create(crosscoderBatch(data, 100), new ai.djl.ndarray.types.Shape(100, SOURCES * D_SOURCE)));
    }
  }

  /** A transcoder run saved at step 30 and resumed reaches the same weights at step 60 as the uninterrupted run. */
  @Test
  void transcoderCheckpointResumesExactly() throws IOException {
    PlantedTranscoderFeatures batches = transcoderData(17);
    PlantedTranscoderFeatures.Batch[] data = new PlantedTranscoderFeatures.Batch[60];
    for (int i = 0; i < data.length; i++) {
      data[i] = batches.batch(64);
    }
    for (SparseActivation act : new SparseActivation[] {new SparseActivation.TopK(4), new SparseActivation.JumpRelu(),
        new SparseActivation.Relu()}) {
      try (SparseCoderTrainer straight = trainedTranscoder(act, true, transcoderData(18), 0);
           SparseCoderTrainer first = trainedTranscoder(act, true, transcoderData(18), 0)) {
        for (int i = 0; i < 60; i++) {
          straight.step(data[i].x(), data[i].y(), 64);
        }
        for (int i = 0; i < 30; i++) {
          first.step(data[i].x(), data[i].y(), 64);
        }
        Path dir = tmp.resolve("transcoder-ckpt-" + act.name());
        SparseCoderFiles.saveCheckpoint(first, dir, new SparseCoderFiles.CoderInfo("demo", "blocks.0.ln2.hook_normalized",
            "blocks.0.hook_mlp_out", null));
        SparseCoderFiles.Checkpoint ckpt = SparseCoderFiles.loadCheckpoint(manager, dir);
        SparseCoderTrainer resumed = ckpt.trainer();
        assertThat(resumed.step()).isEqualTo(30);
        assertThat(ckpt.info().hookNameOut()).isEqualTo("blocks.0.hook_mlp_out");
        for (int i = 30; i < 60; i++) {
          resumed.step(data[i].x(), data[i].y(), 64);
        }
        assertThat(resumed.tokens()).isEqualTo(straight.tokens());
        assertSameCoder(straight.coder(), resumed.coder());
        resumed.close();
        resumed.coder().close();
      }
    }
  }

  /** The same for a crosscoder with three source scales, BatchTopK's running threshold included. */
  @Test
  void crosscoderCheckpointResumesExactly() throws IOException {
    PlantedFeatures batches = new PlantedFeatures(SOURCES * D_SOURCE, 36, 0.08, 19);
    float[][] data = new float[60][];
    for (int i = 0; i < data.length; i++) {
      data[i] = crosscoderBatch(batches, 64);
    }
    for (SparseActivation act : new SparseActivation[] {new SparseActivation.BatchTopK(4), new SparseActivation.Relu()}) {
      try (SparseCoderTrainer straight = trainedCrosscoder(act, new PlantedFeatures(SOURCES * D_SOURCE, 36, 0.08, 20), 0);
           SparseCoderTrainer first = trainedCrosscoder(act, new PlantedFeatures(SOURCES * D_SOURCE, 36, 0.08, 20), 0)) {
        for (int i = 0; i < 60; i++) {
          straight.step(data[i], 64);
        }
        for (int i = 0; i < 30; i++) {
          first.step(data[i], 64);
        }
        Path dir = tmp.resolve("crosscoder-ckpt-" + act.name());
        SparseCoderFiles.saveCheckpoint(first, dir, new SparseCoderFiles.CoderInfo("base+chat", null, null,
            java.util.List.of("a", "b", "c")));
        SparseCoderTrainer resumed = SparseCoderFiles.loadCheckpoint(manager, dir).trainer();
        boolean batchTopK = act instanceof SparseActivation.BatchTopK;
        if (batchTopK) {
          assertThat(resumed.batchTopKThreshold()).isPositive().isEqualTo(first.batchTopKThreshold());
        }
        for (int i = 30; i < 60; i++) {
          resumed.step(data[i], 64);
        }
        if (batchTopK) {
          assertThat(resumed.batchTopKThreshold()).isEqualTo(straight.batchTopKThreshold());
        }
        assertSameCoder(straight.coder(), resumed.coder());
        resumed.close();
        resumed.coder().close();
      }
    }
  }
}
