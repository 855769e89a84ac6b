package dev.loupe.core.model;

import static dev.loupe.core.model.ConfigFields.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Shape of a BERT encoder (the Hugging Face {@code BertConfig} fields Loupe uses): what
 * {@link BertModel} checks its weights against.
 *
 * @param vocabSize {@code vocab_size}
 * @param maxPositions {@code max_position_embeddings}
 * @param typeVocabSize {@code type_vocab_size} (segment ids)
 * @param hiddenSize {@code hidden_size}, d_model
 * @param nLayers {@code num_hidden_layers}
 * @param nHeads {@code num_attention_heads}
 * @param intermediateSize {@code intermediate_size}, d_mlp
 * @param layerNormEps {@code layer_norm_eps}
 */
public record BertConfig(int vocabSize, int maxPositions, int typeVocabSize, int hiddenSize, int nLayers, int nHeads,
    int intermediateSize, double layerNormEps) {
  /** config.json's {@code model_type} for BERT. */
  public static final String MODEL_TYPE = "bert";

  public BertConfig {
    positive("vocab_size", vocabSize);
    positive("max_position_embeddings", maxPositions);
    positive("type_vocab_size", typeVocabSize);
    positive("hidden_size", hiddenSize);
    positive("num_hidden_layers", nLayers);
    positive("num_attention_heads", nHeads);
    positive("intermediate_size", intermediateSize);
    if (hiddenSize % nHeads != 0) {
      throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
          + nHeads);
    }
    if (!(layerNormEps > 0) || layerNormEps >= 1) {
      throw new IllegalArgumentException("layer_norm_eps must be in (0, 1), got " + layerNormEps);
    }
  }

  public int dHead() {
    return hiddenSize / nHeads;
  }

  /** Number of parameters of the encoder (no pooler). */
  public long parameterCount() {
    long d = hiddenSize;
    long embed = (long) (vocabSize + maxPositions + typeVocabSize) * d + 2 * d;
    long layer = 4 * (d * d + d) + 2 * d + (d * intermediateSize + intermediateSize)
        + ((long) intermediateSize * d + d) + 2 * d;
    return embed + nLayers * layer;
  }

  /**
   * Parses a Hugging Face BERT {@code config.json}.
   *
   * @throws IllegalArgumentException naming the field that is missing, of the wrong type, out of
   *     range or set to something this runtime does not compute (an activation other than the
   *     exact {@code gelu}, a position embedding other than {@code absolute})
   */
  public static BertConfig fromJson(String json) {
    JsonNode root = ConfigFields.parse(json);
    JsonNode mt = root.get("model_type");
    if (!isAbsent(mt) && !MODEL_TYPE.equals(mt.asText())) {
      throw new IllegalArgumentException("config field model_type is '" + mt.asText() + "', expected '"
          + MODEL_TYPE + "'");
    }
    // Both change the arithmetic: refuse rather than compute a different function.
    String act = optText(root, "hidden_act", "gelu");
    if (!act.equals("gelu")) {
      throw new IllegalArgumentException("config field hidden_act is '" + act + "'; this runtime computes BERT's "
          + "exact (erf) 'gelu' only");
    }
    String pos = optText(root, "position_embedding_type", "absolute");
    if (!pos.equals("absolute")) {
      throw new IllegalArgumentException("config field position_embedding_type is '" + pos + "'; this runtime "
          + "computes 'absolute' position embeddings only");
    }
    return new BertConfig(intField(root, "vocab_size"), optInt(root, "max_position_embeddings", 512),
        optInt(root, "type_vocab_size", 2), intField(root, "hidden_size"), intField(root, "num_hidden_layers"),
        intField(root, "num_attention_heads"), intField(root, "intermediate_size"),
        optDouble(root, "layer_norm_eps", 1e-12));
  }

  /** This config as a Hugging Face BERT {@code config.json} document. */
  public String toJson() {
    ObjectNode o = newDocument();
    o.put("model_type", MODEL_TYPE);
    o.putArray("architectures").add("BertModel");
    o.put("vocab_size", vocabSize);
    o.put("hidden_size", hiddenSize);
    o.put("num_hidden_layers", nLayers);
    o.put("num_attention_heads", nHeads);
    o.put("intermediate_size", intermediateSize);
    o.put("max_position_embeddings", maxPositions);
    o.put("type_vocab_size", typeVocabSize);
    o.put("layer_norm_eps", layerNormEps);
    o.put("hidden_act", "gelu");
    o.put("position_embedding_type", "absolute");
    o.put("torch_dtype", "float32");
    return write(o);
  }

}
