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
 * @param shuffleSeed the seed of a random document order ({@code :shuffled} or
 *     {@code :shuffled@SEED}), or null for the corpus order
 */
public record CorpusRef(String source, List<String> languages, Split split, Long shuffleSeed) {
  /** The suffix that asks for documents in a seeded random order. */
  public static final String SHUFFLED = "shuffled";
  /** The seed of {@code :shuffled} without one. */
  public static final long DEFAULT_SHUFFLE_SEED = 0;

  /** A reference read in corpus order. */
  public CorpusRef(String source, List<String> languages, Split split) {
    this(source, languages, split, null);
  }

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
    // a trailing ":shuffled" or ":shuffled@SEED" reorders whatever the rest selects
    int last = ref.lastIndexOf(':');
    if (last > 0 && ref.substring(last + 1).startsWith(SHUFFLED) && !Files.exists(Path.of(ref))) {
      String suffix = ref.substring(last + 1);
      long seed = DEFAULT_SHUFFLE_SEED;
      if (!suffix.equals(SHUFFLED)) {
        if (!suffix.startsWith(SHUFFLED + "@")) {
          throw new IllegalArgumentException("corpus '" + ref + "': expected '" + SHUFFLED + "' or '" + SHUFFLED
              + "@SEED' after the last ':', got '" + suffix + "'");
        }
        try {
          seed = Long.parseLong(suffix.substring(SHUFFLED.length() + 1));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("corpus '" + ref + "': the shuffle seed '"
              + suffix.substring(SHUFFLED.length() + 1) + "' is not an integer");
        }
      }
      CorpusRef inner = parse(ref.substring(0, last));
      if (inner.shuffleSeed() != null) {
        throw new IllegalArgumentException("corpus '" + ref + "' is shuffled twice");
      }
      return new CorpusRef(inner.source(), inner.languages(), inner.split(), seed);
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
    if (shuffleSeed != null) {
      sb.append(':').append(SHUFFLED);
      if (shuffleSeed != DEFAULT_SHUFFLE_SEED) {
        sb.append('@').append(shuffleSeed);
      }
    }
    return sb.toString();
  }
}
