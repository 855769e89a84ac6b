package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** BERT Hugging Face directories: round trips, task-model checkpoints, encoder tokenizers, named errors. */
class BertHfDirectoryTest {
  private static final int[][] TOKENS = {"BERT in.".chars().toArray(), "CLS".chars().toArray()};
  private static final BertConfig CONFIG = new BertConfig(256, 32, 2, 32, 2, 4, 64, 1e-12);

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

  private float[] hidden(HookedTransformer m) {
    return m.forward(TOKENS, ForwardHooks.none(), manager).logits().toFloatArray();
  }

  private LoadedModel load() {
    return HfDirectory.load(dir, dir.toString(), manager);
  }

  /** Writes the model's weights, each name prefixed and {@code extra} added, with the given config.json text. */
  private void writeCheckpoint(BertModel m, String prefix, String configJson, Map<String, TensorData> extra,
      String tokenizerJson) throws Exception {
    Files.createDirectories(dir);
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    m.weights().forEach((name, a) -> tensors.put(prefix + name, TensorData.floats(DType.F32, a.toFloatArray(),
        a.getShape().getShape())));
    tensors.putAll(extra);
    Safetensors.write(dir.resolve(HfDirectory.WEIGHTS), tensors, Map.of("format", "pt"));
    Files.writeString(dir.resolve(HfDirectory.CONFIG), configJson);
    Files.writeString(dir.resolve(HfDirectory.TOKENIZER), tokenizerJson);
  }

  private static TensorData zeros(long... shape) {
    int n = 1;
    for (long s : shape) {
      n *= (int) s;
    }
    return TensorData.floats(DType.F32, new float[n], shape);
  }

  @Test
  void aSavedBertReloadsToItsConfigAndBitIdenticalWeightsAndHiddenStates() throws Exception {
    BertModel model = BertReferenceTest.randomAffine(CONFIG, 3, manager);
    HfDirectory.save(model, ByteTokenizer.instance(), dir);
    try (LoadedModel loaded = load()) {
      BertModel back = (BertModel) loaded.model();
      assertThat(back.config()).isEqualTo(CONFIG);
      assertThat(back.causal()).isFalse();
      model.weights().forEach((name, a) -> assertThat(back.weight(name).toFloatArray()).as(name)
          .containsExactly(a.toFloatArray()));
      assertThat(hidden(back)).containsExactly(hidden(model));
    }
  }

  @Test
  void aMaskedLmCheckpointLoadsWithoutItsPrefixHeadsAndBuffers() throws Exception {
    BertModel model = BertReferenceTest.randomAffine(CONFIG, 4, manager);
    Map<String, TensorData> extra = new LinkedHashMap<>();
    extra.put("bert.embeddings.position_ids", TensorData.floats(DType.F32, new float[32], new long[] {1, 32}));
    extra.put("bert.pooler.dense.weight", zeros(32, 32));
    extra.put("bert.pooler.dense.bias", zeros(32));
    extra.put("cls.predictions.bias", zeros(256));
    extra.put("cls.predictions.transform.dense.weight", zeros(32, 32));
    writeCheckpoint(model, "bert.", CONFIG.toJson(), extra, ByteTokenizer.instance().toTokenizerJson());
    try (LoadedModel loaded = load()) {
      assertThat(loaded.model().weights().keySet()).containsExactlyElementsOf(model.weights().keySet());
      assertThat(hidden(loaded.model())).containsExactly(hidden(model));
    }
  }

  @Test
  void aBertTokenizerIsLoadedWithItsSpecialTokens() throws Exception {
    String json;
    try (InputStream in = getClass().getResourceAsStream("/bge-small-en-v1.5-tokenizer.json")) {
      json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    BertConfig config = new BertConfig(30522, 32, 2, 32, 1, 4, 64, 1e-12);
    writeCheckpoint(BertModel.random(config, 0, manager), "", config.toJson(), Map.of(), json);
    try (LoadedModel loaded = load()) {
      int[] ids = loaded.tokenizer().encode("hello world");
      assertThat(loaded.tokenizer().tokenText(ids[0])).isEqualTo("[CLS]");
      assertThat(loaded.tokenizer().tokenText(ids[ids.length - 1])).isEqualTo("[SEP]");
    }
  }

  @Test
  void anActivationOtherThanExactGeluIsRefusedNamingFileAndField() throws Exception {
    writeCheckpoint(BertModel.random(CONFIG, 0, manager), "", CONFIG.toJson().replace("\"gelu\"", "\"gelu_new\""),
        Map.of(), ByteTokenizer.instance().toTokenizerJson());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("config.json").toString())
        .hasMessageContaining("hidden_act is 'gelu_new'");
  }

  @Test
  void relativePositionEmbeddingsAreRefusedNamingFileAndField() throws Exception {
    writeCheckpoint(BertModel.random(CONFIG, 0, manager), "",
        CONFIG.toJson().replace("\"absolute\"", "\"relative_key\""), Map.of(),
        ByteTokenizer.instance().toTokenizerJson());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("config.json").toString())
        .hasMessageContaining("position_embedding_type is 'relative_key'");
  }

  @Test
  void aMisShapedWeightIsNamedWithTheFileTensorAndConfigFields() throws Exception {
    BertConfig wider = new BertConfig(256, 32, 2, 32, 2, 4, 96, 1e-12);
    writeCheckpoint(BertModel.random(CONFIG, 0, manager), "bert.", wider.toJson(), Map.of(),
        ByteTokenizer.instance().toTokenizerJson());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("model.safetensors").toString())
        .hasMessageContaining("tensor \"bert.encoder.layer.0.intermediate.dense.").hasMessageContaining("has shape [64")
        .hasMessageContaining("intermediate_size 96");
  }

  @Test
  void aMissingFieldIsNamed() throws Exception {
    writeCheckpoint(BertModel.random(CONFIG, 0, manager), "", CONFIG.toJson().replace("\"num_attention_heads\"",
        "\"n_head\""), Map.of(), ByteTokenizer.instance().toTokenizerJson());
    assertThatThrownBy(this::load).hasMessageContaining("config.json").hasMessageContaining("num_attention_heads");
  }

  @Test
  void randomBertReferencesOpenAsSeededEncoders() {
    ModelRegistry r = ModelRegistry.withDefaults();
    try (LoadedModel a = r.load("random-bert:2x64", manager); LoadedModel b = r.load("random-bert:2x64x2@0", manager);
        LoadedModel c = r.load("random-bert:2x64x2@1", manager)) {
      assertThat(a.model().architecture()).isEqualTo("bert");
      assertThat(a.model().nLayers()).isEqualTo(2);
      assertThat(a.model().nHeads()).isEqualTo(2);
      assertThat(a.model().dMlp()).isEqualTo(256);
      assertThat(hidden(b.model())).containsExactly(hidden(a.model()));
      assertThat(hidden(c.model())).isNotEqualTo(hidden(a.model()));
    }
    assertThatThrownBy(() -> r.load("random-bert:2x64x5", manager)).hasMessageContaining("random-bert:2x64x5")
        .hasMessageContaining("num_attention_heads");
    assertThatThrownBy(() -> r.load("random-bert:big", manager)).hasMessageContaining("malformed")
        .hasMessageContaining("random-bert:<layers>x<d_model>");
  }
}
