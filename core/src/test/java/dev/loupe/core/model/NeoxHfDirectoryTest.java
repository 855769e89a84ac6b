package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.RunResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GPT-NeoX Hugging Face directories: round trips, checkpoints as transformers writes them, named errors. */
class NeoxHfDirectoryTest {
  private static final int[][] TOKENS = {"Pythia in.".chars().toArray(), "NeoX".chars().toArray()};

  @TempDir
  Path tmp;

  private NDManager manager;
  private Path dir;

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    dir = tmp.resolve("model");
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  private float[] logits(HookedTransformer m) {
    return m.forward(TOKENS, ForwardHooks.none(), manager).logits().toFloatArray();
  }

  private LoadedModel load() {
    return HfDirectory.load(dir, dir.toString(), manager);
  }

  /** Writes the model's weights (plus {@code extra}) as a checkpoint with the given config.json text. */
  private void writeCheckpoint(NeoxModel m, String configJson, Map<String, TensorData> extra) throws Exception {
    Files.createDirectories(dir);
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    m.weights().forEach((name, a) -> tensors.put(name, TensorData.floats(DType.F32, a.toFloatArray(),
        a.getShape().getShape())));
    tensors.putAll(extra);
    Safetensors.write(dir.resolve(HfDirectory.WEIGHTS), tensors, Map.of("format", "pt"));
    Files.writeString(dir.resolve(HfDirectory.CONFIG), configJson);
    Files.writeString(dir.resolve(HfDirectory.TOKENIZER), ByteTokenizer.instance().toTokenizerJson());
  }

  @Test
  void everyVariantReloadsToItsConfigAndBitIdenticalWeightsAndLogits() throws Exception {
    NeoxConfig base = NeoxModelTest.smallConfig();
    NeoxConfig[] variants = {base, base.with(1.0, false), base.with(true, false, 2.0)};
    for (int i = 0; i < variants.length; i++) {
      NeoxModel model = NeoxModelTest.randomAffine(variants[i], i, manager);
      dir = tmp.resolve("model" + i);
      model.saveHfDirectory(dir, ByteTokenizer.instance());
      try (LoadedModel loaded = load()) {
        NeoxModel back = loaded.neox();
        assertThat(back.config()).isEqualTo(variants[i]);
        assertThat(back.weights().keySet()).containsExactlyElementsOf(model.weights().keySet());
        model.weights().forEach((name, a) -> assertThat(back.weight(name).toFloatArray()).as(name)
            .containsExactly(a.toFloatArray()));
        assertThat(logits(back)).containsExactly(logits(model));
      }
    }
  }

