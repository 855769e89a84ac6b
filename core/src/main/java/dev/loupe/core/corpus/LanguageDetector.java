package dev.loupe.core.corpus;

import com.github.pemistahl.lingua.api.Language;
import com.github.pemistahl.lingua.api.LanguageDetectorBuilder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Tells which of a fixed set of languages a text is written in (Lingua n-gram models, offline),
 * so unlabelled corpora such as Europarl can be labelled and filtered by language.
 */
public final class LanguageDetector {
  /** The 21 languages of Europarl, as ISO 639-1 codes. */
  public static final List<String> EUROPARL_LANGUAGES = List.of("bg", "cs", "da", "de", "el", "en", "es", "et", "fi",
      "fr", "hu", "it", "lt", "lv", "nl", "pl", "pt", "ro", "sk", "sl", "sv");

  /**
   * How much of a text is classified: a thousand characters decide the language of a speech as
   * well as the whole of it does, and detection time grows with the length.
   */
  public static final int PREFIX_CHARS = 1000;

  /**
   * How far ahead the best language must be of the runner-up (Lingua's relative distance) before
   * {@link #detect} commits to it; closer calls come back as null.
   */
  public static final double MIN_RELATIVE_DISTANCE = 0.05;

  private final Object buildLock = new Object();

  private final Set<String> codes;
  private final Language[] languages;
  private volatile com.github.pemistahl.lingua.api.LanguageDetector lingua;

  /** A detector for the 21 Europarl languages. */
  public LanguageDetector() {
    this(EUROPARL_LANGUAGES);
  }

  /**
   * A detector choosing among {@code isoCodes} (ISO 639-1, e.g. {@code fr}); the models load on
   * the first {@link #detect} calls.
   *
   * @throws IllegalArgumentException naming a code Lingua does not know (listing the known ones),
   *     or when fewer than two languages are given
   */
  public LanguageDetector(Collection<String> isoCodes) {
    if (isoCodes == null) {
      throw new IllegalArgumentException("language codes are null; expected ISO 639-1 codes such as 'fr'");
    }
    Set<String> set = new TreeSet<>();
    List<Language> langs = new ArrayList<>();
    for (String code : isoCodes) {
      Language l = languageOf(code);
      if (set.add(code.toLowerCase(Locale.ROOT))) {
        langs.add(l);
      }
    }
    if (set.size() < 2) {
      throw new IllegalArgumentException("a language detector needs at least two languages to choose from, got " + set);
    }
    this.codes = Collections.unmodifiableSet(set);
    this.languages = langs.toArray(new Language[0]);
  }

  /** The ISO 639-1 codes this detector chooses among, sorted. */
  public Set<String> languages() {
    return codes;
  }

  /**
   * The ISO 639-1 code of the language of {@code text} (its first {@link #PREFIX_CHARS}
   * characters), or null when the text is null, has no letters or the detector is unsure.
   * Thread-safe; the first calls load the models they need (seconds).
   */
  public String detect(String text) {
    if (text == null || text.isBlank()) {
      return null;
    }
    Language l = lingua().detectLanguageOf(prefix(text));
    return l == Language.UNKNOWN ? null : l.getIsoCode639_1().name().toLowerCase(Locale.ROOT);
  }

  /** The first {@link #PREFIX_CHARS} characters of {@code text}, cut at a word boundary where possible. */
  static String prefix(String text) {
    if (text.length() <= PREFIX_CHARS) {
      return text;
    }
    int cut = PREFIX_CHARS;
    int space = text.lastIndexOf(' ', cut);
    if (space > PREFIX_CHARS / 2) {
      cut = space;
    }
    return text.substring(0, cut);
  }

  private com.github.pemistahl.lingua.api.LanguageDetector lingua() {
    com.github.pemistahl.lingua.api.LanguageDetector d = lingua;
    if (d == null) {
      // High-accuracy mode: on texts of 120+ characters Lingua scores trigrams only in either
      // mode, so low-accuracy mode saves nothing there and only hurts short texts (on Europarl
      // it called a 25-character Danish agenda line Swedish). Not preloaded: Lingua loads each
      // n-gram model on first use under its own lock, and long texts need only the trigram
      // models (~60 MB of heap instead of ~700 MB for all five sizes of 21 languages).
      synchronized (buildLock) {
        d = lingua;
        if (d == null) {
          d = LanguageDetectorBuilder.fromLanguages(languages)
              .withMinimumRelativeDistance(MIN_RELATIVE_DISTANCE)
              .build();
          lingua = d;
        }
      }
    }
    return d;
  }

  /**
   * The Lingua language of an ISO 639-1 code.
   *
   * @throws IllegalArgumentException naming the code and listing the codes Lingua knows
   */
  static Language languageOf(String code) {
    String c = code == null ? "" : code.trim().toUpperCase(Locale.ROOT);
    for (Language l : Language.values()) {
      if (l != Language.UNKNOWN && l.getIsoCode639_1().name().equals(c)) {
        return l;
      }
    }
    throw new IllegalArgumentException("unknown language code '" + code + "'; expected an ISO 639-1 code, one of "
        + knownCodes());
  }

  private static String knownCodes() {
    return Arrays.stream(Language.values()).filter(l -> l != Language.UNKNOWN)
        .map(l -> l.getIsoCode639_1().name().toLowerCase(Locale.ROOT)).sorted().collect(Collectors.joining(", "));
  }
}
