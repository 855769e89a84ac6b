package dev.loupe.samples.lens;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;

/**
 * Reads an activation source one batch ahead, so that every row can be given the token that
 * actually follows it: the next row's token when the next row is the same document at the next
 * position. Rows of a harvest come in stream order (document by document, position by position),
 * so this is the token the model was predicting at that row. Where the next row starts another
 * document or another context window (its position is not one more), or the input has ended,
 * there is no next token and the row's entry is {@link #NONE}.
 *
 * <p>The one-batch look-ahead is what makes the last row of a batch work: its next token is the
 * first row of the following batch. Inputs read in a shuffled order (a shuffled store) have
 * almost no rows whose successor is their next token; the method reports how many rows had one.
 */
final class NextTokens {
  /** The entry of a row that has no next token. */
  static final int NONE = -1;

  /** A batch and, per row, the id of the token after it ({@link #NONE} when there is none). */
  record Batch(ActivationBatch rows, int[] next) {
  }

  private final ActivationSource in;
  private ActivationBatch ahead;
  private boolean started;

  NextTokens(ActivationSource in) {
    this.in = in;
  }

  /**
   * The next batch with its next tokens, or null at the end of the input.
   *
   * @throws InterruptedException when the job is cancelled while waiting for a batch
   */
  Batch next() throws InterruptedException {
    if (!started) {
      ahead = nonEmpty();
      started = true;
    }
    if (ahead == null) {
      return null;
    }
    ActivationBatch current = ahead;
    ahead = nonEmpty();
    return new Batch(current, of(current, ahead));
  }

  /** The next batch that has rows (an empty one would break the link across batches). */
  private ActivationBatch nonEmpty() throws InterruptedException {
    ActivationBatch b;
    do {
      b = in.next();
    } while (b != null && b.rows() == 0);
    return b;
  }

  /**
   * The next token of every row of {@code b}; {@code following} is the batch after it (null at
   * the end of the input).
   */
  static int[] of(ActivationBatch b, ActivationBatch following) {
    int n = b.rows();
    int[] next = new int[n];
    for (int r = 0; r < n; r++) {
      if (r + 1 < n) {
        next[r] = follows(b, r, b, r + 1) ? b.tokenIds()[r + 1] : NONE;
      } else {
        next[r] = following != null && following.rows() > 0 && follows(b, r, following, 0)
            ? following.tokenIds()[0] : NONE;
      }
    }
    return next;
  }

  private static boolean follows(ActivationBatch a, int ra, ActivationBatch b, int rb) {
    return a.docIds()[ra] == b.docIds()[rb] && a.positions()[ra] + 1 == b.positions()[rb];
  }
}
