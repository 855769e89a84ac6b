package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.io.HalfFloats;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import dev.loupe.sdk.io.TensorData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hugging Face model directories: what Loupe writes, what it reads, and how it names bad input. */
class HfDirectoryTest {
  private static final int[][] TOKENS = {"Loupe looks in.".chars().toArray(), "GPT".chars().toArray()};

  @TempDir
  Path tmp;

  private NDManager manager;
  private Gpt2Model model;
  private Path dir;

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    model = TestModels.randomAffine(TestModels.smallConfig(), 3, manager);
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

  /**
   * Writes {@code model} as a checkpoint the way other tools might: weights stored as {@code dtype}
   * under {@code rename}d names, plus {@code extra} tensors, with config.json and tokenizer.json.
   */
  private void writeCheckpoint(Gpt2Model m, DType dtype, UnaryOperator<String> rename, Map<String, TensorData> extra)
      throws IOException {
    Files.createDirectories(dir);
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    m.weights().forEach((name, a) -> tensors.put(rename.apply(name),
        TensorData.floats(dtype, a.toFloatArray(), a.getShape().getShape())));
    tensors.putAll(extra);
    Safetensors.write(dir.resolve(HfDirectory.WEIGHTS), tensors, Map.of("format", "pt"));
    Files.writeString(dir.resolve(HfDirectory.CONFIG), m.config().toJson());
    Files.writeString(dir.resolve(HfDirectory.TOKENIZER), ByteTokenizer.instance().toTokenizerJson());
  }

  private void writeCheckpoint(DType dtype) throws IOException {
    writeCheckpoint(model, dtype, UnaryOperator.identity(), Map.of());
  }

  @Test
  void aSavedDirectoryReloadsToBitIdenticalLogits() throws Exception {
    model.saveHfDirectory(dir, ByteTokenizer.instance());
    try (LoadedModel loaded = load()) {
      assertThat(loaded.gpt2().config()).isEqualTo(model.config());
      assertThat(logits(loaded.model())).containsExactly(logits(model));
      assertThat(loaded.tokenizer().encode("é!")).containsExactly(0xc3, 0xa9, '!');
    }
  }

