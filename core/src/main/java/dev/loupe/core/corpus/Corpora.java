package dev.loupe.core.corpus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Opens a corpus from a reference: a built-in name ({@code europarl}) or a local path (plain
 * text, JSONL or a directory of .txt files, see {@link TextCorpus}).
 */
public final class Corpora {
  /** The built-in multilingual corpus (see {@link Europarl}). */
  public static final String EUROPARL = "europarl";

  private Corpora() {}

  /** The reference forms {@link #open(String)} understands, for help texts and errors. */
  public static List<String> forms() {
    return List.of(EUROPARL + " (built in: 17,597 European Parliament speeches, 21 languages)",
        "PATH to a .txt file (blank-line separated documents), a .jsonl file (field 'text') or a directory of .txt files");
  }

  /**
   * The documents of {@code ref}, read lazily where the source allows.
   *
   * @throws IllegalArgumentException naming the reference when it is neither a built-in name nor
   *     an existing path, or when the corpus holds no document
   */
  public static Stream<Document> open(String ref) {
    if (ref == null || ref.isBlank()) {
      throw new IllegalArgumentException("corpus reference is empty; expected one of " + forms());
    }
    if (ref.equals(EUROPARL)) {
      return Europarl.speeches().map(s -> new Document(s.index(), s.body(), null));
    }
    Path path = Path.of(ref);
    if (!Files.exists(path)) {
      throw new IllegalArgumentException("corpus '" + ref + "' is neither a built-in corpus nor an existing path; expected one of "
          + forms());
    }
    return TextCorpus.open(path).documents();
  }
}
