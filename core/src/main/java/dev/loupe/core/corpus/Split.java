package dev.loupe.core.corpus;

import java.util.Locale;

/**
 * The deterministic train / validation / test split of a corpus, decided per document from its id
 * alone (a fixed hash), so every tool (training, probing, evaluation) agrees on it, no document is
 * in two splits and adding documents never moves existing ones. 90% / 5% / 5%.
 */
public enum Split {
  TRAIN, VALIDATION, TEST;

  /** Percent of documents in the validation split (the same again goes to test). */
  public static final int HELD_OUT_PERCENT = 5;

  /** The split of the document with this id. */
  public static Split of(int docId) {
    if (docId < 0) {
      throw new IllegalArgumentException("document id must be >= 0, got " + docId);
    }
    long h = mix(docId + 0x5EED_0F_5B11L);
    int bucket = (int) Long.remainderUnsigned(h, 100);
    if (bucket < HELD_OUT_PERCENT) {
      return VALIDATION;
    }
    if (bucket < 2 * HELD_OUT_PERCENT) {
      return TEST;
    }
    return TRAIN;
  }

  /** Whether {@code doc} belongs to this split. */
  public boolean contains(Document doc) {
    return of(doc.id()) == this;
  }

  /** Lower-case name as used in corpus references ({@code europarl:fr:validation}). */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses {@code train}, {@code validation} (or {@code val}) and {@code test}.
   *
   * @throws IllegalArgumentException naming the text and the accepted names
   */
  public static Split parse(String text) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    switch (t) {
      case "train":
        return TRAIN;
      case "validation":
      case "val":
        return VALIDATION;
      case "test":
        return TEST;
      default:
        throw new IllegalArgumentException("unknown split '" + text + "'; expected train, validation or test");
    }
  }

  // SplitMix64 finaliser: a well-mixed, platform-independent hash of the id.
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
