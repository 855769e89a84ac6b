package dev.loupe.core.dataset;

import dev.loupe.core.corpus.LanguageLabels;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.model.ModelSession;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The kinds of labelled token dataset Loupe defines, each a {@link TokenDataset}:
 * <ul>
 *   <li>{@link DocumentLabel}: the document's label (for Europarl, its language), as one class per
 *       listed label, or one listed set against the rest;
 *   <li>{@link Position}: the token's position in its context window, in buckets;
 *   <li>{@link TokenClass}: what the token's text is (digit, capitalised, lower case, space,
 *       punctuation, other);
 *   <li>{@link WordCompletion}: the token that completes a given word (or word pair) in context
 *       against the same token elsewhere, the compound-word setting of Gurnee et al. 2023
 *       ("Finding Neurons in a Haystack"); for a byte-level model, the word's last byte.
 * </ul>
 */
public final class TokenDatasets {
  private TokenDatasets() {
  }

  /** Document labels: Europarl speeches' languages. */
  public static final class DocumentLabel implements TokenDataset {
    private final String name;
    private final List<String> classes;
    private final Map<String, Integer> classOf;
    private final boolean rest;
    private final LanguageLabels labels;

    /**
     * @param classes the labels that are classes, one each
     * @param rest when true, {@code classes} form one positive class against every other label
     *     (classes are then [other, POSITIVE...joined])
     */
    public DocumentLabel(String name, List<String> classes, boolean rest, LanguageLabels labels) {
      if (classes.isEmpty() || (!rest && classes.size() < 2)) {
        throw new IllegalArgumentException("dataset '" + name + "': a document-label dataset needs "
            + (rest ? "at least one positive label" : "at least two labels") + ", got " + classes);
      }
      this.name = name;
      this.rest = rest;
      this.labels = Objects.requireNonNull(labels, "labels");
      this.classOf = new LinkedHashMap<>();
      if (rest) {
        classes.forEach(c -> classOf.put(c, 1));
        this.classes = List.of("other", String.join("+", classes));
      } else {
        for (int i = 0; i < classes.size(); i++) {
          if (classOf.put(classes.get(i), i) != null) {
            throw new IllegalArgumentException("dataset '" + name + "': label '" + classes.get(i) + "' is listed twice");
          }
        }
        this.classes = List.copyOf(classes);
      }
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String description() {
      return rest ? "the document's language is " + classes.get(1) + " (class 1) or another (class 0)"
          : "the document's language, one of " + classes;
    }

    @Override
    public List<String> classes() {
      return classes;
    }

    @Override
    public Labeller labeller(ModelSession tokenizer) {
      return batch -> {
        int[] out = new int[batch.rows()];
        for (int r = 0; r < out.length; r++) {
          int doc = batch.docIds()[r];
          String label = doc >= 0 && doc < labels.size() ? labels.get(doc) : null;
          Integer c = label == null || label.equals(LanguageLabels.UNDETERMINED) ? null : classOf.get(label);
          out[r] = c != null ? c : rest && label != null && !label.equals(LanguageLabels.UNDETERMINED) ? 0
              : Labeller.NONE;
        }
        return out;
      };
    }
  }

  /** The token's position within its context window, bucketed. */
  public static final class Position implements TokenDataset {
    private final String name;
    private final int[] edges;
    private final int window;
    private final List<String> classes;

    /**
     * @param edges ascending bucket starts, the first 0: bucket i holds positions in
     *     [edges[i], edges[i+1]), the last from its edge on
     * @param window the context window length positions are taken modulo (0: the model's context)
     */
    public Position(String name, int[] edges, int window) {
      if (edges.length < 2 || edges[0] != 0) {
        throw new IllegalArgumentException("dataset '" + name + "': buckets must start at 0 and have at least two"
            + " edges, got " + java.util.Arrays.toString(edges));
      }
      for (int i = 1; i < edges.length; i++) {
        if (edges[i] <= edges[i - 1]) {
          throw new IllegalArgumentException("dataset '" + name + "': bucket edges must increase, got "
              + java.util.Arrays.toString(edges));
        }
      }
      if (window < 0) {
        throw new IllegalArgumentException("dataset '" + name + "': window must be >= 0, got " + window);
      }
      this.name = name;
      this.edges = edges.clone();
      this.window = window;
      List<String> c = new ArrayList<>();
      for (int i = 0; i < edges.length; i++) {
        c.add(i + 1 < edges.length ? edges[i] + "-" + (edges[i + 1] - 1) : edges[i] + "+");
      }
      this.classes = List.copyOf(c);
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String description() {
      return "the token's position in its context window, in buckets " + classes;
    }

    @Override
    public List<String> classes() {
      return classes;
    }

    @Override
    public Labeller labeller(ModelSession tokenizer) {
      int w = window > 0 ? window : tokenizer.info().maxContext();
      return batch -> {
        int[] out = new int[batch.rows()];
        for (int r = 0; r < out.length; r++) {
          int p = batch.positions()[r] % w;
          int c = 0;
          while (c + 1 < edges.length && p >= edges[c + 1]) {
            c++;
          }
          out[r] = c;
        }
        return out;
      };
    }
  }

