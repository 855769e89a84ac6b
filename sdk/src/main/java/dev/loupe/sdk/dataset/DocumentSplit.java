package dev.loupe.sdk.dataset;

/**
 * Which documents a probe tests on: a fixed hash of the document id puts a fraction of the
 * documents in the test set, so rows of one document are never on both sides (no leakage through
 * shared context) and every job agrees on the split.
 */
public final class DocumentSplit {
  private DocumentSplit() {
  }

  /**
   * Whether document {@code docId} is a test document when {@code percent} percent of documents are.
   *
   * @throws IllegalArgumentException when percent is not in [1, 99]
   */
  public static boolean isTest(int docId, int percent) {
    if (percent < 1 || percent > 99) {
      throw new IllegalArgumentException("test percent must be in [1, 99], got " + percent);
    }
    long h = (docId + 0x7E57_D0C5L) * 0x9E3779B97F4A7C15L;
    h ^= h >>> 31;
    h *= 0xBF58476D1CE4E5B9L;
    h ^= h >>> 29;
    return Long.remainderUnsigned(h, 100) < percent;
  }
}
