package dev.loupe.sdk.model;

/**
 * A text pair encoded for an encoder, with the special tokens the model expects (BERT: [CLS] a
 * [SEP] b [SEP]) and the token type (segment) id of every token, ready for
 * {@link ModelSession#run(int[][], int[][], java.util.Set)}.
 *
 * @param ids token ids
 * @param typeIds token type ids, one per token (0 for the first text, 1 for the second)
 */
public record EncodedPair(int[] ids, int[] typeIds) {

  /**
   * @throws IllegalArgumentException when either array is null or their lengths differ
   */
  public EncodedPair {
    if (ids == null || typeIds == null) {
      throw new IllegalArgumentException("an encoded pair needs both ids and typeIds, got "
          + (ids == null ? "ids = null" : "typeIds = null"));
    }
    if (ids.length != typeIds.length) {
      throw new IllegalArgumentException("an encoded pair has " + ids.length + " ids but " + typeIds.length
          + " typeIds; expected one type id per token");
    }
    ids = ids.clone();
    typeIds = typeIds.clone();
  }

  /** A copy of the token ids. */
  @Override
  public int[] ids() {
    return ids.clone();
  }

  /** A copy of the token type ids. */
  @Override
  public int[] typeIds() {
    return typeIds.clone();
  }
}
