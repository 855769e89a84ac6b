package dev.loupe.sdk.dataset;

import dev.loupe.sdk.activation.ActivationBatch;

/**
 * Labels the rows of one activation stream, batch after batch, in stream order (it may remember
 * the tokens of recent rows to look at context). Not thread-safe: one reader uses it.
 */
@FunctionalInterface
public interface Labeller {

  /** The value of a row that is not in the dataset. */
  int NONE = -1;

  /** The class of every row of {@code batch} (an index into the dataset's classes), or {@link #NONE}. */
  int[] labels(ActivationBatch batch);
}
