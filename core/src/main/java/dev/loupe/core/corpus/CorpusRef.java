package dev.loupe.core.corpus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A parsed corpus reference: a source (the built-in {@code europarl} or a local path), an optional
 * language filter and an optional split, written {@code europarl:fr+de:validation} or
 * {@code PATH:train}. {@link #toString()} gives back a reference that parses to an equal value.
 *
 * @param source {@value Corpora#EUROPARL} or a local path
 * @param languages the language codes to keep (empty: all); only for built-in corpora
 * @param split the split to keep, or null for the whole corpus
 */
public record CorpusRef(String source, List<String> languages, Split split) {
  public CorpusRef {
    if (source == null || source.isBlank()) {
      throw new IllegalArgumentException("corpus source is empty; expected " + Corpora.EUROPARL + " or a path");
    }
    languages = List.copyOf(languages == null ? List.of() : languages);
    if (!languages.isEmpty() && !source.equals(Corpora.EUROPARL)) {
      throw new IllegalArgumentException("corpus '" + source + "': a language filter needs a labelled built-in corpus ("
          + Corpora.EUROPARL + ")");
    }
  }

  /** Whether the source is a built-in corpus rather than a path. */
  public boolean builtIn() {
    return source.equals(Corpora.EUROPARL);
  }

  /**
   * Parses a reference. A string naming an existing path is that path, whole (even if it holds a
   * colon); {@code PATH:SPLIT} is accepted when {@code PATH} exists. Built-in forms:
   * {@code europarl}, {@code europarl:LANGS}, {@code europarl:SPLIT}, {@code europarl:LANGS:SPLIT}
   * with {@code LANGS} one or more ISO 639-1 codes joined by {@code +}.
   *
   * @throws IllegalArgumentException naming the reference: empty, unknown corpus, unknown
   *     language code (listing the valid ones) or unknown split
   */
  public static CorpusRef parse(String ref) {
    if (ref == null || ref.isBlank()) {
      throw new IllegalArgumentException("corpus reference is empty; expected one of " + Corpora.forms());
    }
    if (ref.equals(Corpora.EUROPARL) || ref.startsWith(Corpora.EUROPARL + ":")) {
      return parseBuiltIn(ref);
    }
    if (Files.exists(Path.of(ref))) {
      return new CorpusRef(ref, List.of(), null);
    }
    int colon = ref.lastIndexOf(':');
    if (colon > 0 && Files.exists(Path.of(ref.substring(0, colon)))) {
      String suffix = ref.substring(colon + 1);
      return new CorpusRef(ref.substring(0, colon), List.of(), splitOf(ref, suffix));
    }
    throw new IllegalArgumentException("corpus '" + ref + "' is neither a built-in corpus nor an existing path; expected one of "
        + Corpora.forms());
  }

  private static CorpusRef parseBuiltIn(String ref) {
    String[] parts = ref.split(":", -1);
    if (parts.length > 3) {
      throw new IllegalArgumentException("corpus '" + ref + "' has too many parts; expected "
          + Corpora.EUROPARL + "[:LANGS][:SPLIT], e.g. europarl:fr+de:validation");
    }
    List<String> langs = List.of();
    Split split = null;
    if (parts.length == 3) {
      langs = languagesOf(ref, parts[1]);
      split = splitOf(ref, parts[2]);
    } else if (parts.length == 2) {
      if (isSplitName(parts[1])) {
        split = Split.parse(parts[1]);
      } else {
        langs = languagesOf(ref, parts[1]);
      }
    }
    return new CorpusRef(parts[0], langs, split);
  }

  private static boolean isSplitName(String s) {
    try {
      Split.parse(s);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static Split splitOf(String ref, String s) {
    try {
      return Split.parse(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("corpus '" + ref + "': unknown split '" + s + "'; expected train, validation or test");
    }
  }

  private static List<String> languagesOf(String ref, String s) {
    List<String> out = new ArrayList<>();
    for (String code : s.split("\\+", -1)) {
      String c = code.trim().toLowerCase(Locale.ROOT);
      if (!LanguageDetector.EUROPARL_LANGUAGES.contains(c)) {
        throw new IllegalArgumentException("corpus '" + ref + "': unknown language code '" + code
            + "' (nor a split); expected a split (train, validation, test) or language codes joined by '+' from "
            + String.join(", ", LanguageDetector.EUROPARL_LANGUAGES));
      }
      if (out.contains(c)) {
        throw new IllegalArgumentException("corpus '" + ref + "': language '" + c + "' is named twice");
      }
      out.add(c);
    }
    return out;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(source);
    if (!languages.isEmpty()) {
      sb.append(':').append(String.join("+", languages));
    }
    if (split != null) {
      sb.append(':').append(split.label());
    }
    return sb.toString();
  }
}