  @Test
  void buffersAndATiedEmbedOutAreIgnoredAsTransformersDoes() throws Exception {
    NeoxConfig tied = NeoxModelTest.smallConfig().with(true, true, 1.0);
    NeoxModel model = NeoxModelTest.randomAffine(tied, 3, manager);
    Map<String, TensorData> extra = new LinkedHashMap<>();
    extra.put("embed_out.weight", TensorData.floats(DType.F32, new float[256 * 32], 256, 32));
    extra.put("gpt_neox.layers.0.attention.rotary_emb.inv_freq", TensorData.floats(DType.F32, new float[1], 1));
    extra.put("gpt_neox.layers.1.attention.masked_bias", TensorData.floats(DType.F32, new float[1], 1));
    // Older checkpoints (Pythia's) store the causal mask as a bool buffer.
    extra.put("gpt_neox.layers.1.attention.bias", TensorData.of(DType.BOOL, new long[] {1, 1, 2, 2},
        java.nio.ByteBuffer.wrap(new byte[] {1, 0, 1, 1})));
    writeCheckpoint(model, tied.toJson(), extra);
    try (LoadedModel loaded = load()) {
      assertThat(loaded.model().architecture()).isEqualTo("gpt_neox");
      assertThatThrownBy(loaded::llama).hasMessageContaining("is a gpt_neox model, not llama");
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
  }

  @Test
  void anFp16CheckpointAsPublishedLoadsWidenedToFp32() throws Exception {
    NeoxConfig c = NeoxModelTest.smallConfig();
    NeoxModel model = NeoxModel.random(c, 5, manager);
    Files.createDirectories(dir);
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    model.weights().forEach((name, a) -> tensors.put(name, TensorData.f16(a.toFloatArray(), a.getShape().getShape())));
    Safetensors.write(dir.resolve(HfDirectory.WEIGHTS), tensors, Map.of("format", "pt"));
    Files.writeString(dir.resolve(HfDirectory.CONFIG), c.toJson().replace("\"float32\"", "\"float16\""));
    Files.writeString(dir.resolve(HfDirectory.TOKENIZER), ByteTokenizer.instance().toTokenizerJson());
    try (LoadedModel loaded = load()) {
      float[] original = model.weight("gpt_neox.layers.0.attention.query_key_value.weight").toFloatArray();
      float[] back = loaded.model().weight("gpt_neox.layers.0.attention.query_key_value.weight").toFloatArray();
      for (int i = 0; i < original.length; i++) {
        assertThat(back[i]).isCloseTo(original[i], org.assertj.core.data.Offset.offset(1e-4f));
      }
    }
  }

  @Test
  void aMisShapedOrUnknownTensorIsNamedWithTheConfigFields() throws Exception {
    NeoxConfig c = NeoxModelTest.smallConfig().with(false, false, 1.0);
    NeoxModel model = NeoxModelTest.randomAffine(c, 4, manager);
    writeCheckpoint(model, c.toJson(), Map.of("gpt_neox.layers.0.attention.dense.bias",
        TensorData.floats(DType.F32, new float[32], 32)));
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tensor \"gpt_neox.layers.0.attention.dense.bias\" is not a weight of a gpt_neox")
        .hasMessageContaining("no attention biases");
    writeCheckpoint(model, c.toJson().replace("\"intermediate_size\" : 64",
        "\"intermediate_size\" : 48"), Map.of());
    assertThatThrownBy(this::load).hasMessageContaining("mlp.dense_").hasMessageContaining("has shape")
        .hasMessageContaining("intermediate_size 48");
    writeCheckpoint(model, c.toJson().replace("\"gelu\"", "\"relu\""), Map.of());
    assertThatThrownBy(this::load).hasMessageContaining("config.json").hasMessageContaining("hidden_act is 'relu'");
  }

  @Test
  void randomNeoxReferencesOpenAsPythiaShapedSessions() {
    try (LocalModelSession s = LocalModelSession.open("random-neox:2x64@7")) {
      ModelInfo info = s.info();
      assertThat(info.architecture()).isEqualTo("gpt_neox");
      assertThat(info.nHeads()).isEqualTo(2);
      assertThat(info.dHead()).isEqualTo(32);
      assertThat(info.dMlp()).isEqualTo(256);
      assertThat(info.maxContext()).isEqualTo(ModelRefs.RANDOM_CONTEXT);
      assertThat(info.hasHook("blocks.0.hook_resid_mid")).as("parallel residual").isFalse();
      assertThat(info.hookWidth("blocks.1.attn.hook_q")).isEqualTo(32);
      try (RunResult r = s.run(new int[][] {s.encode("hi")}, Set.of("blocks.1.hook_resid_post"))) {
        assertThat(r.output().getShape().getShape()).containsExactly(1, 2, 256);
        assertThat(r.activation("blocks.1.hook_resid_post").getShape().getShape()).containsExactly(1, 2, 64);
      }
    }
    assertThatThrownBy(() -> LocalModelSession.open("random-neox:2x32x8"))
        .hasMessageContaining("random-neox:2x32x8").hasMessageContaining("rotary_pct");
    assertThatThrownBy(() -> LocalModelSession.open("random-neox:2"))
        .hasMessageContaining("malformed").hasMessageContaining("random-neox:<layers>x<d_model>");
  }
}
