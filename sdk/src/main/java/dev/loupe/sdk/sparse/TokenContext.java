package dev.loupe.sdk.sparse;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Remembers the last few token ids of recently seen documents, so each streamed row can carry the
 * tokens that preceded it. Rows of a document arrive in order; only the {@code maxDocs} most
 * recently touched documents are kept, which bounds memory on endless streams.
 */
public final class TokenContext {
  private final int length;
  private final Map<Integer, int[]> recent;

  /**
   * @param length token ids kept before each row
   * @param maxDocs documents remembered at once
   */
  public TokenContext(int length, int maxDocs) {
    this.length = length;
    this.recent = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Integer, int[]> eldest) {
        return size() > maxDocs;
      }
    };
  }

  /**
   * The token ids before this row in its document (at most {@code length}, oldest first, only those
   * at the positions directly before it), then records the row's own token.
   */
  public int[] next(int docId, int position, int tokenId) {
    // ring[0]: the position after the last recorded token; ring[1]: where the run of adjacent
    // recorded positions ending there starts; then the token at position p at 2 + p % length.
    int[] ring = recent.get(docId);
    int[] context = new int[0];
    if (ring != null && length > 0 && position <= ring[0]) {
      int start = Math.max(ring[1], Math.max(ring[0] - length, position - length));
      if (start < position) {
        context = new int[position - start];
        for (int p = start; p < position; p++) {
          context[p - start] = ring[2 + p % length];
        }
      }
    }
    if (length > 0) {
      if (ring == null) {
        ring = new int[2 + length];
        ring[1] = position;
        recent.put(docId, ring);
      } else if (position != ring[0]) {
        ring[1] = position;
      }
      ring[2 + position % length] = tokenId;
      ring[0] = position + 1;
    }
    return context;
  }
}
