package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.sdk.io.AtomicFiles;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import dev.loupe.sdk.io.TensorData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Saves and loads sparse coders in the SAELens directory layout ({@code cfg.json},
 * {@code sae_weights.safetensors} with W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec and
 * for JumpReLU threshold, {@code sparsity.safetensors} with log_feature_sparsity), and training
 * checkpoints (that layout plus the optimiser state and counters). Directories are written to a
 * temp sibling and renamed into place, so a reader never sees half a coder.
 *
 * <p>A coder with input scale s != 1 is saved unfolded with {@code normalize_activations =
 * "expected_average_only_in"} and the factor in {@code loupe_input_scale}, so it reloads bit-exact
 * and can keep training; for SAELens inference save {@link SparseCoder#foldInputScale} instead.
 *
 * <p>Transcoders are written as SAELens writes them (architecture {@code transcoder},
 * {@code skip_transcoder}, {@code jumprelu_transcoder} or {@code jumprelu_skip_transcoder}, the
 * jumprelu_ ones for every coder that infers by thresholds, {@code d_out}, {@code hook_name_out},
 * {@code apply_b_dec_to_input} false, {@code W_skip} as [d_out, d_in]); their target scale is in
 * {@code loupe_output_scale}. Crosscoders have no SAELens form: they use the same files with
 * architecture {@code crosscoder}, {@code loupe_sources} and one input scale per source in
 * {@code loupe_input_scales}, W_enc [sources x d, d_sae] stacking the per-source encoders and
 * W_dec [d_sae, sources x d] holding each latent's per-source decoder vectors side by side.
 * Static and thread-safe (concurrent saves to one directory: the last rename wins).
 */
public final class SparseCoderFiles {
  public static final String CFG = "cfg.json";
  public static final String WEIGHTS = "sae_weights.safetensors";
  public static final String SPARSITY = "sparsity.safetensors";
  public static final String TRAINER_STATE = "trainer_state.safetensors";
  public static final String TRAINER_JSON = "trainer_state.json";

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
  private static final Pattern LAYER = Pattern.compile("blocks\\.(\\d+)\\.");

  private SparseCoderFiles() {
  }

  /**
   * Where a coder's inputs come from: the model and the TransformerLens hook name (either may be
   * null); for a transcoder the hook its output replaces; for a crosscoder each source's name
   * ({@code model/hook}).
   */
  public record CoderInfo(String modelName, String hookName, String hookNameOut, java.util.List<String> sources) {
    public CoderInfo {
      sources = sources == null ? java.util.List.of() : java.util.List.copyOf(sources);
    }

    public CoderInfo(String modelName, String hookName) {
      this(modelName, hookName, null, null);
    }
  }

  /** A coder read from disk with what its cfg.json said. */
  public record Loaded(SparseCoder coder, CoderInfo info, float[] logFeatureSparsity, JsonNode cfg) {
  }

  /** A resumed training run. */
  public record Checkpoint(SparseCoderTrainer trainer, CoderInfo info) {
  }

  /**
   * Writes the coder to {@code dir} in the SAELens layout, replacing what was there.
   *
   * @param featureDensity per-latent firing frequency for {@code sparsity.safetensors}
   *     (log10(density + 1e-10), as SAELens stores it); null writes no sparsity file
   */
  public static void save(SparseCoder coder, Path dir, CoderInfo info, double[] featureDensity) throws IOException {
    writeDirectory(dir, tmp -> writeCoder(coder, tmp, info, featureDensity));
  }

  private static void writeCoder(SparseCoder coder, Path dir, CoderInfo info, double[] density) throws IOException {
    if (density != null && density.length != coder.dSae()) {
      throw new IllegalArgumentException("featureDensity has " + density.length + " values, expected d_sae = " + coder.dSae());
    }
    SparseActivation act = coder.activation();
    SparseCoder.Layout layout = coder.layout();
    ObjectNode cfg = JSON.createObjectNode();
    cfg.put("architecture", architecture(layout, act));
    cfg.put("d_in", coder.dIn());
    cfg.put("d_sae", coder.dSae());
    if (!layout.autoencoder()) {
      cfg.put("d_out", coder.dOut());
    }
    cfg.put("dtype", "float32");
    cfg.put("device", "cpu");
    String hook = info == null ? null : info.hookName();
    String hookOut = info == null ? null : info.hookNameOut();
    cfg.put("model_name", info == null ? null : info.modelName());
    cfg.put("hook_name", hook);
    cfg.put("hook_layer", layerOf(hook));
    cfg.putNull("hook_head_index");
    if (hookOut != null) {
      cfg.put("hook_name_out", hookOut);
      cfg.put("hook_layer_out", layerOf(hookOut));
    }
    cfg.put("activation_fn_str", act instanceof SparseActivation.TopK ? "topk" : "relu");
    ObjectNode kwargs = cfg.putObject("activation_fn_kwargs");
    if (act instanceof SparseActivation.TopK t) {
      kwargs.put("k", t.k());
      cfg.put("k", t.k());
    }
    cfg.put("apply_b_dec_to_input", coder.applyBDecToInput());
    cfg.put("finetuning_scaling_factor", false);
    float[] scales = coder.inputScales();
    boolean scaled = false;
    for (float v : scales) {
      scaled |= v != 1f;
    }
    scaled |= !layout.autoencoder() && coder.outputScale() != 1f;
    cfg.put("normalize_activations", scaled ? "expected_average_only_in" : "none");
    cfg.put("prepend_bos", true);
    cfg.putObject("model_from_pretrained_kwargs");
    // SAELens 6 reads these from "metadata"; earlier versions from the top level
    ObjectNode meta = cfg.putObject("metadata");
    meta.put("model_name", info == null ? null : info.modelName());
    meta.put("hook_name", hook);
    meta.putNull("hook_head_index");
    if (hookOut != null) {
      meta.put("hook_name_out", hookOut);
      meta.put("hook_layer_out", layerOf(hookOut));
    }
    meta.put("prepend_bos", true);
    meta.putObject("model_from_pretrained_kwargs");
    cfg.put("loupe_activation", act.name());
    if (act instanceof SparseActivation.BatchTopK b) {
      cfg.put("loupe_batchtopk_k", b.k());
    }
    cfg.put("loupe_kind", layout.kind());
    if (layout.sources() > 1) {
      cfg.put("loupe_sources", layout.sources());
      com.fasterxml.jackson.databind.node.ArrayNode arr = cfg.putArray("loupe_input_scales");
      for (float v : scales) {
        arr.add(new BigDecimal(Float.toString(v)));
      }
      com.fasterxml.jackson.databind.node.ArrayNode names = cfg.putArray("loupe_source_names");
      if (info != null) {
        info.sources().forEach(names::add);
      }
    } else {
      cfg.put("loupe_input_scale", new BigDecimal(Float.toString(scales[0])));
    }
    if (!layout.autoencoder()) {
      cfg.put("loupe_output_scale", new BigDecimal(Float.toString(coder.outputScale())));
    }
    AtomicFiles.write(dir.resolve(CFG), JSON.writeValueAsBytes(cfg));

    Map<String, TensorData> tensors = new LinkedHashMap<>();
    tensors.put(SparseCoder.W_ENC, TensorData.f32(coder.weights(SparseCoder.W_ENC), coder.dIn(), coder.dSae()));
    tensors.put(SparseCoder.B_ENC, TensorData.f32(coder.weights(SparseCoder.B_ENC), coder.dSae()));
    tensors.put(SparseCoder.W_DEC, TensorData.f32(coder.weights(SparseCoder.W_DEC), coder.dSae(), coder.dOut()));
    tensors.put(SparseCoder.B_DEC, TensorData.f32(coder.weights(SparseCoder.B_DEC), coder.dOut()));
    if (act.architecture().equals("jumprelu")) {
      tensors.put(SparseCoder.THRESHOLD, TensorData.f32(coder.weights(SparseCoder.THRESHOLD), coder.dSae()));
    }
    if (layout.skip()) {
      // SAELens keeps W_skip as [d_out, d_in] and adds x W_skip^T
      tensors.put(SparseCoder.W_SKIP, TensorData.f32(transpose(coder.weights(SparseCoder.W_SKIP), coder.dIn(),
          coder.dOut()), coder.dOut(), coder.dIn()));
    }
    Safetensors.write(dir.resolve(WEIGHTS), tensors, null);
    if (density != null) {
      float[] log = new float[density.length];
      for (int j = 0; j < log.length; j++) {
        log[j] = (float) Math.log10(density[j] + 1e-10);
      }
      Safetensors.write(dir.resolve(SPARSITY), Map.of("log_feature_sparsity", TensorData.f32(log, log.length)), null);
    }
  }

  private static String architecture(SparseCoder.Layout layout, SparseActivation act) {
    if (layout.sources() > 1) {
      return "crosscoder";
    }
    if (!layout.autoencoder()) {
      // a BatchTopK transcoder infers by its threshold, which SAELens reads as JumpReLU
      String jump = act.architecture().equals("jumprelu") ? "jumprelu_" : "";
      return jump + (layout.skip() ? "skip_transcoder" : "transcoder");
    }
    return act.architecture();
  }

  private static int layerOf(String hook) {
    Matcher layer = hook == null ? null : LAYER.matcher(hook);
    return layer != null && layer.lookingAt() ? Integer.parseInt(layer.group(1)) : 0;
  }

  /** A row-major [rows, cols] matrix as [cols, rows]. */
  private static float[] transpose(float[] a, int rows, int cols) {
    float[] t = new float[a.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        t[c * rows + r] = a[r * cols + c];
      }
    }
    return t;
  }

  /**
   * Reads a coder from a SAELens-layout directory (written here or by SAELens: architectures
   * standard, topk, jumprelu and the four transcoders; F32, F16 or BF16 weights).
   *
   * @throws IOException when a file cannot be read, or is malformed (naming the file and field)
   */
  public static Loaded load(NDManager manager, Path dir) throws IOException {
    Path cfgFile = dir.resolve(CFG);
    if (!Files.isRegularFile(cfgFile)) {
      throw new IOException(dir + " holds no " + CFG + "; not a sparse coder directory");
    }
    JsonNode cfg = JSON.readTree(cfgFile.toFile());
    int dIn = requiredInt(cfg, "d_in", cfgFile);
    int dSae = requiredInt(cfg, "d_sae", cfgFile);
    String arch = text(cfg, "architecture");
    boolean transcoder = arch != null && arch.endsWith("transcoder");
    boolean skip = transcoder && arch.endsWith("skip_transcoder");
    int dOut = transcoder ? (cfg.has("d_out") ? requiredInt(cfg, "d_out", cfgFile) : dIn) : dIn;
    int sources = cfg.has("loupe_sources") ? requiredInt(cfg, "loupe_sources", cfgFile) : 1;
    SparseCoder.Layout layout;
    try {
      layout = new SparseCoder.Layout(dIn, dSae, dOut, sources, !transcoder, skip);
    } catch (IllegalArgumentException e) {
      throw new IOException(cfgFile + ": " + e.getMessage(), e);
    }
    SparseActivation act = activation(cfg, cfgFile);
    boolean applyBDec = !transcoder && (!cfg.has("apply_b_dec_to_input") || cfg.get("apply_b_dec_to_input").asBoolean(true));
    String normalize = cfg.path("normalize_activations").asText("none");
    if (!normalize.equals("none") && !normalize.equals("expected_average_only_in")) {
      throw new IOException(cfgFile + ": normalize_activations \"" + normalize
          + "\" is not supported; expected \"none\" or \"expected_average_only_in\"");
    }
    float[] scales = new float[sources];
    java.util.Arrays.fill(scales, 1f);
    float outputScale = 1f;
    if (cfg.hasNonNull("loupe_input_scales")) {
      JsonNode arr = cfg.get("loupe_input_scales");
      if (!arr.isArray() || arr.size() != sources) {
        throw new IOException(cfgFile + ": field \"loupe_input_scales\" must list " + sources + " numbers, got " + arr);
      }
      for (int i = 0; i < sources; i++) {
        scales[i] = arr.get(i).decimalValue().floatValue();
      }
    } else if (cfg.hasNonNull("loupe_input_scale")) {
      java.util.Arrays.fill(scales, cfg.get("loupe_input_scale").decimalValue().floatValue());
    } else if (normalize.equals("expected_average_only_in")) {
      throw new IOException(cfgFile + ": normalize_activations is \"expected_average_only_in\" but no scaling "
          + "factor is recorded; fold the factor into the weights (SAELens fold_activation_norm_scaling_factor) first");
    }
    if (transcoder && cfg.hasNonNull("loupe_output_scale")) {
      outputScale = cfg.get("loupe_output_scale").decimalValue().floatValue();
    }
    Path weights = dir.resolve(WEIGHTS);
    try (SafetensorsFile f = Safetensors.open(weights)) {
      Map<String, float[]> w = new LinkedHashMap<>();
      w.put(SparseCoder.W_ENC, tensor(f, SparseCoder.W_ENC, dIn, dSae));
      w.put(SparseCoder.B_ENC, tensor(f, SparseCoder.B_ENC, dSae));
      w.put(SparseCoder.W_DEC, tensor(f, SparseCoder.W_DEC, dSae, dOut));
      w.put(SparseCoder.B_DEC, tensor(f, SparseCoder.B_DEC, dOut));
      if (act.architecture().equals("jumprelu")) {
        w.put(SparseCoder.THRESHOLD, tensor(f, SparseCoder.THRESHOLD, dSae));
      }
      if (skip) {
        w.put(SparseCoder.W_SKIP, transpose(tensor(f, SparseCoder.W_SKIP, dOut, dIn), dOut, dIn));
      }
      SparseCoder coder;
      try {
        coder = SparseCoder.of(manager, layout, act, applyBDec, scales, outputScale, w);
      } catch (IllegalArgumentException e) {
        throw new IOException(dir + ": " + e.getMessage(), e);
      }
      float[] sparsity = null;
      Path sp = dir.resolve(SPARSITY);
      if (Files.isRegularFile(sp)) {
        try (SafetensorsFile s = Safetensors.open(sp)) {
          sparsity = tensor(s, "log_feature_sparsity", dSae);
        }
      }
      JsonNode meta = cfg.path("metadata");
      java.util.List<String> sourceNames = new java.util.ArrayList<>();
      cfg.path("loupe_source_names").forEach(n -> sourceNames.add(n.asText()));
      CoderInfo info = new CoderInfo(text(cfg, "model_name") != null ? text(cfg, "model_name") : text(meta, "model_name"),
          text(cfg, "hook_name") != null ? text(cfg, "hook_name") : text(meta, "hook_name"),
          text(cfg, "hook_name_out") != null ? text(cfg, "hook_name_out") : text(meta, "hook_name_out"), sourceNames);
      return new Loaded(coder, info, sparsity, cfg);
    }
  }

  private static SparseActivation activation(JsonNode cfg, Path file) throws IOException {
    String loupe = text(cfg, "loupe_activation");
    String arch = text(cfg, "architecture");
    String name = loupe != null ? loupe : arch == null ? "standard" : arch;
    // SAELens before 6 saved TopK coders as architecture "standard" with activation_fn_str "topk"
    if (loupe == null && name.equals("standard") && "topk".equals(text(cfg, "activation_fn_str"))) {
      name = "topk";
    }
    // SAELens transcoders: a plain or skip transcoder is ReLU, a JumpReLU one has thresholds
    if (loupe == null && (name.equals("transcoder") || name.equals("skip_transcoder"))) {
      name = "standard";
    } else if (loupe == null && (name.equals("jumprelu_transcoder") || name.equals("jumprelu_skip_transcoder"))) {
      name = "jumprelu";
    }
    try {
      return switch (name) {
        case "standard", "relu" -> new SparseActivation.Relu();
        case "topk" -> new SparseActivation.TopK(cfg.hasNonNull("k") ? cfg.get("k").asInt()
            : requiredInt(cfg.path("activation_fn_kwargs"), "k", file));
        case "batchtopk" -> new SparseActivation.BatchTopK(requiredInt(cfg, "loupe_batchtopk_k", file));
        case "jumprelu" -> new SparseActivation.JumpRelu();
        default -> throw new IOException(file + ": architecture \"" + name
            + "\" is not supported; expected standard, topk, jumprelu, a transcoder or a Loupe crosscoder");
      };
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  private static String text(JsonNode cfg, String field) {
    JsonNode n = cfg.get(field);
    return n == null || n.isNull() ? null : n.asText();
  }

  private static int requiredInt(JsonNode cfg, String field, Path file) throws IOException {
    JsonNode n = cfg.get(field);
    if (n == null || !n.canConvertToInt()) {
      throw new IOException(file + ": field \"" + field + "\" must be an integer, got " + n);
    }
    return n.asInt();
  }

  private static float[] tensor(SafetensorsFile f, String name, long... shape) throws IOException {
    if (!f.contains(name)) {
      throw new IOException(f.path() + ": tensor \"" + name + "\" is missing");
    }
    if (!java.util.Arrays.equals(f.shape(name), shape)) {
      throw new IOException(f.path() + ": tensor \"" + name + "\" has shape " + java.util.Arrays.toString(f.shape(name))
          + ", expected " + java.util.Arrays.toString(shape));
    }
    try {
      return f.readFloats(name);
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * Writes a resumable checkpoint: the coder (unfolded), Adam's moments, the dead-latent counters,
   * the step counters and the trainer config.
   */
  public static void saveCheckpoint(SparseCoderTrainer trainer, Path dir, CoderInfo info) throws IOException {
    writeDirectory(dir, tmp -> {
      DeadLatentTracker tracker = trainer.deadLatents();
      writeCoder(trainer.coder(), tmp, info, tracker.densityTokens() > 0 ? tracker.density() : null);
      Map<String, TensorData> state = new LinkedHashMap<>();
      for (Map.Entry<String, NDArray> e : trainer.optimizerState().entrySet()) {
        NDArray a = e.getValue();
        state.put(e.getKey(), TensorData.f32(a.toType(DataType.FLOAT32, false).toFloatArray(), a.getShape().getShape()));
      }
      long[] since = tracker.tokensSinceFired();
      long[] fired = tracker.firedCounts();
      state.put("tokens_since_fired", TensorData.i64(since, since.length));
      state.put("fired_counts", TensorData.i64(fired, fired.length));
      Safetensors.write(tmp.resolve(TRAINER_STATE), state, null);
      ObjectNode json = JSON.createObjectNode();
      json.put("step", trainer.step());
      json.put("tokens", trainer.tokens());
      json.put("skipped_rows", trainer.skippedRows());
      json.put("density_tokens", tracker.densityTokens());
      json.put("batchtopk_threshold", Double.toString(trainer.batchTopKThreshold()));
      json.set("config", JSON.valueToTree(trainer.config()));
      AtomicFiles.write(tmp.resolve(TRAINER_JSON), JSON.writeValueAsBytes(json));
    });
  }

  /**
   * Resumes a run saved by {@link #saveCheckpoint}: the next step continues exactly where the saved
   * trainer would have.
   */
  public static Checkpoint loadCheckpoint(NDManager manager, Path dir) throws IOException {
    Path jsonFile = dir.resolve(TRAINER_JSON);
    if (!Files.isRegularFile(jsonFile)) {
      throw new IOException(dir + " holds no " + TRAINER_JSON + "; not a training checkpoint");
    }
    JsonNode json = JSON.readTree(jsonFile.toFile());
    TrainerConfig config;
    try {
      config = JSON.treeToValue(json.get("config"), TrainerConfig.class);
    } catch (IOException | IllegalArgumentException e) {
      throw new IOException(jsonFile + ": field \"config\" is not a valid trainer config: " + e.getMessage(), e);
    }
    Loaded loaded = load(manager, dir);
    SparseCoderTrainer trainer = new SparseCoderTrainer(loaded.coder(), config);
    try (SafetensorsFile f = Safetensors.open(dir.resolve(TRAINER_STATE))) {
      for (Map.Entry<String, NDArray> e : trainer.optimizerState().entrySet()) {
        long[] shape = e.getValue().getShape().getShape();
        e.getValue().set(tensor(f, e.getKey(), shape));
      }
      int dSae = loaded.coder().dSae();
      long[] since = longs(f, "tokens_since_fired", dSae);
      long[] fired = longs(f, "fired_counts", dSae);
      trainer.deadLatents().restore(since, fired, json.path("density_tokens").asLong());
    }
    trainer.restoreCounters(json.path("step").asLong(), json.path("tokens").asLong(), json.path("skipped_rows").asLong(),
        Double.parseDouble(json.path("batchtopk_threshold").asText("NaN")));
    return new Checkpoint(trainer, loaded.info());
  }

  private static long[] longs(SafetensorsFile f, String name, int length) throws IOException {
    if (!f.contains(name) || !java.util.Arrays.equals(f.shape(name), new long[] {length})) {
      throw new IOException(f.path() + ": tensor \"" + name + "\" must exist with shape [" + length + "]");
    }
    return f.readLongs(name);
  }

  /** Fills a directory's content; called once, with an empty temp directory. */
  @FunctionalInterface
  private interface DirectoryBody {
    void fill(Path tmp) throws IOException;
  }

  /**
   * Builds the directory beside its target, then swaps it in: the old content is renamed away and
   * deleted only after the new directory is in place.
   */
  private static void writeDirectory(Path dir, DirectoryBody body) throws IOException {
    Path target = dir.toAbsolutePath();
    Path parent = target.getParent();
    Files.createDirectories(parent);
    String id = UUID.randomUUID().toString().substring(0, 8);
    Path tmp = parent.resolve("." + target.getFileName() + "." + id + ".tmp");
    Files.createDirectory(tmp);
    boolean done = false;
    try {
      body.fill(tmp);
      Path old = null;
      if (Files.exists(target)) {
        old = parent.resolve("." + target.getFileName() + "." + id + ".old");
        Files.move(target, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      try {
        Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        if (old != null) {
          Files.move(old, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        throw e;
      }
      done = true;
      if (old != null) {
        deleteTree(old);
      }
    } finally {
      if (!done) {
        deleteTree(tmp);
      }
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(q -> {
        try {
          Files.delete(q);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
