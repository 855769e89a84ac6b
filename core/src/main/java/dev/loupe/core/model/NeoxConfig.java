package dev.loupe.core.model;

import static dev.loupe.core.model.ConfigFields.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The shape of a GPT-NeoX model (model_type {@code gpt_neox}: Pythia, GPT-NeoX-20B, ...), read from
 * and written to a Hugging Face {@code config.json} with the same field names.
 *
 * <p>What changes the arithmetic is a field here: the share of each head that is rotated
 * ({@code rotary_pct}), parallel or sequential attention and MLP ({@code use_parallel_residual}),
 * biases on the attention projections ({@code attention_bias}), tied embeddings and linear RoPE
 * scaling. Only the exact (erf) GELU of Pythia is computed; other activations are refused.
 *
 * @param ropeScalingFactor the linear rope_scaling factor, 1 when rope_scaling is null
 */
public record NeoxConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
    int intermediateSize, double rotaryPct, double rotaryEmbBase, int maxPositionEmbeddings, double layerNormEps,
    boolean useParallelResidual, String hiddenAct, boolean tieWordEmbeddings, boolean attentionBias,
    double ropeScalingFactor) {

  public static final String MODEL_TYPE = "gpt_neox";
  /** The only activation this runtime implements: transformers' "gelu", the exact erf form. */
  public static final String GELU = "gelu";


  /**
   * Validates every field.
   *
   * @throws IllegalArgumentException naming the config.json field that is out of range
   */
  public NeoxConfig {
    positive("vocab_size", vocabSize);
    positive("hidden_size", hiddenSize);
    positive("num_hidden_layers", numHiddenLayers);
    positive("num_attention_heads", numAttentionHeads);
    positive("intermediate_size", intermediateSize);
    positive("max_position_embeddings", maxPositionEmbeddings);
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException("config field hidden_size (" + hiddenSize
          + ") must be divisible by num_attention_heads (" + numAttentionHeads + ")");
    }
    if (!(rotaryPct > 0 && rotaryPct <= 1)) {
      throw new IllegalArgumentException("config field rotary_pct must be in (0, 1], got " + rotaryPct);
    }
    int rot = (int) (hiddenSize / numAttentionHeads * rotaryPct);
    if (rot < 2 || rot % 2 != 0) {
      throw new IllegalArgumentException("config field rotary_pct (" + rotaryPct + ") gives " + rot
          + " rotary dims of head size " + hiddenSize / numAttentionHeads + "; expected an even number >= 2");
    }
    if (!(rotaryEmbBase > 0) || Double.isInfinite(rotaryEmbBase)) {
      throw new IllegalArgumentException("config field rotary_emb_base must be a positive number, got "
          + rotaryEmbBase);
    }
    if (!(layerNormEps > 0) || Double.isInfinite(layerNormEps)) {
      throw new IllegalArgumentException("config field layer_norm_eps must be a positive number, got " + layerNormEps);
    }
    if (!GELU.equals(hiddenAct)) {
      throw new IllegalArgumentException("config field hidden_act is '" + hiddenAct + "'; only '" + GELU
          + "' (exact erf GELU) is supported");
    }
    if (!(ropeScalingFactor >= 1) || Double.isInfinite(ropeScalingFactor)) {
      throw new IllegalArgumentException("config field rope_scaling.factor must be a number >= 1, got "
          + ropeScalingFactor);
    }
  }

  /**
   * A Pythia-style config: rotary_pct 0.25, base 10000, parallel residual, eps 1e-5, untied,
   * attention biases, no RoPE scaling.
   */
  public static NeoxConfig pythia(int vocabSize, int maxPositions, int hidden, int intermediate, int layers,
      int heads) {
    return new NeoxConfig(vocabSize, hidden, layers, heads, intermediate, 0.25, 10000.0, maxPositions, 1e-5, true,
        GELU, false, true, 1.0);
  }

  /** This config with another rotary share and residual layout. */
  public NeoxConfig with(double rotaryPct, boolean parallelResidual) {
    return new NeoxConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, rotaryPct,
        rotaryEmbBase, maxPositionEmbeddings, layerNormEps, parallelResidual, hiddenAct, tieWordEmbeddings,
        attentionBias, ropeScalingFactor);
  }

  /** This config with tied embeddings, attention biases and linear RoPE scaling set. */
  public NeoxConfig with(boolean tied, boolean attentionBias, double ropeScalingFactor) {
    return new NeoxConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, rotaryPct,
        rotaryEmbBase, maxPositionEmbeddings, layerNormEps, useParallelResidual, hiddenAct, tied, attentionBias,
        ropeScalingFactor);
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  /** How many leading dims of each head are rotated: {@code int(head_dim * rotary_pct)}, as transformers. */
  public int rotaryNdims() {
    return (int) (headDim() * rotaryPct);
  }

  /** {@code base^(-2i/rotary_ndims) / factor}, {@code i < rotary_ndims/2}. */
  public double[] ropeInverseFrequencies() {
    int rot = rotaryNdims();
    double[] inv = new double[rot / 2];
    for (int i = 0; i < inv.length; i++) {
      inv[i] = 1.0 / Math.pow(rotaryEmbBase, (2.0 * i) / rot) / ropeScalingFactor;
    }
    return inv;
  }

  /** Number of parameters (the unembedding counted once when tied). */
  public long parameterCount() {
    long d = hiddenSize;
    long inner = intermediateSize;
    long attn = 3 * d * d + d * d + (attentionBias ? 4 * d : 0);
    long mlp = 2 * d * inner + inner + d;
    long perLayer = 4 * d + attn + mlp;
    long embed = (long) vocabSize * d;
    return embed * (tieWordEmbeddings ? 1 : 2) + numHiddenLayers * perLayer + 2 * d;
  }

  /**
   * Parses a Hugging Face GPT-NeoX {@code config.json}.
   *
   * @throws IllegalArgumentException naming the field that is missing, of the wrong type, out of
   *     range or set to something this runtime does not compute
   */
  public static NeoxConfig fromJson(String json) {
    JsonNode root = ConfigFields.parse(json);
    JsonNode mt = root.get("model_type");
    if (!isAbsent(mt) && !MODEL_TYPE.equals(mt.asText())) {
      throw new IllegalArgumentException("config field model_type is '" + mt.asText() + "', expected '"
          + MODEL_TYPE + "'");
    }
    // Newer transformers also accept partial_rotary_factor / rope_theta for the same values.
    double pct = root.has("rotary_pct") ? optDouble(root, "rotary_pct", 0.25)
        : optDouble(root, "partial_rotary_factor", 0.25);
    double base = root.has("rotary_emb_base") ? optDouble(root, "rotary_emb_base", 10000.0)
        : optDouble(root, "rope_theta", 10000.0);
    JsonNode act = root.get("hidden_act");
    if (!isAbsent(act) && !act.isTextual()) {
      throw new IllegalArgumentException("config field hidden_act must be a string, got " + act);
    }
    String activation = isAbsent(act) ? GELU : act.textValue();
    return new NeoxConfig(intField(root, "vocab_size"), intField(root, "hidden_size"),
        intField(root, "num_hidden_layers"), intField(root, "num_attention_heads"), intField(root, "intermediate_size"),
        pct, base, optInt(root, "max_position_embeddings", 2048), optDouble(root, "layer_norm_eps", 1e-5),
        optBool(root, "use_parallel_residual", true), activation, optBool(root, "tie_word_embeddings", false),
        optBool(root, "attention_bias", true), ropeScaling(root.get("rope_scaling")));
  }

  /** The linear factor of rope_scaling (1 when null); other kinds are refused. */
  private static double ropeScaling(JsonNode n) {
    if (isAbsent(n)) {
      return 1.0;
    }
    if (!n.isObject()) {
      throw new IllegalArgumentException("config field rope_scaling must be an object or null, got " + n);
    }
    JsonNode t = n.has("rope_type") ? n.get("rope_type") : n.get("type");
    String type = t == null || !t.isTextual() ? String.valueOf(t) : t.textValue();
    if (type.equals("default")) {
      return 1.0;
    }
    if (!type.equals("linear")) {
      throw new IllegalArgumentException("config field rope_scaling.rope_type is '" + type
          + "'; supported: linear (or rope_scaling null)");
    }
    JsonNode f = n.get("factor");
    if (isAbsent(f) || !f.isNumber()) {
      throw new IllegalArgumentException("config field rope_scaling.factor must be a number, got " + f);
    }
    return f.doubleValue();
  }

  /** This config as a Hugging Face GPT-NeoX {@code config.json} document. */
  public String toJson() {
    ObjectNode o = newDocument();
    o.put("model_type", MODEL_TYPE);
    o.putArray("architectures").add("GPTNeoXForCausalLM");
    o.put("vocab_size", vocabSize);
    o.put("hidden_size", hiddenSize);
    o.put("num_hidden_layers", numHiddenLayers);
    o.put("num_attention_heads", numAttentionHeads);
    o.put("intermediate_size", intermediateSize);
    o.put("rotary_pct", rotaryPct);
    o.put("rotary_emb_base", rotaryEmbBase);
    o.put("max_position_embeddings", maxPositionEmbeddings);
    o.put("layer_norm_eps", layerNormEps);
    o.put("use_parallel_residual", useParallelResidual);
    o.put("hidden_act", hiddenAct);
    o.put("tie_word_embeddings", tieWordEmbeddings);
    o.put("attention_bias", attentionBias);
    if (ropeScalingFactor == 1.0) {
      o.putNull("rope_scaling");
    } else {
      ObjectNode r = o.putObject("rope_scaling");
      r.put("type", "linear");
      r.put("rope_type", "linear");
      r.put("factor", ropeScalingFactor);
    }
    o.put("torch_dtype", "float32");
    return write(o);
  }
}
