package dev.loupe.core.corpus;

/**
 * A run of at most one context's worth of tokens from one document.
 *
 * @param docId the document it comes from
 * @param start the position of its first token within the document's tokens
 */
public record TokenWindow(int docId, int start, int[] tokens) {
  public TokenWindow {
    if (tokens == null || tokens.length == 0) {
      throw new IllegalArgumentException("a token window needs at least one token (doc " + docId + ")");
    }
  }

  /** Number of tokens. */
  public int length() {
    return tokens.length;
  }

  /** The same window cut to its first {@code n} tokens. */
  public TokenWindow truncate(int n) {
    if (n <= 0 || n > tokens.length) {
      throw new IllegalArgumentException("cannot truncate a window of " + tokens.length + " tokens to " + n);
    }
    return n == tokens.length ? this : new TokenWindow(docId, start, java.util.Arrays.copyOf(tokens, n));
  }
}