  /** What the token's text is: digit, capitalised word, lower-case word, space, punctuation, other. */
  public static final class TokenClass implements TokenDataset {
    /** The classes, in order. */
    public static final List<String> CLASSES = List.of("digit", "capitalised", "lower", "space", "punctuation", "other");
    private final String name;

    public TokenClass(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String description() {
      return "the token's text: " + CLASSES + " (by its first character after leading spaces)";
    }

    @Override
    public List<String> classes() {
      return CLASSES;
    }

    /** The class of a token's text. */
    static int classOf(String text) {
      String t = text.stripLeading();
      if (t.isEmpty()) {
        return text.isEmpty() ? 5 : 3;
      }
      int cp = t.codePointAt(0);
      if (cp == 0xFFFD) {
        return 5; // a lone byte of a multi-byte character
      }
      if (Character.isDigit(cp)) {
        return 0;
      }
      if (Character.isUpperCase(cp) || Character.isTitleCase(cp)) {
        return 1;
      }
      if (Character.isLetter(cp)) {
        return 2;
      }
      int type = Character.getType(cp);
      boolean punct = type == Character.CONNECTOR_PUNCTUATION || type == Character.DASH_PUNCTUATION
          || type == Character.START_PUNCTUATION || type == Character.END_PUNCTUATION
          || type == Character.INITIAL_QUOTE_PUNCTUATION || type == Character.FINAL_QUOTE_PUNCTUATION
          || type == Character.OTHER_PUNCTUATION;
      return punct ? 4 : 5;
    }

    @Override
    public Labeller labeller(ModelSession tokenizer) {
      int vocab = tokenizer.info().vocabSize();
      int[] cache = new int[vocab];
      java.util.Arrays.fill(cache, -2);
      return batch -> {
        int[] out = new int[batch.rows()];
        for (int r = 0; r < out.length; r++) {
          int id = batch.tokenIds()[r];
          if (id < 0 || id >= vocab) {
            out[r] = Labeller.NONE;
            continue;
          }
          if (cache[id] == -2) {
            cache[id] = classOf(tokenizer.decode(new int[] {id}));
          }
          out[r] = cache[id];
        }
        return out;
      };
    }
  }

  /**
   * The token that completes {@code word} (the word's last token, with no letter right before the
   * word and none right after it) against the same token elsewhere: class 1 and class 0. With
   * {@code nearMiss}, class 0 keeps only the hard negatives: the same token where the text ends in
   * at least half of the word (at least 2 characters) without completing it ("mission",
   * "Kommission" or "Commissioner" for "Commission"), so that a detector of the last few letters is
   * not enough to tell the classes apart. Rows of other tokens, and a candidate row whose next
   * token is not in the same batch, are left out. The text before a row is rebuilt from the rows of
   * its document seen so far.
   */
  public static final class WordCompletion implements TokenDataset {
    private static final int LOOKBACK = 48;
    private final String name;
    private final String word;
    private final boolean nearMiss;

    public WordCompletion(String name, String word) {
      this(name, word, false);
    }

    public WordCompletion(String name, String word, boolean nearMiss) {
      if (word == null || word.isBlank()) {
        throw new IllegalArgumentException("dataset '" + name + "': the word is empty");
      }
      if (nearMiss && word.length() < 3) {
        throw new IllegalArgumentException("dataset '" + name + "': near-miss negatives need a word of at least 3 "
            + "characters, got \"" + word + "\"");
      }
      this.name = name;
      this.word = word;
      this.nearMiss = nearMiss;
    }