  @Test
  void aSavedDirectoryHoldsConfigFp32WeightsAndTokenizerUnderHuggingFaceNames() throws Exception {
    model.saveHfDirectory(dir, ByteTokenizer.instance());
    try (Stream<Path> files = Files.list(dir); Stream<Path> siblings = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("config.json", "model.safetensors", "tokenizer.json");
      assertThat(siblings).containsExactly(dir);
    }
    try (SafetensorsFile f = Safetensors.open(dir.resolve("model.safetensors"))) {
      assertThat(f.names()).containsExactlyInAnyOrderElementsOf(Gpt2Model.weightShapes(model.config()).keySet());
      assertThat(f.tensors().values()).allSatisfy(t -> assertThat(t.dtype()).isEqualTo(DType.F32));
      assertThat(f.metadata()).containsEntry("format", "pt");
    }
    Set<PosixFilePermission> readable = EnumSet.copyOf(Files.getPosixFilePermissions(dir));
    readable.retainAll(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OTHERS_READ));
    assertThat(Files.getPosixFilePermissions(dir.resolve("model.safetensors")))
        .as("files are as readable as their directory").containsAll(readable);
    assertThat(Gpt2Config.fromJson(Files.readString(dir.resolve("config.json")))).isEqualTo(model.config());
    assertThat(Files.readString(dir.resolve("tokenizer.json"))).isEqualTo(ByteTokenizer.instance().toTokenizerJson());
  }

  @Test
  void savingOverAModelDirectoryReplacesTheModelAndKeepsOtherFiles() throws Exception {
    model.saveHfDirectory(dir, ByteTokenizer.instance());
    Files.writeString(dir.resolve("README.md"), "model card");
    Gpt2Model other = TestModels.randomAffine(TestModels.smallConfig(), 4, manager);
    other.saveHfDirectory(dir, ByteTokenizer.instance());
    try (LoadedModel loaded = load()) {
      assertThat(logits(loaded.model())).containsExactly(logits(other));
    }
    assertThat(dir.resolve("README.md")).hasContent("model card");
  }

  @Test
  void aTokenizerWithoutATokenizerJsonFormLeavesNoDirectory() throws Exception {
    Tokenizer plain = new Tokenizer() {
      @Override
      public int vocabSize() {
        return 2;
      }

      @Override
      public int[] encode(String text) {
        return new int[0];
      }

      @Override
      public String decode(int[] tokenIds) {
        return "";
      }

      @Override
      public String tokenText(int tokenId) {
        return "";
      }
    };
    assertThatThrownBy(() -> model.saveHfDirectory(dir, plain)).isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("tokenizer.json");
    try (Stream<Path> left = Files.list(tmp)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void aShardedCheckpointWithAnIndexLoads() throws Exception {
    model.saveHfDirectory(dir, ByteTokenizer.instance());
    Files.delete(dir.resolve(HfDirectory.WEIGHTS));
    Map<String, TensorData> first = new LinkedHashMap<>();
    Map<String, TensorData> second = new LinkedHashMap<>();
    ObjectNode index = new ObjectMapper().createObjectNode();
    index.putObject("metadata").put("total_size", 4 * model.config().parameterCount());
    ObjectNode map = index.putObject("weight_map");
    model.weights().forEach((name, a) -> {
      boolean early = name.startsWith("w") || name.startsWith("h.0.");
      (early ? first : second).put(name, TensorData.f32(a.toFloatArray(), a.getShape().getShape()));
      map.put(name, early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
    });
    Safetensors.write(dir.resolve("model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
    Safetensors.write(dir.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
    Files.writeString(dir.resolve(HfDirectory.WEIGHTS_INDEX), index.toPrettyString());
    try (LoadedModel loaded = load()) {
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
  }

  @Test
  void anF16CheckpointLoadsWidenedExactly() throws Exception {
    writeCheckpoint(DType.F16);
    try (LoadedModel loaded = load()) {
      for (Map.Entry<String, NDArray> e : model.weights().entrySet()) {
        float[] stored = e.getValue().toFloatArray();
        float[] expected = new float[stored.length];
        for (int i = 0; i < stored.length; i++) {
          expected[i] = HalfFloats.halfToFloat(HalfFloats.floatToHalf(stored[i]));
        }
        assertThat(loaded.model().weight(e.getKey()).toFloatArray()).as(e.getKey()).containsExactly(expected);
      }
    }
  }

  @Test
  void aBf16CheckpointLoadsWidenedExactly() throws Exception {
    writeCheckpoint(DType.BF16);
    try (LoadedModel loaded = load()) {
      for (Map.Entry<String, NDArray> e : model.weights().entrySet()) {
        float[] stored = e.getValue().toFloatArray();
        float[] expected = new float[stored.length];
        for (int i = 0; i < stored.length; i++) {
          expected[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(stored[i]));
        }
        assertThat(loaded.model().weight(e.getKey()).toFloatArray()).as(e.getKey()).containsExactly(expected);
      }
    }
  }

  @Test
  void lmHeadCheckpointNamesWithTiedHeadAndMaskBuffersLoad() throws Exception {
    // As GPT2LMHeadModel's state_dict names them, with the tied head and the old causal-mask buffers.
    int ctx = model.config().nPositions();
    NDArray wte = model.weight("wte.weight");
    writeCheckpoint(model, DType.F32, name -> "transformer." + name, Map.of(
        "lm_head.weight", TensorData.f32(wte.toFloatArray(), wte.getShape().getShape()),
        "transformer.h.0.attn.bias", TensorData.f32(new float[ctx * ctx], 1, 1, ctx, ctx),
        "transformer.h.1.attn.masked_bias", TensorData.f32(new float[] {-1e4f})));
    try (LoadedModel loaded = load()) {
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
  }

  @Test
  void theDefaultRegistryOpensADirectoryPath() throws Exception {
    model.saveHfDirectory(dir, ByteTokenizer.instance());
    try (LoadedModel loaded = ModelRegistry.withDefaults().load(dir.toString(), manager)) {
      assertThat(loaded.id()).isEqualTo(dir.toString());
      assertThat(loaded.tokenizer()).isInstanceOf(HfTokenizer.class);
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
    try (LocalModelSession session = LocalModelSession.open(dir.toString())) {
      assertThat(session.info().nLayers()).isEqualTo(2);
      assertThat(session.decode(session.encode("ok"))).isEqualTo("ok");
    }
  }

  @Test
  void closingTheModelFreesItsNativeTokenizer() throws Exception {
    model.saveHfDirectory(dir, ByteTokenizer.instance());
    LoadedModel loaded = load();
    loaded.close();
    assertThatThrownBy(() -> loaded.tokenizer().encode("x")).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aPathThatIsNoDirectoryIsReportedAsSuch() {
    String ref = tmp.resolve("no-such-model").toString();
    assertThatThrownBy(() -> ModelRegistry.withDefaults().load(ref, manager))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("model directory " + ref + " does not exist");
  }

  @Test
  void aMissingConfigJsonIsNamed() throws Exception {
    Files.createDirectories(dir);
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir + " has no config.json");
  }

  @Test
  void anUnsupportedModelTypeIsNamedWithTheFileAndField() throws Exception {
    writeCheckpoint(DType.F32);
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"falcon\", \"hidden_size\": 32}");
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessage(dir.resolve("config.json") + ": model_type 'falcon' is not supported yet; supported: gpt2, llama, mistral, qwen2, gpt_neox, bert");
  }

  @Test
  void aConfigOptionThatChangesTheArithmeticIsRefused() throws Exception {
    writeCheckpoint(DType.F32);
    ObjectNode config = (ObjectNode) new ObjectMapper().readTree(model.config().toJson());
    config.put("scale_attn_by_inverse_layer_idx", true);
    Files.writeString(dir.resolve("config.json"), config.toPrettyString());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(dir.resolve("config.json") + ": field scale_attn_by_inverse_layer_idx is true;");
  }

  @Test
  void aConfigWithAnOutOfRangeFieldIsNamedWithTheFile() throws Exception {
    writeCheckpoint(DType.F32);
    Files.writeString(dir.resolve("config.json"), model.config().toJson().replace("\"n_head\" : 4", "\"n_head\" : 5"));
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessage(dir.resolve("config.json") + ": config field n_embd (32) must be divisible by n_head (5)");
  }

  @Test
  void aMissingTokenizerJsonIsNamed() throws Exception {
    writeCheckpoint(DType.F32);
    Files.delete(dir.resolve("tokenizer.json"));
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir + " has no tokenizer.json");
  }

  @Test
  void missingWeightsAreNamed() throws Exception {
    writeCheckpoint(DType.F32);
    Files.delete(dir.resolve("model.safetensors"));
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir + " has no weights: expected model.safetensors or model.safetensors.index.json");
  }

  @Test
  void aWeightMissingFromTheFileIsNamed() throws Exception {
    writeCheckpoint(DType.F32);
    Path weights = dir.resolve("model.safetensors");
    Map<String, TensorData> kept = new LinkedHashMap<>();
    model.weights().forEach((name, a) -> {
      if (!name.equals("ln_f.bias")) {
        kept.put(name, TensorData.f32(a.toFloatArray(), a.getShape().getShape()));
      }
    });
    Safetensors.write(weights, kept, Map.of());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(weights + ": weight \"ln_f.bias\" is missing");
  }

  @Test
  void aWeightWhoseShapeDisagreesWithConfigJsonNamesTheFileAndTheConfigFields() throws Exception {
    writeCheckpoint(DType.F32);
    Gpt2Config c = model.config();
    Gpt2Config longer = new Gpt2Config(c.vocabSize(), 32, c.nEmbd(), c.nLayer(), c.nHead(), c.nInner(),
        c.layerNormEpsilon(), c.activationFunction());
    Files.writeString(dir.resolve("config.json"), longer.toJson());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessage(dir.resolve("model.safetensors") + ": tensor \"wpe.weight\" has shape [16, 32] but config.json "
            + "(vocab_size 256, n_positions 32, n_embd 32, n_inner 128, n_layer 2) gives wpe.weight the shape [32, 32]");
  }

  @Test
  void anUnknownTensorNameIsNamedWithItsFile() throws Exception {
    writeCheckpoint(model, DType.F32, UnaryOperator.identity(),
        Map.of("h.2.ln_1.weight", TensorData.f32(new float[32], 32)));
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("model.safetensors") + ": tensor \"h.2.ln_1.weight\" is not a weight of a "
            + "GPT-2 with n_layer 2");
  }

  @Test
  void anIndexPointingToAMissingShardNamesTheIndexEntryAndTheShard() throws Exception {
    writeCheckpoint(DType.F32);
    Files.move(dir.resolve("model.safetensors"), dir.resolve("model-00001-of-00002.safetensors"));
    ObjectNode index = new ObjectMapper().createObjectNode();
    ObjectNode map = index.putObject("weight_map");
    for (String name : model.weights().keySet()) {
      map.put(name, name.equals("ln_f.weight") ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors");
    }
    Path indexFile = dir.resolve("model.safetensors.index.json");
    Files.writeString(indexFile, index.toPrettyString());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessage(indexFile + ": weight_map[\"ln_f.weight\"] points to shard model-00002-of-00002.safetensors, "
            + "which does not exist in " + dir);
  }

  @Test
  void anIndexMayNotPointOutsideTheDirectory() throws Exception {
    writeCheckpoint(DType.F32);
    Files.move(dir.resolve("model.safetensors"), tmp.resolve("outside.safetensors"));
    ObjectNode index = new ObjectMapper().createObjectNode();
    ObjectNode map = index.putObject("weight_map");
    model.weights().keySet().forEach(name -> map.put(name, "../outside.safetensors"));
    Files.writeString(dir.resolve("model.safetensors.index.json"), index.toPrettyString());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("weight_map[\"wte.weight\"] = \"../outside.safetensors\" must name a file in " + dir);
  }

  @Test
  void aTensorThatIsNotFloatingPointIsNamed() throws Exception {
    writeCheckpoint(model, DType.F32, UnaryOperator.identity(),
        Map.of("ln_f.bias", TensorData.i32(new int[32], 32)));
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("model.safetensors") + ": tensor \"ln_f.bias\" has dtype I32");
  }

  @Test
  void aMalformedSafetensorsFileIsNamed() throws Exception {
    writeCheckpoint(DType.F32);
    Files.write(dir.resolve("model.safetensors"), new byte[] {1, 2, 3});
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("model.safetensors").toString());
  }

  @Test
  void aTokenizerLargerThanTheVocabularyIsNamed() throws Exception {
    Gpt2Config c = model.config();
    Gpt2Model small = TestModels.randomAffine(new Gpt2Config(200, c.nPositions(), c.nEmbd(), c.nLayer(), c.nHead(),
        c.nInner(), c.layerNormEpsilon(), c.activationFunction()), 1, manager);
    writeCheckpoint(small, DType.F32, UnaryOperator.identity(), Map.of());
    assertThatThrownBy(this::load).isInstanceOf(IllegalArgumentException.class)
        .hasMessage(dir.resolve("tokenizer.json") + " has 256 token ids but " + dir.resolve("config.json")
            + " field vocab_size is 200");
  }

  @Test
  void onlyPathLikeReferencesAndExistingDirectoriesAreHandled() {
    HfDirectoryResolver r = new HfDirectoryResolver();
    assertThat(List.of("/x", "./x", "../x", tmp.toString())).allMatch(r::handles);
    assertThat(List.of("tiny", "random-gpt2:2x64", "hf:org/name", "")).noneMatch(r::handles);
  }
}
