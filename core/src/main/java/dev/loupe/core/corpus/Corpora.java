package dev.loupe.core.corpus;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Opens a corpus from a reference (see {@link CorpusRef}): a built-in name ({@code europarl}) or a
 * local path (plain text, JSONL or a directory of .txt files, see {@link TextCorpus}), optionally
 * narrowed to languages and a split: {@code europarl:fr+de:validation}, {@code PATH:train}.
 */
public final class Corpora {
  /** The built-in multilingual corpus (see {@link Europarl}). */
  public static final String EUROPARL = "europarl";

  /** Key of {@link CorpusStats#languages()} for documents without a language label. */
  public static final String UNLABELLED = "unlabelled";

  private Corpora() {}

  /** The reference forms {@link #open(String)} understands, for help texts and errors. */
  public static List<String> forms() {
    return List.of(EUROPARL + " (built in: 17,597 European Parliament speeches, 21 languages)",
        EUROPARL + ":LANGS (ISO 639-1 codes joined by '+', e.g. europarl:fr or europarl:fr+de)",
        EUROPARL + "[:LANGS]:SPLIT (SPLIT: train, validation or test, e.g. europarl:fr:validation)",
        "PATH to a .txt file (blank-line separated documents), a .jsonl file (field 'text') or a directory of .txt files",
        "PATH:SPLIT (one split of a local corpus)",
        "any of these + ':shuffled' or ':shuffled@SEED' (documents in a seeded random order; read into memory first)");
  }

  /**
   * The documents of {@code ref}, read lazily where the source allows. Document ids are those of
   * the whole corpus, whatever the filter; Europarl documents carry their language as label.
   *
   * @throws IllegalArgumentException naming the reference when it does not parse (see
   *     {@link CorpusRef#parse}), its file is empty or unreadable, or its filter leaves no document
   */
  public static Stream<Document> open(String ref) {
    return open(CorpusRef.parse(ref));
  }

  /** As {@link #open(String)}, for a parsed reference. */
  public static Stream<Document> open(CorpusRef ref) {
    if (ref.shuffleSeed() != null) {
      // the whole selection in memory, then a seeded order: held-out rows taken from the start of
      // a stream then sample every language instead of the first few documents
      List<Document> all;
      try (Stream<Document> docs = open(new CorpusRef(ref.source(), ref.languages(), ref.split()))) {
        all = new ArrayList<>(docs.toList());
      }
      java.util.Collections.shuffle(all, new java.util.Random(ref.shuffleSeed()));
      return all.stream();
    }
    if (ref.languages().isEmpty() && ref.split() == null) {
      return source(ref);
    }
    // Fail on an empty selection now, with the reference named, not later as an empty stream.
    try (Stream<Document> probe = filtered(ref)) {
      if (probe.findFirst().isEmpty()) {
        throw new IllegalArgumentException("corpus '" + ref + "' has no documents: the "
            + (ref.languages().isEmpty() ? "split" : ref.split() == null ? "language filter" : "language filter and split")
            + " leave none of " + ref.source());
      }
    }
    return filtered(ref);
  }

  private static Stream<Document> filtered(CorpusRef ref) {
    Stream<Document> docs = source(ref);
    if (!ref.languages().isEmpty()) {
      docs = docs.filter(d -> d.label() != null && ref.languages().contains(d.label()));
    }
    if (ref.split() != null) {
      Predicate<Document> inSplit = ref.split()::contains;
      docs = docs.filter(inSplit);
    }
    return docs;
  }

  private static Stream<Document> source(CorpusRef ref) {
    if (ref.builtIn()) {
      LanguageLabels labels = LanguageLabels.europarl();
      return Europarl.speeches().map(s -> new Document(s.index(), s.body(), labels.get(s.index())));
    }
    try {
      return TextCorpus.open(Path.of(ref.source())).documents();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("corpus '" + ref + "': " + e.getMessage(), e);
    }
  }

  /**
   * Reads every document of {@code ref} once and counts it.
   *
   * @throws IllegalArgumentException as {@link #open(String)}
   */
  public static CorpusStats describe(String ref) {
    CorpusRef r = CorpusRef.parse(ref);
    long[] totals = new long[2];
    Map<String, Long> langs = new TreeMap<>();
    Map<Split, Long> splits = new EnumMap<>(Split.class);
    for (Split s : Split.values()) {
      splits.put(s, 0L);
    }
    try (Stream<Document> docs = open(r)) {
      docs.forEach(d -> {
        totals[0]++;
        totals[1] += utf8Length(d.text());
        langs.merge(d.label() == null ? UNLABELLED : d.label(), 1L, Long::sum);
        splits.merge(Split.of(d.id()), 1L, Long::sum);
      });
    }
    return new CorpusStats(r, totals[0], totals[1], langs, splits);
  }

  /** Size and make-up of a corpus (or of its filtered part). */
  public record CorpusStats(CorpusRef ref, long documents, long bytes, Map<String, Long> languages,
      Map<Split, Long> splits) {
    public CorpusStats {
      languages = java.util.Collections.unmodifiableMap(new TreeMap<>(languages));
      Map<Split, Long> bySplit = new EnumMap<>(Split.class);
      bySplit.putAll(splits);
      splits = java.util.Collections.unmodifiableMap(bySplit);
    }
  }

  private static long utf8Length(String s) {
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }
}
