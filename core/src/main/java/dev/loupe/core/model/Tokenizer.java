package dev.loupe.core.model;

import dev.loupe.sdk.model.EncodedPair;

/**
 * Text to token ids and back, for one model's vocabulary. Implementations are immutable and
 * thread-safe.
 */
public interface Tokenizer {

  /** Number of token ids; every id is in {@code [0, vocabSize)}. */
  int vocabSize();

  /** Token ids of {@code text}, no special tokens added. */
  int[] encode(String text);

  /**
   * Text of token ids.
   *
   * @throws IllegalArgumentException naming the index of an id outside the vocabulary
   */
  String decode(int[] tokenIds);

  /**
   * A display form of one token (printable text, or an escape such as {@code \x0a}).
   *
   * @throws IllegalArgumentException when the id is outside the vocabulary
   */
  String tokenText(int tokenId);

  /**
   * Encodes a text pair for an encoder, with the special tokens and token type ids its
   * post-processor defines (BERT: [CLS] first [SEP] second [SEP], types 0 then 1).
   *
   * @throws UnsupportedOperationException naming the class when it has no pair encoding (the default)
   */
  default EncodedPair encodePair(String first, String second) {
    throw new UnsupportedOperationException(getClass().getName() + " has no text-pair encoding");
  }

  /**
   * A Hugging Face {@code tokenizer.json} document that tokenizes exactly as this tokenizer does,
   * so a saved model directory carries its tokenizer.
   *
   * @throws UnsupportedOperationException naming the class when it has no such form (the default)
   */
  default String toTokenizerJson() {
    throw new UnsupportedOperationException(getClass().getName() + " cannot be written as a tokenizer.json");
  }
}
