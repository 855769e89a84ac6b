package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.sdk.io.AtomicFiles;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import dev.loupe.sdk.io.TensorFileException;
import dev.loupe.sdk.io.TensorInfo;
import dev.loupe.sdk.io.TensorSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A model stored as a Hugging Face-format directory ({@code config.json}, {@code model.safetensors}
 * or shards listed in {@code model.safetensors.index.json}, {@code tokenizer.json}): loads GPT-2,
 * Llama-family (llama, mistral, qwen2), GPT-NeoX (gpt_neox, e.g. Pythia) and BERT encoder (bert) checkpoints written by {@code transformers} or by Loupe, and
 * writes Loupe's models in that layout. The architecture is chosen by config.json's {@code model_type}.
 *
 * <p>Loading memory: everything is validated from the safetensors headers before any data is
 * read; then tensors are copied one at a time from the memory-mapped file (page cache, not heap)
 * through one reusable direct buffer sized to the largest tensor, widened to fp32 there, and cloned
 * into native (libtorch) memory. Peak: the fp32 model in native memory plus one fp32 copy of the
 * largest tensor in a direct buffer; the Java heap holds only headers and names.
 *
 * <p>All methods are static and thread-safe.
 */
public final class HfDirectory {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String WEIGHTS_INDEX = "model.safetensors.index.json";
  public static final String TOKENIZER = "tokenizer.json";
  /** {@code model_type} values of config.json this runtime can run. */
  public static final List<String> SUPPORTED_MODEL_TYPES = List.of("gpt2", "llama", "mistral", "qwen2",
      NeoxConfig.MODEL_TYPE, BertConfig.MODEL_TYPE);

  private static final String LAYOUT = CONFIG + ", " + WEIGHTS + " (or " + WEIGHTS_INDEX + " with its shards) and "
      + TOKENIZER;
  private static final String PREFIX = "transformer.";
  /** The causal-mask buffers older checkpoints store per layer; the forward pass builds its own mask. */
  private static final Pattern MASK_BUFFER = Pattern.compile("h\\.\\d+\\.attn\\.(masked_)?bias");
  /** Rotary frequency buffers older Llama checkpoints store per layer; the forward pass computes its own. */
  private static final Pattern ROTARY_BUFFER = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");
  /** Mask and rotary buffers GPT-NeoX checkpoints may store per layer; the forward pass computes its own. */
  private static final Pattern NEOX_BUFFER = Pattern.compile(
      "gpt_neox\\.layers\\.\\d+\\.attention\\.(bias|masked_bias|rotary_emb\\.inv_freq)");
  /** Prefix of the encoder's weights in BertForMaskedLM / BertForSequenceClassification checkpoints. */
  private static final String BERT_PREFIX = "bert.";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  private HfDirectory() {
  }

