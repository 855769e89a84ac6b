package dev.loupe.core.model;

import static dev.loupe.core.model.ConfigFields.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The shape of a Llama-family model (model_type {@code llama}, {@code mistral} or {@code qwen2}),
 * read from and written to a Hugging Face {@code config.json} with the same field names.
 *
 * <p>Differences inside the family that change the arithmetic are fields here: grouped-query
 * attention ({@code num_key_value_heads}), an explicit {@code head_dim}, RoPE scaling, tied
 * embeddings and attention biases (Llama's {@code attention_bias} puts a bias on q, k, v and o;
 * Qwen2 always has q/k/v biases and none on o). Mistral's (and Qwen2's, when
 * {@code use_sliding_window}) sliding window is honoured by limiting the context to the window:
 * within it the sliding-window mask equals the causal mask, so no sequence gets a different
 * answer from {@code transformers}, and a longer one is refused.
 *
 * @param headDim the width of one head ({@code head_dim}; hidden_size / heads when absent)
 * @param ropeScaling null for plain RoPE
 * @param slidingWindow the attention window, 0 when attention is not windowed
 */
public record LlamaConfig(String modelType, int vocabSize, int hiddenSize, int intermediateSize,
    int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads, int headDim, int maxPositionEmbeddings,
    double rmsNormEps, double ropeTheta, RopeScaling ropeScaling, boolean tieWordEmbeddings,
    boolean attentionBias, int slidingWindow, String hiddenAct) {

  /** The {@code model_type} values of this family. */
  public static final List<String> MODEL_TYPES = List.of("llama", "mistral", "qwen2");


  /**
   * RoPE frequency scaling as in {@code transformers}' {@code rope_scaling}.
   *
   * <p>{@code linear} divides every frequency by {@code factor}; {@code llama3} divides the low
   * frequencies by {@code factor}, keeps the high ones and interpolates between them;
   * {@code dynamic} (NTK) only changes anything beyond {@code max_position_embeddings}, which is
   * longer than any sequence this runtime accepts, so it computes as plain RoPE.
   *
   * @param lowFreqFactor llama3 only (NaN otherwise)
   * @param highFreqFactor llama3 only (NaN otherwise)
   * @param originalMaxPositionEmbeddings llama3 only (0 otherwise)
   */
  public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
      int originalMaxPositionEmbeddings) {
    public static final List<String> TYPES = List.of("linear", "dynamic", "llama3");

    /**
     * Validates the fields the type uses.
     *
     * @throws IllegalArgumentException naming the rope_scaling field at fault
     */
    public RopeScaling {
      if (!TYPES.contains(type)) {
        throw new IllegalArgumentException("config field rope_scaling.rope_type is '" + type + "'; supported: "
            + TYPES + " (or rope_scaling null)");
      }
      if (!(factor >= 1) || Double.isInfinite(factor)) {
        throw new IllegalArgumentException("config field rope_scaling.factor must be a number >= 1, got " + factor);
      }
      if (type.equals("llama3")) {
        if (!(lowFreqFactor > 0) || Double.isInfinite(lowFreqFactor)) {
          throw new IllegalArgumentException("config field rope_scaling.low_freq_factor must be > 0, got "
              + lowFreqFactor);
        }
        if (!(highFreqFactor > lowFreqFactor) || Double.isInfinite(highFreqFactor)) {
          throw new IllegalArgumentException("config field rope_scaling.high_freq_factor must be greater than "
              + "low_freq_factor (" + lowFreqFactor + "), got " + highFreqFactor);
        }
        if (originalMaxPositionEmbeddings <= 0) {
          throw new IllegalArgumentException("config field rope_scaling.original_max_position_embeddings must be > 0, "
              + "got " + originalMaxPositionEmbeddings);
        }
      }
    }

    public static RopeScaling linear(double factor) {
      return new RopeScaling("linear", factor, Double.NaN, Double.NaN, 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMax) {
      return new RopeScaling("llama3", factor, lowFreqFactor, highFreqFactor, originalMax);
    }
  }

  /**
   * Validates every field.
   *
   * @throws IllegalArgumentException naming the config.json field that is out of range
   */
  public LlamaConfig {
    if (!MODEL_TYPES.contains(modelType)) {
      throw new IllegalArgumentException("config field model_type is '" + modelType + "'; expected one of "
          + MODEL_TYPES);
    }
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", intermediateSize);
    positive("num_hidden_layers", numHiddenLayers);
    positive("num_attention_heads", numAttentionHeads);
    positive("num_key_value_heads", numKeyValueHeads);
    positive("head_dim", headDim);
    positive("max_position_embeddings", maxPositionEmbeddings);
    if (slidingWindow < 0) {
      throw new IllegalArgumentException("config field sliding_window must be > 0 or null, got " + slidingWindow);
    }
    if (numAttentionHeads % numKeyValueHeads != 0) {
      throw new IllegalArgumentException("config field num_attention_heads (" + numAttentionHeads
          + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
    }
    if (headDim % 2 != 0) {
      throw new IllegalArgumentException("config field head_dim must be even for rotary embeddings, got " + headDim);
    }
    if (!(rmsNormEps > 0) || Double.isInfinite(rmsNormEps)) {
      throw new IllegalArgumentException("config field rms_norm_eps must be a positive number, got " + rmsNormEps);
    }
    if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
      throw new IllegalArgumentException("config field rope_theta must be a positive number, got " + ropeTheta);
    }
    if (!"silu".equals(hiddenAct)) {
      throw new IllegalArgumentException("config field hidden_act is '" + hiddenAct + "'; only 'silu' is supported");
    }
    if (modelType.equals("qwen2") && !attentionBias) {
      throw new IllegalArgumentException("config field attention_bias is false, but qwen2 always has q/k/v biases");
    }
    if (modelType.equals("mistral") && attentionBias) {
      throw new IllegalArgumentException("config field attention_bias is true, but mistral has no attention biases");
    }
  }

  /**
   * A plain Llama config (no RoPE scaling, untied, no biases, theta 10000, eps 1e-5) with
   * {@code head_dim = hidden / heads}.
   */
  public static LlamaConfig llama(int vocabSize, int maxPositions, int hidden, int intermediate, int layers,
      int heads, int kvHeads) {
    if (heads <= 0 || hidden % heads != 0) {
      throw new IllegalArgumentException("config field hidden_size (" + hidden
          + ") must be divisible by num_attention_heads (" + heads + ")");
    }
    return new LlamaConfig("llama", vocabSize, hidden, intermediate, layers, heads, kvHeads, hidden / heads,
        maxPositions, 1e-5, 10000.0, null, false, false, 0, "silu");
  }

  /** This config with other RoPE scaling. */
  public LlamaConfig withRopeScaling(RopeScaling scaling) {
    return new LlamaConfig(modelType, vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
        numKeyValueHeads, headDim, maxPositionEmbeddings, rmsNormEps, ropeTheta, scaling, tieWordEmbeddings,
        attentionBias, slidingWindow, hiddenAct);
  }

  /** This config with the unembedding tied to the embedding, or not. */
  public LlamaConfig withTiedEmbeddings(boolean tied) {
    return new LlamaConfig(modelType, vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
        numKeyValueHeads, headDim, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, tied,
        attentionBias, slidingWindow, hiddenAct);
  }

  /** This config as another member of the family (qwen2 turns attention biases on, mistral off). */
  public LlamaConfig asModelType(String type) {
    boolean bias = type.equals("qwen2") || (type.equals("llama") && attentionBias);
    return new LlamaConfig(type, vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
        numKeyValueHeads, headDim, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, tieWordEmbeddings,
        bias, slidingWindow, hiddenAct);
  }

  /** Whether q_proj, k_proj and v_proj have biases. */
  public boolean qkvBias() {
    return attentionBias;
  }

  /** Whether o_proj has a bias (Llama's attention_bias; never in Qwen2). */
  public boolean outputBias() {
    return attentionBias && modelType.equals("llama");
  }

  /** The longest sequence accepted: max_position_embeddings, or the sliding window when shorter. */
  public int maxContext() {
    return slidingWindow > 0 ? Math.min(slidingWindow, maxPositionEmbeddings) : maxPositionEmbeddings;
  }

  /**
   * The rotary inverse frequencies {@code theta^(-2i/head_dim)}, {@code i < head_dim/2}, after
   * {@code rope_scaling}, following {@code transformers}' rope initialisation functions.
   */
  public double[] ropeInverseFrequencies() {
    int half = headDim / 2;
    double[] inv = new double[half];
    for (int i = 0; i < half; i++) {
      inv[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
    }
    if (ropeScaling == null) {
      return inv;
    }
    switch (ropeScaling.type()) {
      case "linear":
        for (int i = 0; i < half; i++) {
          inv[i] /= ropeScaling.factor();
        }
        return inv;
      case "llama3": {
        double factor = ropeScaling.factor();
        double low = ropeScaling.lowFreqFactor();
        double high = ropeScaling.highFreqFactor();
        double old = ropeScaling.originalMaxPositionEmbeddings();
        double lowFreqWavelen = old / low;
        double highFreqWavelen = old / high;
        for (int i = 0; i < half; i++) {
          double wavelen = 2 * Math.PI / inv[i];
          if (wavelen > lowFreqWavelen) {
            inv[i] /= factor;
          } else if (wavelen >= highFreqWavelen) {
            double smooth = (old / wavelen - low) / (high - low);
            inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
          }
        }
        return inv;
      }
      default: // dynamic: unchanged up to max_position_embeddings, the longest sequence accepted
        return inv;
    }
  }

  /** Number of parameters (the unembedding counted once when tied). */
  public long parameterCount() {
    long d = hiddenSize;
    long q = (long) numAttentionHeads * headDim;
    long kv = (long) numKeyValueHeads * headDim;
    long attn = d * q + 2 * d * kv + q * d + (qkvBias() ? q + 2 * kv : 0) + (outputBias() ? d : 0);
    long mlp = 3 * d * intermediateSize;
    long perLayer = attn + mlp + 2 * d;
    long embed = (long) vocabSize * d;
    return embed * (tieWordEmbeddings ? 1 : 2) + numHiddenLayers * perLayer + d;
  }

  /**
   * Parses a Hugging Face Llama, Mistral or Qwen2 {@code config.json}.
   *
   * @throws IllegalArgumentException naming the field that is missing, of the wrong type, out of
   *     range or set to something this runtime does not compute
   */
  public static LlamaConfig fromJson(String json) {
    JsonNode root = ConfigFields.parse(json);
    JsonNode mt = root.get("model_type");
    if (mt == null || !mt.isTextual()) {
      throw new IllegalArgumentException("config field model_type is missing; expected one of " + MODEL_TYPES);
    }
    String type = mt.textValue();
    if (!MODEL_TYPES.contains(type)) {
      throw new IllegalArgumentException("config field model_type is '" + type + "'; expected one of " + MODEL_TYPES);
    }
    int hidden = intField(root, "hidden_size");
    int heads = intField(root, "num_attention_heads");
    int kvHeads = optInt(root, "num_key_value_heads", heads);
    int headDim;
    if (isAbsent(root.get("head_dim"))) {
      if (heads <= 0 || hidden % heads != 0) {
        throw new IllegalArgumentException("config field hidden_size (" + hidden
            + ") must be divisible by num_attention_heads (" + heads + ") when head_dim is absent");
      }
      headDim = hidden / heads;
    } else {
      headDim = intField(root, "head_dim");
    }
    double eps = optDouble(root, "rms_norm_eps", 1e-6);
    double theta = optDouble(root, "rope_theta", 10000.0);
    boolean tied = optBool(root, "tie_word_embeddings", false);
    boolean bias;
    switch (type) {
      case "qwen2":
        bias = optBool(root, "attention_bias", true);
        break;
      case "llama":
        bias = optBool(root, "attention_bias", false);
        break;
      default:
        bias = optBool(root, "attention_bias", false);
    }
    if (optBool(root, "mlp_bias", false)) {
      throw new IllegalArgumentException("config field mlp_bias is true; this runtime computes Llama MLPs without "
          + "biases (expected false or absent)");
    }
    JsonNode partial = root.get("partial_rotary_factor");
    if (!isAbsent(partial) && (!partial.isNumber() || partial.doubleValue() != 1.0)) {
      throw new IllegalArgumentException("config field partial_rotary_factor is " + partial
          + "; this runtime rotates the whole head (expected 1.0 or absent)");
    }
    int window = 0;
    boolean windowed = type.equals("mistral") || (type.equals("qwen2") && optBool(root, "use_sliding_window", false));
    if (windowed && !isAbsent(root.get("sliding_window"))) {
      window = intField(root, "sliding_window");
      if (window <= 0) {
        throw new IllegalArgumentException("config field sliding_window must be > 0 or null, got " + window);
      }
    }
    JsonNode act = root.get("hidden_act");
    String activation = isAbsent(act) ? "silu" : act.asText();
    return new LlamaConfig(type, intField(root, "vocab_size"), hidden, intField(root, "intermediate_size"),
        intField(root, "num_hidden_layers"), heads, kvHeads, headDim, intField(root, "max_position_embeddings"),
        eps, theta, ropeScaling(root.get("rope_scaling")), tied, bias, window, activation);
  }

  private static RopeScaling ropeScaling(JsonNode n) {
    if (isAbsent(n)) {
      return null;
    }
    if (!n.isObject()) {
      throw new IllegalArgumentException("config field rope_scaling must be an object or null, got " + n);
    }
    JsonNode t = n.has("rope_type") ? n.get("rope_type") : n.get("type");
    if (t == null || !t.isTextual()) {
      throw new IllegalArgumentException("config field rope_scaling.rope_type is missing; supported: "
          + RopeScaling.TYPES);
    }
    if (t.textValue().equals("default")) {
      return null;
    }
    if (!RopeScaling.TYPES.contains(t.textValue())) {
      throw new IllegalArgumentException("config field rope_scaling.rope_type is '" + t.textValue()
          + "'; supported: " + RopeScaling.TYPES + " (or rope_scaling null)");
    }
    double factor = numberField(n, "factor", "rope_scaling.factor");
    if (t.textValue().equals("llama3")) {
      return RopeScaling.llama3(factor, numberField(n, "low_freq_factor", "rope_scaling.low_freq_factor"),
          numberField(n, "high_freq_factor", "rope_scaling.high_freq_factor"),
          intValue(required(n, "original_max_position_embeddings", "rope_scaling.original_max_position_embeddings"),
              "rope_scaling.original_max_position_embeddings"));
    }
    return new RopeScaling(t.textValue(), factor, Double.NaN, Double.NaN, 0);
  }

  /** This config as a Hugging Face {@code config.json} document for its model_type. */
  public String toJson() {
    ObjectNode o = newDocument();
    o.put("model_type", modelType);
    String arch = switch (modelType) {
      case "mistral" -> "MistralForCausalLM";
      case "qwen2" -> "Qwen2ForCausalLM";
      default -> "LlamaForCausalLM";
    };
    o.putArray("architectures").add(arch);
    o.put("vocab_size", vocabSize);
    o.put("hidden_size", hiddenSize);
    o.put("intermediate_size", intermediateSize);
    o.put("num_hidden_layers", numHiddenLayers);
    o.put("num_attention_heads", numAttentionHeads);
    o.put("num_key_value_heads", numKeyValueHeads);
    o.put("head_dim", headDim);
    o.put("max_position_embeddings", maxPositionEmbeddings);
    o.put("rms_norm_eps", rmsNormEps);
    o.put("rope_theta", ropeTheta);
    if (ropeScaling == null) {
      o.putNull("rope_scaling");
    } else {
      ObjectNode r = o.putObject("rope_scaling");
      r.put("rope_type", ropeScaling.type());
      r.put("factor", ropeScaling.factor());
      if (ropeScaling.type().equals("llama3")) {
        r.put("low_freq_factor", ropeScaling.lowFreqFactor());
        r.put("high_freq_factor", ropeScaling.highFreqFactor());
        r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
      }
    }
    o.put("tie_word_embeddings", tieWordEmbeddings);
    if (!modelType.equals("mistral")) {
      o.put("attention_bias", attentionBias);
    }
    if (modelType.equals("qwen2")) {
      o.put("use_sliding_window", slidingWindow > 0);
    }
    if (slidingWindow > 0) {
      o.put("sliding_window", slidingWindow);
    } else if (!modelType.equals("llama")) {
      o.putNull("sliding_window");
    }
    o.put("hidden_act", hiddenAct);
    o.put("torch_dtype", "float32");
    return write(o);
  }
}
