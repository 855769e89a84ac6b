package dev.loupe.core.corpus;

import java.util.Objects;

/**
 * One document of a corpus.
 *
 * @param id its 0-based index in the corpus (what activation batches carry as docId)
 * @param label an optional class label (e.g. a language code from a JSONL field), or null
 */
public record Document(int id, String text, String label) {
  public Document {
    Objects.requireNonNull(text, "text");
    if (id < 0) {
      throw new IllegalArgumentException("document id must be >= 0, got " + id);
    }
  }
}
