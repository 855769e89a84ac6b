package dev.loupe.core.train;

import java.util.Locale;
import java.util.function.Function;

/**
 * Unigram and bigram models of bytes with add-k smoothing: the floor a byte-level language model
 * must beat, reported next to it in bits per byte.
 *
 * <p>Probabilities: unigram {@code p(b) = (c(b) + k) / (N + 256 k)}; bigram
 * {@code p(b | a) = (c(a, b) + k) / (c(a) + 256 k)} where {@code c(a)} counts bigrams starting in
 * {@code a}. A document's first byte is conditioned on a boundary symbol (as if every document
 * were preceded by it), so documents never leak context into each other. No end-of-document
 * symbol is coded: bits per byte counts the document's bytes only, like the language model's.
 *
 * <p>Fit by {@link #add} or {@link #fit}, then score with {@link #score}. Not thread-safe while
 * fitting; scoring only reads.
 */
public final class ByteNgramBaseline {
  /** Number of byte values. */
  public static final int VOCAB = 256;

  /** Which n-gram model. */
  public enum Order {
    UNIGRAM,
    BIGRAM
  }

  /** The context id of a document's first byte in the bigram model. */
  private static final int BOUNDARY = VOCAB;
  private static final double LN2 = Math.log(2);

  private final Order order;
  private final double k;
  /** Unigram: counts[b]. Bigram: counts[context * 256 + b], context 0..255 or BOUNDARY. */
  private final long[] counts;
  /** Bigram: number of bigrams seen per context. Unigram: one slot, the total byte count. */
  private final long[] contextTotals;
  /** -log2 p for each count slot, built on the first score after a change (scores read it). */
  private volatile double[] bitsCache;

  private ByteNgramBaseline(Order order, double k) {
    if (!(k > 0) || !Double.isFinite(k)) {
      // k = 0 would give unseen bytes probability 0 and infinitely many bits.
      throw new IllegalArgumentException("add-k smoothing constant must be finite and > 0, got " + k);
    }
    this.order = order;
    this.k = k;
    this.counts = new long[order == Order.UNIGRAM ? VOCAB : (VOCAB + 1) * VOCAB];
    this.contextTotals = new long[order == Order.UNIGRAM ? 1 : VOCAB + 1];
  }

  /** An empty unigram model with add-{@code k} smoothing. */
  public static ByteNgramBaseline unigram(double k) {
    return new ByteNgramBaseline(Order.UNIGRAM, k);
  }

  /** An empty bigram model with add-{@code k} smoothing. */
  public static ByteNgramBaseline bigram(double k) {
    return new ByteNgramBaseline(Order.BIGRAM, k);
  }

  /** Which model this is. */
  public Order order() {
    return order;
  }

  /** The smoothing constant. */
  public double k() {
    return k;
  }

  /** Number of training bytes counted so far. */
  public long trainingBytes() {
    long total = 0;
    for (long t : contextTotals) {
      total += t;
    }
    return total;
  }

  /**
   * Counts the bytes of one training document.
   *
   * @throws IllegalArgumentException if {@code document} is null
   */
  public ByteNgramBaseline add(byte[] document) {
    if (document == null) {
      throw new IllegalArgumentException("training document must not be null");
    }
    int context = BOUNDARY;
    for (byte value : document) {
      int b = value & 0xff;
      if (order == Order.UNIGRAM) {
        counts[b]++;
        contextTotals[0]++;
      } else {
        counts[context * VOCAB + b]++;
        contextTotals[context]++;
        context = b;
      }
    }
    bitsCache = null;
    return this;
  }

  /** Counts every document of {@code documents} (e.g. {@code stream::iterator}). */
  public ByteNgramBaseline fit(Iterable<byte[]> documents) {
    if (documents == null) {
      throw new IllegalArgumentException("training documents must not be null");
    }
    int index = 0;
    for (byte[] document : documents) {
      if (document == null) {
        throw new IllegalArgumentException("training document #" + index + " is null");
      }
      add(document);
      index++;
    }
    return this;
  }

  /**
   * The model's probability of byte {@code next} after {@code previous}; pass {@code previous = -1}
   * for the first byte of a document. The unigram model ignores {@code previous}.
   *
   * @throws IllegalArgumentException if a byte is outside 0..255 (or -1 for previous)
   */
  public double probability(int previous, int next) {
    if (next < 0 || next >= VOCAB) {
      throw new IllegalArgumentException("next byte must be in 0..255, got " + next);
    }
    if (previous < -1 || previous >= VOCAB) {
      throw new IllegalArgumentException("previous byte must be in 0..255, or -1 for a document start, got " + previous);
    }
    int context = order == Order.UNIGRAM ? 0 : (previous < 0 ? BOUNDARY : previous);
    int slot = order == Order.UNIGRAM ? next : context * VOCAB + next;
    return (counts[slot] + k) / (contextTotals[context] + VOCAB * k);
  }

  /** Bits this model spends coding {@code document}, and its length. */
  public BitsPerByte score(byte[] document) {
    if (document == null) {
      throw new IllegalArgumentException("document to score must not be null");
    }
    double[] bits = bits();
    double total = 0;
    int context = BOUNDARY;
    for (byte value : document) {
      int b = value & 0xff;
      if (order == Order.UNIGRAM) {
        total += bits[b];
      } else {
        total += bits[context * VOCAB + b];
        context = b;
      }
    }
    return new BitsPerByte(total, document.length);
  }

  /** Bits this model spends coding all {@code documents}, and their total length. */
  public BitsPerByte score(Iterable<byte[]> documents) {
    if (documents == null) {
      throw new IllegalArgumentException("documents to score must not be null");
    }
    BitsPerByte sum = BitsPerByte.ZERO;
    int index = 0;
    for (byte[] document : documents) {
      if (document == null) {
        throw new IllegalArgumentException("document #" + index + " to score is null");
      }
      sum = sum.plus(score(document));
      index++;
    }
    return sum;
  }

  /**
   * Scores labelled documents of any type (e.g. corpus documents with a language code) per label
   * and overall.
   *
   * @param label the document's label; must not be null or blank
   * @param bytes the document's bytes (e.g. its text as UTF-8)
   * @throws IllegalArgumentException naming the document's position if its label is missing
   */
  public <T> LabeledBitsPerByte scoreByLabel(
      Iterable<T> documents, Function<? super T, String> label, Function<? super T, byte[]> bytes) {
    if (documents == null || label == null || bytes == null) {
      throw new IllegalArgumentException("documents, label and bytes must not be null");
    }
    LabeledBitsPerByte.Tally tally = new LabeledBitsPerByte.Tally();
    int index = 0;
    for (T document : documents) {
      String name = label.apply(document);
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("document #" + index + " has no label; every scored document needs one");
      }
      byte[] content = bytes.apply(document);
      if (content == null) {
        throw new IllegalArgumentException("document #" + index + " (label '" + name + "') has null bytes");
      }
      tally.add(name, score(content));
      index++;
    }
    return tally.result();
  }

  private double[] bits() {
    double[] cached = bitsCache;
    if (cached != null) {
      return cached;
    }
    double[] bits = new double[counts.length];
    for (int slot = 0; slot < counts.length; slot++) {
      int context = order == Order.UNIGRAM ? 0 : slot / VOCAB;
      double p = (counts[slot] + k) / (contextTotals[context] + VOCAB * k);
      bits[slot] = -Math.log(p) / LN2;
    }
    bitsCache = bits;
    return bits;
  }

  @Override
  public String toString() {
    return order.name().toLowerCase(Locale.ROOT) + " byte model (add-" + k + ", "
        + trainingBytes() + " training bytes)";
  }
}
