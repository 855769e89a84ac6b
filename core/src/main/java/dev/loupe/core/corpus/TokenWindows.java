package dev.loupe.core.corpus;

import java.util.Arrays;
import java.util.Iterator;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Cuts documents into consecutive token windows of at most {@code ctx} tokens (the last window
 * of a document may be shorter; documents that encode to nothing are skipped). Lazy: one
 * document is tokenized at a time.
 */
public final class TokenWindows {
  private TokenWindows() {
  }

  /**
   * The windows of {@code documents}, tokenized by {@code encoder} (e.g. {@code session::encode}).
   * Closing the returned stream closes {@code documents}.
   *
   * @throws IllegalArgumentException when ctx is not positive
   */
  public static Stream<TokenWindow> of(Stream<Document> documents, Function<String, int[]> encoder, int ctx) {
    Objects.requireNonNull(documents, "documents");
    Objects.requireNonNull(encoder, "encoder");
    if (ctx <= 0) {
      throw new IllegalArgumentException("window length (ctx) must be > 0, got " + ctx);
    }
    Iterator<Document> docs = documents.iterator();
    Iterator<TokenWindow> windows = new Iterator<>() {
      int[] tokens;
      int docId;
      int offset;

      @Override
      public boolean hasNext() {
        while ((tokens == null || offset >= tokens.length) && docs.hasNext()) {
          Document d = docs.next();
          tokens = encoder.apply(d.text());
          docId = d.id();
          offset = 0;
        }
        return tokens != null && offset < tokens.length;
      }

      @Override
      public TokenWindow next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        int end = Math.min(tokens.length, offset + ctx);
        TokenWindow w = new TokenWindow(docId, offset, Arrays.copyOfRange(tokens, offset, end));
        offset = end;
        return w;
      }
    };
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(windows, Spliterator.ORDERED | Spliterator.NONNULL),
        false).onClose(documents::close);
  }
}
