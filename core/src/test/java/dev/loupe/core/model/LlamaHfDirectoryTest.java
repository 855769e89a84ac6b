package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
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

/** Llama-family Hugging Face directories: round trips, checkpoints as transformers writes them, named errors. */
class LlamaHfDirectoryTest {
  private static final int[][] TOKENS = {"Llamas in.".chars().toArray(), "Qwen".chars().toArray()};

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
  private void writeCheckpoint(LlamaModel m, String configJson, Map<String, TensorData> extra) throws Exception {
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
  void everyVariantReloadsToItsConfigAndBitIdenticalLogits() throws Exception {
    LlamaConfig base = TestModels.smallLlamaConfig();
    LlamaConfig[] variants = {base, base.withRopeScaling(LlamaConfig.RopeScaling.llama3(8, 1, 4, 16)),
        base.asModelType("qwen2").withTiedEmbeddings(true), base.asModelType("mistral")};
    for (int i = 0; i < variants.length; i++) {
      LlamaModel model = TestModels.randomAffineLlama(variants[i], i, manager);
      dir = tmp.resolve("model" + i);
      model.saveHfDirectory(dir, ByteTokenizer.instance());
      try (LoadedModel loaded = load()) {
        assertThat(loaded.llama().config()).isEqualTo(variants[i]);
        assertThat(logits(loaded.model())).as(variants[i].modelType()).containsExactly(logits(model));
      }
    }
  }

  @Test
  void aSavedDirectoryUsesHuggingFaceNamesAndLeavesOutATiedHead() throws Exception {
    LlamaModel model = TestModels.randomAffineLlama(TestModels.smallLlamaConfig().asModelType("qwen2")
        .withTiedEmbeddings(true), 2, manager);
    model.saveHfDirectory(dir, ByteTokenizer.instance());
    try (SafetensorsFile f = Safetensors.open(dir.resolve("model.safetensors"))) {
      assertThat(f.names()).contains("model.embed_tokens.weight", "model.layers.1.self_attn.k_proj.bias",
          "model.layers.0.mlp.gate_proj.weight", "model.norm.weight").doesNotContain("lm_head.weight",
          "model.layers.0.self_attn.o_proj.bias");
      assertThat(f.info("model.layers.0.self_attn.k_proj.weight").shape()).containsExactly(16, 32);
    }
    assertThat(new ObjectMapper().readTree(dir.resolve("config.json").toFile()).get("architectures").get(0).asText())
        .isEqualTo("Qwen2ForCausalLM");
  }

  @Test
  void aTiedCheckpointWithAHeadCopyAndRotaryBuffersLoads() throws Exception {
    LlamaConfig tied = TestModels.smallLlamaConfig().withTiedEmbeddings(true);
    LlamaModel model = TestModels.randomAffineLlama(tied, 3, manager);
    float[] embed = model.weight("model.embed_tokens.weight").toFloatArray();
    writeCheckpoint(model, tied.toJson(), Map.of("lm_head.weight", TensorData.floats(DType.F32, embed, 256, 32),
        "model.layers.0.self_attn.rotary_emb.inv_freq", TensorData.floats(DType.F32, new float[4], 4)));
    try (LoadedModel loaded = load()) {
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
  }

  @Test
  void aMisShapedKvProjectionIsNamedWithTheConfigFieldsThatDecideIt() throws Exception {
    LlamaConfig c = TestModels.smallLlamaConfig();
    LlamaModel model = TestModels.randomAffineLlama(c, 4, manager);
    ObjectNode config = (ObjectNode) new ObjectMapper().readTree(c.toJson());
    config.put("num_key_value_heads", 4);
    writeCheckpoint(model, config.toPrettyString(), Map.of());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("model.safetensors") + ": tensor \"model.layers.0.self_attn.k_proj.weight\""
            + " has shape [16, 32]").hasMessageContaining("num_key_value_heads 4").hasMessageContaining("[32, 32]");
  }

  @Test
  void aMissingHeadOfAnUntiedModelIsNamed() throws Exception {
    LlamaConfig c = TestModels.smallLlamaConfig();
    LlamaModel model = TestModels.randomAffineLlama(c, 5, manager);
    writeCheckpoint(model, c.toJson(), Map.of());
    Map<String, TensorData> headless = new LinkedHashMap<>();
    model.weights().forEach((name, a) -> {
      if (!name.equals("lm_head.weight")) {
        headless.put(name, TensorData.floats(DType.F32, a.toFloatArray(), a.getShape().getShape()));
      }
    });
    Safetensors.write(dir.resolve(HfDirectory.WEIGHTS), headless, Map.of("format", "pt"));
    assertThatThrownBy(this::load).hasMessageContaining("weight \"lm_head.weight\" is missing")
        .hasMessageContaining("tie_word_embeddings false");
  }

  @Test
  void anUnsupportedConfigFieldIsNamedWithItsFile() throws Exception {
    LlamaConfig c = TestModels.smallLlamaConfig();
    LlamaModel model = TestModels.randomAffineLlama(c, 6, manager);
    ObjectNode config = (ObjectNode) new ObjectMapper().readTree(c.toJson());
    config.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
    writeCheckpoint(model, config.toPrettyString(), Map.of());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(dir.resolve("config.json") + ": config field rope_scaling.rope_type is 'yarn'");
  }

  @Test
  void randomLlamaReferencesOpenAsSessionsWithLlamaInfo() {
    try (LocalModelSession s = LocalModelSession.open("random-llama:2x64x4x2@7")) {
      ModelInfo info = s.info();
      assertThat(info.architecture()).isEqualTo("llama");
      assertThat(info.nLayers()).isEqualTo(2);
      assertThat(info.dModel()).isEqualTo(64);
      assertThat(info.nHeads()).isEqualTo(4);
      assertThat(info.dHead()).isEqualTo(16);
      assertThat(info.dMlp()).isEqualTo(176);
      assertThat(info.maxContext()).isEqualTo(256);
      assertThat(info.hookWidth("blocks.1.attn.hook_k")).isEqualTo(16);
      assertThat(info.hasHook("hook_pos_embed")).isFalse();
      try (RunResult r = s.run(new int[][] {s.encode("hi")}, Set.of("blocks.0.attn.hook_v"))) {
        assertThat(r.output().getShape().getShape()).containsExactly(1, 2, 256);
        assertThat(r.activation("blocks.0.attn.hook_v").getShape().getShape()).containsExactly(1, 2, 2, 16);
      }
    }
    assertThatThrownBy(() -> LocalModelSession.open("random-llama:2x64x4x3"))
        .hasMessageContaining("random-llama:2x64x4x3").hasMessageContaining("num_key_value_heads");
    assertThatThrownBy(() -> LocalModelSession.open("random-llama:2"))
        .hasMessageContaining("malformed").hasMessageContaining("random-llama:<layers>x<d_model>");
  }
}
