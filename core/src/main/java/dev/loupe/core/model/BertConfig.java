package dev.loupe.core.model;

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

  private static void positive(String field, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(field + " must be positive, got " + v);
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
}