    /** The word whose completion this dataset labels. */
    public String word() {
      return word;
    }

    /** Whether class 0 holds only near misses. */
    public boolean nearMiss() {
      return nearMiss;
    }

    /** How many of the word's last characters a near miss ends with, at least. */
    int nearMissChars() {
      return Math.max(2, (word.length() + 1) / 2);
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String description() {
      return nearMiss
          ? "the token completing \"" + word + "\" (class 1) against the same token ending \""
              + word.substring(word.length() - nearMissChars()) + "\" without completing it (class 0)"
          : "the token completing \"" + word + "\" (class 1) against the same token elsewhere (class 0)";
    }

    @Override
    public List<String> classes() {
      return List.of(nearMiss ? "near miss" : "elsewhere", "completes " + word);
    }

    @Override
    public Labeller labeller(ModelSession tokenizer) {
      Set<Integer> finals = new HashSet<>();
      for (String form : List.of(word, " " + word)) {
        int[] ids = tokenizer.encode(form);
        if (ids.length > 0) {
          finals.add(ids[ids.length - 1]);
        }
      }
      if (finals.isEmpty()) {
        throw new IllegalArgumentException("dataset '" + name + "': the tokenizer of " + tokenizer.info().id()
            + " turns \"" + word + "\" into no tokens");
      }
      return new Completion(tokenizer, finals);
    }

    private final class Completion implements Labeller {
      private final ModelSession tokenizer;
      private final Set<Integer> finals;
      private final String tail = word.substring(word.length() - nearMissChars());
      // the last LOOKBACK token ids of the current document, oldest first
      private int doc = -1;
      private int nextPosition;
      private final int[] recent = new int[LOOKBACK];
      private int count;

      Completion(ModelSession tokenizer, Set<Integer> finals) {
        this.tokenizer = tokenizer;
        this.finals = finals;
      }

      @Override
      public int[] labels(ActivationBatch batch) {
        int n = batch.rows();
        int[] out = new int[n];
        for (int r = 0; r < n; r++) {
          int d = batch.docIds()[r];
          int p = batch.positions()[r];
          if (d != doc || p != nextPosition) {
            doc = d;
            count = 0;
          }
          nextPosition = p + 1;
          int id = batch.tokenIds()[r];
          push(id);
          if (!finals.contains(id)) {
            out[r] = Labeller.NONE;
            continue;
          }
          boolean nextKnown = r + 1 < n && batch.docIds()[r + 1] == d && batch.positions()[r + 1] == p + 1;
          if (!nextKnown) {
            out[r] = Labeller.NONE;
            continue;
          }
          out[r] = label(batch.tokenIds()[r + 1]);
        }
        return out;
      }

      private void push(int id) {
        if (count == LOOKBACK) {
          System.arraycopy(recent, 1, recent, 0, LOOKBACK - 1);
          count--;
        }
        recent[count++] = id;
      }

      /**
       * The text of the document's last tokens, at least one character longer than the word when
       * the document has that much (a token is at least one byte, and a character at most four).
       */
      private String recentText() {
        int w = Math.min(count, 4 * (word.length() + 1));
        String text = tokenizer.decode(java.util.Arrays.copyOfRange(recent, count - w, count));
        if (text.length() <= word.length() && w < count) {
          text = tokenizer.decode(java.util.Arrays.copyOf(recent, count));
        }
        return text;
      }

      /** 1 when the text ends with the word on word boundaries; 0 for a negative; NONE when neither. */
      private int label(int nextId) {
        String text = recentText();
        if (completes(text, nextId)) {
          return 1;
        }
        if (!nearMiss) {
          return 0;
        }
        return text.endsWith(tail) ? 0 : Labeller.NONE;
      }

      /** Whether the text ends with the word on a word boundary, and the next token starts no letter. */
      private boolean completes(String text, int nextId) {
        if (!text.endsWith(word)) {
          return false;
        }
        int start = text.length() - word.length();
        if (start > 0 && Character.isLetterOrDigit(text.codePointBefore(start))) {
          return false;
        }
        if (start == 0 && count == LOOKBACK) {
          return false; // the word may have begun before what is remembered
        }
        String next = tokenizer.decode(new int[] {nextId});
        return next.isEmpty() || !Character.isLetterOrDigit(next.codePointAt(0));
      }
    }
  }
}
