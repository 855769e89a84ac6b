package dev.loupe.core.model;

import static dev.loupe.core.model.ConfigFields.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The shape of a GPT-2 model, read from and written to a Hugging Face {@code config.json} (same
 * field names), so that a model directory written by Loupe loads in {@code transformers} and back.
 *
 * @param nInner the MLP width; {@code n_inner: null} in the file means {@code 4 * n_embd}
 */
public record Gpt2Config(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead, int nInner,
    double layerNormEpsilon, String activationFunction) {

  /** The only activation this runtime implements (GPT-2's tanh approximation of GELU). */
  public static final String GELU_NEW = "gelu_new";


  /**
   * Validates every field.
   *
   * @throws IllegalArgumentException naming the config.json field that is out of range
   */
  public Gpt2Config {
    positive("vocab_size", vocabSize);
    positive("n_positions", nPositions);
    positive("n_embd", nEmbd);
    positive("n_layer", nLayer);
    positive("n_head", nHead);
    positive("n_inner", nInner);
    if (nEmbd % nHead != 0) {
      throw new IllegalArgumentException("config field n_embd (" + nEmbd + ") must be divisible by n_head ("
          + nHead + ")");
    }
    if (!(layerNormEpsilon > 0) || Double.isInfinite(layerNormEpsilon)) {
      throw new IllegalArgumentException("config field layer_norm_epsilon must be a positive number, got "
          + layerNormEpsilon);
    }
    if (!GELU_NEW.equals(activationFunction)) {
      throw new IllegalArgumentException("config field activation_function is '" + activationFunction
          + "'; only '" + GELU_NEW + "' is supported");
    }
  }

  /** A config with GPT-2's defaults for everything but the sizes ({@code n_inner = 4 * n_embd}). */
  public static Gpt2Config of(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead) {
    return new Gpt2Config(vocabSize, nPositions, nEmbd, nLayer, nHead, 4 * nEmbd, 1e-5, GELU_NEW);
  }

  /** Width of one attention head. */
  public int dHead() {
    return nEmbd / nHead;
  }

  /** Number of parameters (lm_head tied to wte, so counted once). */
  public long parameterCount() {
    long d = nEmbd;
    long perLayer = 2 * 2 * d // ln_1, ln_2
        + d * 3 * d + 3 * d // c_attn
        + d * d + d // attn.c_proj
        + d * nInner + nInner // c_fc
        + (long) nInner * d + d; // mlp.c_proj
    return (long) vocabSize * d + (long) nPositions * d + nLayer * perLayer + 2 * d;
  }

  /**
   * Parses a Hugging Face GPT-2 {@code config.json}.
   *
   * @throws IllegalArgumentException naming the field that is missing, of the wrong type or out of range
   */
  public static Gpt2Config fromJson(String json) {
    JsonNode root = ConfigFields.parse(json);
    JsonNode mt = root.get("model_type");
    if (mt != null && !mt.isNull() && !"gpt2".equals(mt.asText())) {
      throw new IllegalArgumentException("config field model_type is '" + mt.asText() + "', expected 'gpt2'");
    }
    int nEmbd = intField(root, "n_embd");
    JsonNode inner = root.get("n_inner");
    int nInner = inner == null || inner.isNull() ? 4 * nEmbd : intValue(inner, "n_inner");
    double eps = 1e-5;
    JsonNode epsNode = root.get("layer_norm_epsilon");
    if (epsNode != null && !epsNode.isNull()) {
      if (!epsNode.isNumber()) {
        throw new IllegalArgumentException("config field layer_norm_epsilon must be a number, got " + epsNode);
      }
      eps = epsNode.asDouble();
    }
    JsonNode act = root.get("activation_function");
    String activation = act == null || act.isNull() ? GELU_NEW : act.asText();
    return new Gpt2Config(intField(root, "vocab_size"), intField(root, "n_positions"), nEmbd,
        intField(root, "n_layer"), intField(root, "n_head"), nInner, eps, activation);
  }

  /** This config as a Hugging Face GPT-2 {@code config.json} document. */
  public String toJson() {
    ObjectNode o = newDocument();
    o.put("model_type", "gpt2");
    o.putArray("architectures").add("GPT2LMHeadModel");
    o.put("vocab_size", vocabSize);
    o.put("n_positions", nPositions);
    o.put("n_ctx", nPositions);
    o.put("n_embd", nEmbd);
    o.put("n_layer", nLayer);
    o.put("n_head", nHead);
    o.put("n_inner", nInner);
    o.put("layer_norm_epsilon", layerNormEpsilon);
    o.put("activation_function", activationFunction);
    o.put("tie_word_embeddings", true);
    o.put("torch_dtype", "float32");
    return write(o);
  }
}