  /**
   * Loads a model directory; the weights go under a child of {@code parent}.
   *
   * @param id the model id to give the result (usually the reference it was opened with)
   * @throws IllegalArgumentException naming the file and the field when a file is missing or
   *     disagrees with config.json (unsupported model_type, unknown, missing or mis-shaped tensors,
   *     an index pointing to a missing shard, a tokenizer larger than vocab_size)
   * @throws UncheckedIOException when a file exists but cannot be read
   */
  public static LoadedModel load(Path dir, String id, NDManager parent) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("model directory " + dir + (Files.exists(dir) ? " is not a directory"
          : " does not exist") + "; expected a directory holding " + LAYOUT);
    }
    Path configFile = dir.resolve(CONFIG);
    if (!Files.isRegularFile(configFile)) {
      throw new IllegalArgumentException("model directory " + dir + " has no " + CONFIG + "; expected " + LAYOUT);
    }
    Layout layout = readLayout(configFile);
    Path tokenizerFile = dir.resolve(TOKENIZER);
    if (!Files.isRegularFile(tokenizerFile)) {
      throw new IllegalArgumentException("model directory " + dir + " has no " + TOKENIZER
          + "; expected the Hugging Face tokenizer that goes with the weights");
    }
    // The tokenizer first: it is cheap, so a bad one fails before the weights are read.
    HfTokenizer tokenizer = layout.encoder() ? encoderTokenizer(tokenizerFile) : HfTokenizer.load(tokenizerFile);
    HookedTransformer model = null;
    try {
      if (tokenizer.vocabSize() > layout.vocabSize()) {
        throw new IllegalArgumentException(tokenizerFile + " has " + tokenizer.vocabSize() + " token ids but "
            + configFile + " field vocab_size is " + layout.vocabSize());
      }
      try (Weights weights = Weights.open(dir, layout)) {
        model = weights.toModel(parent);
      } catch (TensorFileException e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the weights in " + dir + ": " + e.getMessage(), e);
      }
      return new LoadedModel(id, model, tokenizer);
    } catch (RuntimeException e) {
      if (model != null) {
        model.close();
      }
      tokenizer.close();
      throw e;
    }
  }

  /**
   * What the loader needs to know of one architecture: the expected weights, which stored tensors
   * to skip or rename, and how to build the model.
   *
   * @param rename maps a stored tensor name to the weight name, or to null for a tensor to skip
   * @param shapeFields the config.json fields that decide the shapes, for messages
   * @param examples weight names to show when an unknown one is found
   */
  private record Layout(int vocabSize, Map<String, Shape> shapes, UnaryOperator<String> rename, String shapeFields,
      String examples, BiFunction<Map<String, NDArray>, NDManager, HookedTransformer> build, boolean encoder) {
    Layout(int vocabSize, Map<String, Shape> shapes, UnaryOperator<String> rename, String shapeFields,
        String examples, BiFunction<Map<String, NDArray>, NDManager, HookedTransformer> build) {
      this(vocabSize, shapes, rename, shapeFields, examples, build, false);
    }
  }

  /** An encoder is fed with its special tokens ([CLS] ... [SEP]), as its post-processor defines them. */
  private static HfTokenizer encoderTokenizer(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return HfTokenizer.fromJson(text, file.toString(), true);
  }

  private static Layout bertLayout(BertConfig c) {
    // Task heads (pooler, cls.*) and the position_ids buffer are not part of the encoder Loupe runs.
    UnaryOperator<String> rename = stored -> {
      String name = stored.startsWith(BERT_PREFIX) ? stored.substring(BERT_PREFIX.length()) : stored;
      return name.startsWith("pooler.") || name.startsWith("cls.") || name.startsWith("classifier.")
          || name.equals("embeddings.position_ids") ? null : name;
    };
    return new Layout(c.vocabSize(), BertModel.weightShapes(c), rename, "vocab_size " + c.vocabSize()
        + ", max_position_embeddings " + c.maxPositions() + ", type_vocab_size " + c.typeVocabSize()
        + ", hidden_size " + c.hiddenSize() + ", intermediate_size " + c.intermediateSize() + ", num_hidden_layers "
        + c.nLayers(), "a bert with num_hidden_layers " + c.nLayers() + "; expected names such as "
        + "embeddings.word_embeddings.weight, encoder.layer.0.attention.self.query.weight, optionally prefixed with '"
        + BERT_PREFIX + "'", (w, parent) -> BertModel.fromWeights(c, w, parent), true);
  }

  private static Layout gpt2Layout(Gpt2Config c) {
    // lm_head is tied to wte (readLayout checked tie_word_embeddings); mask buffers are recomputed.
    UnaryOperator<String> rename = stored -> {
      String name = stored.startsWith(PREFIX) ? stored.substring(PREFIX.length()) : stored;
      return name.equals("lm_head.weight") || MASK_BUFFER.matcher(name).matches() ? null : name;
    };
    return new Layout(c.vocabSize(), Gpt2Model.weightShapes(c), rename, "vocab_size " + c.vocabSize()
        + ", n_positions " + c.nPositions() + ", n_embd " + c.nEmbd() + ", n_inner " + c.nInner() + ", n_layer "
        + c.nLayer(), "a GPT-2 with n_layer " + c.nLayer() + "; expected names such as wte.weight, "
        + "h.0.attn.c_attn.weight, ln_f.bias, optionally prefixed with '" + PREFIX + "'",
        (w, parent) -> Gpt2Model.fromWeights(c, w, parent));
  }

  private static Layout llamaLayout(LlamaConfig c) {
    // A tied checkpoint may still carry lm_head.weight; transformers ignores it, and so do we.
    UnaryOperator<String> rename = stored -> ROTARY_BUFFER.matcher(stored).matches()
        || (c.tieWordEmbeddings() && stored.equals("lm_head.weight")) ? null : stored;
    return new Layout(c.vocabSize(), LlamaModel.weightShapes(c), rename, "vocab_size " + c.vocabSize()
        + ", hidden_size " + c.hiddenSize() + ", intermediate_size " + c.intermediateSize() + ", num_hidden_layers "
        + c.numHiddenLayers() + ", num_attention_heads " + c.numAttentionHeads() + ", num_key_value_heads "
        + c.numKeyValueHeads() + ", head_dim " + c.headDim() + ", tie_word_embeddings " + c.tieWordEmbeddings()
        + ", attention_bias " + c.attentionBias(), "a " + c.modelType() + " with num_hidden_layers "
        + c.numHiddenLayers() + (c.qkvBias() ? "" : " and no attention biases")
        + "; expected names such as model.embed_tokens.weight, model.layers.0.self_attn.q_proj.weight, "
        + "model.norm.weight", (w, parent) -> LlamaModel.fromWeights(c, w, parent));
  }

  private static Layout neoxLayout(NeoxConfig c) {
    // A tied checkpoint may still carry embed_out.weight; transformers ignores it, and so do we.
    UnaryOperator<String> rename = stored -> NEOX_BUFFER.matcher(stored).matches()
        || (c.tieWordEmbeddings() && stored.equals("embed_out.weight")) ? null : stored;
    return new Layout(c.vocabSize(), NeoxModel.weightShapes(c), rename, "vocab_size " + c.vocabSize()
        + ", hidden_size " + c.hiddenSize() + ", intermediate_size " + c.intermediateSize() + ", num_hidden_layers "
        + c.numHiddenLayers() + ", tie_word_embeddings " + c.tieWordEmbeddings() + ", attention_bias "
        + c.attentionBias(), "a gpt_neox with num_hidden_layers " + c.numHiddenLayers()
        + (c.attentionBias() ? "" : " and no attention biases")
        + "; expected names such as gpt_neox.embed_in.weight, gpt_neox.layers.0.attention.query_key_value.weight, "
        + "embed_out.weight", (w, parent) -> NeoxModel.fromWeights(c, w, parent));
  }

  /**
   * Reads a config.json, checking {@code model_type} first so an unsupported architecture is
   * named as such rather than as a missing field of another one.
   */
  private static Layout readLayout(Path configFile) {
    String text;
    try {
      text = Files.readString(configFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + configFile + ": " + e.getMessage(), e);
    }
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(configFile + " is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(configFile + " must be a JSON object");
    }
    JsonNode type = root.get("model_type");
    if (type == null || !type.isTextual()) {
      throw new IllegalArgumentException(configFile + ": field model_type is missing; supported: "
          + String.join(", ", SUPPORTED_MODEL_TYPES));
    }
    if (!SUPPORTED_MODEL_TYPES.contains(type.textValue())) {
      throw new IllegalArgumentException(configFile + ": model_type '" + type.textValue()
          + "' is not supported yet; supported: " + String.join(", ", SUPPORTED_MODEL_TYPES));
    }
    if (LlamaConfig.MODEL_TYPES.contains(type.textValue())) {
      try {
        return llamaLayout(LlamaConfig.fromJson(text));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(configFile + ": " + e.getMessage(), e);
      }
    }
    if (type.textValue().equals(NeoxConfig.MODEL_TYPE)) {
      try {
        return neoxLayout(NeoxConfig.fromJson(text));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(configFile + ": " + e.getMessage(), e);
      }
    }
    if (type.textValue().equals(BertConfig.MODEL_TYPE)) {
      try {
        return bertLayout(BertConfig.fromJson(text));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(configFile + ": " + e.getMessage(), e);
      }
    }
    // Options that change the forward pass's arithmetic: refuse them rather than compute something else.
    requireFlag(root, configFile, "tie_word_embeddings", true, "this runtime unembeds with wte.weight");
    requireFlag(root, configFile, "scale_attn_weights", true, "this runtime scales attention scores by 1/sqrt(d_head)");
    requireFlag(root, configFile, "scale_attn_by_inverse_layer_idx", false,
        "this runtime does not scale attention by layer index");
    requireFlag(root, configFile, "reorder_and_upcast_attn", false, "this runtime computes attention in fp32 as is");
    requireFlag(root, configFile, "add_cross_attention", false, "this runtime runs decoder-only GPT-2");
    try {
      return gpt2Layout(Gpt2Config.fromJson(text));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(configFile + ": " + e.getMessage(), e);
    }
  }

  private static void requireFlag(JsonNode root, Path configFile, String field, boolean supported, String why) {
    JsonNode v = root.get(field);
    if (v != null && !v.isNull() && !(v.isBoolean() && v.booleanValue() == supported)) {
      throw new IllegalArgumentException(configFile + ": field " + field + " is " + v + "; " + why + " (expected "
          + supported + " or absent)");
    }
  }

  /** Where one weight lives: the open file and the tensor's name in it (perhaps prefixed). */
  private record Located(SafetensorsFile file, TensorInfo info) {
  }

  /** The open safetensors file(s) of a directory, mapped to weight names and validated. */
  private static final class Weights implements AutoCloseable {
    private final Layout layout;
    private final Map<String, SafetensorsFile> files = new LinkedHashMap<>();
    private final Map<String, Located> byWeight = new LinkedHashMap<>();
    /** The file that lists the weights: model.safetensors or the index. */
    private Path source;

    private Weights(Layout layout) {
      this.layout = layout;
    }

    static Weights open(Path dir, Layout layout) throws IOException {
      Weights w = new Weights(layout);
      try {
        Path single = dir.resolve(WEIGHTS);
        Path index = dir.resolve(WEIGHTS_INDEX);
        if (Files.isRegularFile(single)) {
          w.source = single;
          SafetensorsFile f = w.file(single);
          for (TensorInfo t : f.tensors().values()) {
            w.add(f, t);
          }
        } else if (Files.isRegularFile(index)) {
          w.source = index;
          w.openIndex(dir, index);
        } else {
          String hint = Files.exists(dir.resolve("pytorch_model.bin"))
              ? "; pytorch_model.bin (a pickle) is not read: convert it to safetensors" : "";
          throw new IllegalArgumentException("model directory " + dir + " has no weights: expected " + WEIGHTS
              + " or " + WEIGHTS_INDEX + " with its shards" + hint);
        }
        w.checkComplete();
        return w;
      } catch (IOException | RuntimeException e) {
        w.close();
        throw e;
      }
    }

    private SafetensorsFile file(Path path) throws IOException {
      SafetensorsFile f = files.get(path.getFileName().toString());
      if (f == null) {
        f = Safetensors.open(path);
        files.put(path.getFileName().toString(), f);
      }
      return f;
    }

    private void openIndex(Path dir, Path index) throws IOException {
      String text = Files.readString(index, StandardCharsets.UTF_8);
      JsonNode root;
      try {
        root = JSON.readTree(text);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalArgumentException(index + " is not valid JSON: " + e.getOriginalMessage(), e);
      }
      JsonNode map = root == null ? null : root.get("weight_map");
      if (map == null || !map.isObject()) {
        throw new IllegalArgumentException(index + ": field weight_map is missing; expected an object mapping "
            + "each tensor name to its shard file");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String where = index + ": weight_map[\"" + e.getKey() + "\"]";
        if (!e.getValue().isTextual()) {
          throw new IllegalArgumentException(where + " must be a shard file name, got " + e.getValue());
        }
        String shard = e.getValue().textValue();
        Path shardPath;
        try {
          shardPath = dir.resolve(shard);
        } catch (java.nio.file.InvalidPathException ex) {
          throw new IllegalArgumentException(where + " = \"" + shard + "\" is not a file name", ex);
        }
        if (shard.isEmpty() || shard.equals(".") || shard.equals("..")
            || !shardPath.getFileName().toString().equals(shard)) {
          throw new IllegalArgumentException(where + " = \"" + shard + "\" must name a file in " + dir);
        }
        if (!Files.isRegularFile(shardPath)) {
          throw new IllegalArgumentException(where + " points to shard " + shard + ", which does not exist in " + dir);
        }
        SafetensorsFile f = file(shardPath);
        if (!f.contains(e.getKey())) {
          throw new IllegalArgumentException(where + " points to shard " + shard + ", but " + shardPath
              + " has no tensor \"" + e.getKey() + "\"");
        }
        add(f, f.info(e.getKey()));
      }
    }

    /** Maps a stored tensor to its weight and checks it against config.json. */
    private void add(SafetensorsFile f, TensorInfo t) {
      String name = layout.rename().apply(t.name());
      if (name == null) {
        return;
      }
      Shape expected = layout.shapes().get(name);
      String where = f.path() + ": tensor \"" + t.name() + "\"";
      if (expected == null) {
        throw new IllegalArgumentException(where + " is not a weight of " + layout.examples());
      }
      Located before = byWeight.put(name, new Located(f, t));
      if (before != null) {
        throw new IllegalArgumentException(where + " is weight " + name + " a second time (first as \""
            + before.info().name() + "\" in " + before.file().path() + ")");
      }
      if (!Arrays.equals(t.shape(), expected.getShape())) {
        throw new IllegalArgumentException(where + " has shape " + Arrays.toString(t.shape()) + " but config.json ("
            + shapeFields() + ") gives " + name + " the shape " + Arrays.toString(expected.getShape()));
      }
      if (!t.dtype().isFloat()) {
        throw new IllegalArgumentException(where + " has dtype " + t.dtype() + "; expected F32, F16, BF16 or F64");
      }
    }

    private String shapeFields() {
      return layout.shapeFields();
    }

    private void checkComplete() {
      for (Map.Entry<String, Shape> e : layout.shapes().entrySet()) {
        if (!byWeight.containsKey(e.getKey())) {
          throw new IllegalArgumentException(source + ": weight \"" + e.getKey() + "\" is missing; config.json ("
              + shapeFields() + ") needs it with shape " + Arrays.toString(e.getValue().getShape()));
        }
      }
    }

    /** Copies the weights into NDArrays one tensor at a time (see the class comment for memory). */
    HookedTransformer toModel(NDManager parent) {
      long largest = byWeight.values().stream().mapToLong(l -> l.info().elementCount()).max().orElse(0);
      if (largest * Float.BYTES > Integer.MAX_VALUE - 8) {
        Located big = byWeight.values().stream().max(Comparator.comparingLong(l -> l.info().elementCount()))
            .orElseThrow();
        throw new IllegalArgumentException(big.file().path() + ": tensor \"" + big.info().name() + "\" needs "
            + largest * Float.BYTES + " bytes as fp32, more than one 2 GB buffer");
      }
      ByteBuffer scratch = ByteBuffer.allocateDirect((int) (largest * Float.BYTES)).order(ByteOrder.nativeOrder());
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      try (NDManager staging = parent.newSubManager()) {
        for (Map.Entry<String, Located> e : byWeight.entrySet()) {
          TensorInfo t = e.getValue().info();
          fill(scratch, e.getValue());
          NDArray view = staging.create(scratch, new Shape(t.shape()), DataType.FLOAT32);
          // The engine may share the scratch buffer's memory, which the next tensor overwrites.
          NDArray owned = view.duplicate();
          view.close();
          arrays.put(e.getKey(), owned);
        }
        return layout.build().apply(arrays, parent);
      }
    }

    /** Leaves {@code scratch} holding the tensor as native-order fp32, positioned at 0. */
    private static void fill(ByteBuffer scratch, Located l) {
      TensorInfo t = l.info();
      int n = Math.toIntExact(t.elementCount());
      scratch.clear();
      ByteBuffer raw = l.file().raw(t.name());
      if (t.dtype() == DType.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
        scratch.put(raw);
      } else {
        FloatBuffer out = scratch.asFloatBuffer();
        float[] chunk = new float[Math.min(n, 1 << 16)];
        for (int done = 0; done < n; done += chunk.length) {
          int count = Math.min(chunk.length, n - done);
          t.dtype().decodeFloats(raw, chunk, 0, count);
          out.put(chunk, 0, count);
        }
        scratch.position(n * Float.BYTES);
      }
      scratch.flip();
    }

    @Override
    public void close() {
      for (SafetensorsFile f : files.values()) {
        f.close();
      }
    }
  }

  /**
   * Writes a model directory: {@code config.json}, {@code model.safetensors} (fp32, the Hugging Face
   * weight names of the model's architecture, {@code format: pt} metadata so {@code transformers}
   * accepts it) and
   * {@code tokenizer.json}. When {@code dir} does not exist (or is empty) the files are written into
   * a hidden sibling directory that is then renamed into place, so the directory appears complete
   * or not at all; into an existing, non-empty directory each file is replaced atomically, weights
   * and tokenizer first and config.json last.
   *
   * @throws UnsupportedOperationException when the tokenizer has no tokenizer.json form
   * @throws IllegalArgumentException when the tokenizer has more ids than the model's vocab_size, or
   *     {@code dir} is an existing file
   * @throws IOException from the file system; nothing half-written is left at {@code dir}
   */
  public static void save(HookedTransformer model, Tokenizer tokenizer, Path dir) throws IOException {
    if (tokenizer.vocabSize() > model.vocabSize()) {
      throw new IllegalArgumentException("tokenizer has " + tokenizer.vocabSize() + " ids but the model's vocab_size is "
          + model.vocabSize());
    }
    String configJson = configJson(model);
    String tokenizerJson = tokenizer.toTokenizerJson();
    Path target = dir.toAbsolutePath().normalize();
    if (Files.exists(target) && !Files.isDirectory(target)) {
      throw new IllegalArgumentException("cannot save a model to " + target + ": it exists and is not a directory");
    }
    if (Files.isDirectory(target) && !isEmpty(target)) {
      writeFiles(model, configJson, tokenizerJson, target);
      return;
    }
    Path parentDir = target.getParent();
    Files.createDirectories(parentDir);
    // Not createTempDirectory: its owner-only permissions would stay with the published directory.
    Path tmp = parentDir.resolve("." + target.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36)
        + ".tmp");
    Files.createDirectory(tmp);
    boolean moved = false;
    try {
      writeFiles(model, configJson, tokenizerJson, tmp);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot atomically rename " + tmp + " to " + target, e);
      }
      moved = true;
    } finally {
      if (!moved) {
        deleteTree(tmp);
      }
    }
  }

  /** The config.json of a model of a known architecture. */
  private static String configJson(HookedTransformer model) {
    if (model instanceof Gpt2Model g) {
      return g.config().toJson();
    }
    if (model instanceof LlamaModel l) {
      return l.config().toJson();
    }
    if (model instanceof NeoxModel n) {
      return n.config().toJson();
    }
    if (model instanceof BertModel b) {
      return b.config().toJson();
    }
    throw new IllegalArgumentException("cannot save a " + model.architecture() + " model (" + model.getClass().getName()
        + ") as a Hugging Face directory; supported: GPT-2, Llama-family, GPT-NeoX and BERT models");
  }

  private static void writeFiles(HookedTransformer model, String configJson, String tokenizerJson, Path dir)
      throws IOException {
    Map<String, NDArray> weights = model.weights();
    Map<String, TensorSpec> specs = new LinkedHashMap<>();
    weights.forEach((name, a) -> specs.put(name, TensorSpec.of(DType.F32, a.getShape().getShape())));
    try (Safetensors.StreamingWriter w = Safetensors.writer(dir.resolve(WEIGHTS), specs, Map.of("format", "pt"),
        null)) {
      for (String name : w.order()) {
        NDArray a = weights.get(name);
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
          w.write(a.toByteBuffer());
        } else {
          float[] v = a.toFloatArray();
          w.writeFloats(DType.F32, v, 0, v.length);
        }
      }
      w.commit();
    }
    AtomicFiles.write(dir.resolve(TOKENIZER), tokenizerJson.getBytes(StandardCharsets.UTF_8));
    AtomicFiles.write(dir.resolve(CONFIG), configJson.getBytes(StandardCharsets.UTF_8));
  }

  private static boolean isEmpty(Path dir) throws IOException {
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      return !s.iterator().hasNext();
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    List<Path> paths = new ArrayList<>();
    try (Stream<Path> s = Files.walk(root)) {
      s.forEach(paths::add);
    }
    paths.sort(Comparator.reverseOrder());
    for (Path p : paths) {
      Files.deleteIfExists(p);
    }
  }
}
