package dev.loupe.core.train;

import dev.loupe.core.corpus.Document;
import dev.loupe.core.model.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The token ids of a set of documents laid end to end, each document followed by the encoding of
 * a newline, with the number of UTF-8 bytes they stand for (to report bits per byte whatever the
 * tokenizer). Training windows are drawn at random offsets from a generator seeded by the step
 * number alone, so batch {@code s} is the same in a fresh and in a resumed run.
 */
public final class TokenData {
  private final int[] ids;
  private final long bytes;
  private final int documents;

  private TokenData(int[] ids, long bytes, int documents) {
    this.ids = ids;
    this.bytes = bytes;
    this.documents = documents;
  }

  /**
   * Encodes the documents that pass {@code keep}.
   *
   * @param what names the data in errors ("training split of europarl")
   * @throws IllegalArgumentException when no document passes
   */
  public static TokenData encode(Stream<Document> docs, Predicate<Document> keep, Tokenizer tokenizer, String what) {
    int[] buf = new int[1 << 20];
    int n = 0;
    long bytes = 0;
    int count = 0;
    int[] sep = tokenizer.encode("\n");
    for (Document d : (Iterable<Document>) docs.filter(keep)::iterator) {
      int[] t = tokenizer.encode(d.text());
      if (n + t.length + sep.length > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n + t.length + sep.length));
      }
      System.arraycopy(t, 0, buf, n, t.length);
      n += t.length;
      System.arraycopy(sep, 0, buf, n, sep.length);
      n += sep.length;
      bytes += d.text().getBytes(StandardCharsets.UTF_8).length + 1;
      count++;
    }
    if (count == 0) {
      throw new IllegalArgumentException(what + " has no documents");
    }
    return new TokenData(Arrays.copyOf(buf, n), bytes, count);
  }

  public int tokens() {
    return ids.length;
  }

  public long bytes() {
    return bytes;
  }

  public int documents() {
    return documents;
  }

  /** UTF-8 bytes per token (1 for a byte-level tokenizer). */
  public double bytesPerToken() {
    return (double) bytes / ids.length;
  }

  /**
   * {@code batch} windows of {@code context + 1} tokens at offsets drawn from a generator seeded by
   * {@code seed} and {@code step}; inputs are the first {@code context}, targets the last.
   *
   * @throws IllegalArgumentException when the data is shorter than one window
   */
  public int[][] window(long seed, long step, int batch, int context) {
    int span = context + 1;
    if (ids.length < span) {
      throw new IllegalArgumentException("the data has " + ids.length + " tokens, fewer than one window of " + span);
    }
    SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + step);
    int[][] out = new int[batch][];
    for (int b = 0; b < batch; b++) {
      int o = r.nextInt(ids.length - span + 1);
      out[b] = Arrays.copyOfRange(ids, o, o + span);
    }
    return out;
  }

  /**
   * Up to {@code count} windows of {@code context + 1} tokens spread evenly over the data (so
   * every part of the corpus, and every language in it, is represented), for evaluation.
   */
  public int[][] evenWindows(int count, int context) {
    int span = context + 1;
    int possible = ids.length / span;
    int n = Math.min(count, possible);
    if (n == 0) {
      throw new IllegalArgumentException("the data has " + ids.length + " tokens, fewer than one window of " + span);
    }
    int[][] out = new int[n][];
    for (int i = 0; i < n; i++) {
      int o = (int) ((long) i * (ids.length - span) / Math.max(1, n - 1));
      out[i] = Arrays.copyOfRange(ids, o, o + span);
    }
    return out;
  }
}
