package dev.loupe.core.stream;

import dev.loupe.sdk.activation.ActivationBatch;

/**
 * Rows [from, to) of a batch, as a stream sends one chunk of a large batch to a consumer on
 * another node: the same as {@link ActivationBatch#slice(int, int)} on the wire, but encoded
 * straight from the original arrays, so splitting a batch costs no extra copy.
 */
record BatchRows(ActivationBatch batch, int from, int to) {
  BatchRows {
    if (from < 0 || to > batch.rows() || from > to) {
      throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of a batch with " + batch.rows() + " rows");
    }
  }
}
