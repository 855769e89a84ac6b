package dev.loupe.core.train;

import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Bits per byte of a set of documents broken down by label (e.g. ISO 639-1 language code), plus
 * the overall score. The overall figure weights each label by its bytes, so it is the same
 * number one gets by scoring all documents at once.
 *
 * @param byLabel score per label, sorted by label
 * @param overall score of all documents together
 */
public record LabeledBitsPerByte(SortedMap<String, BitsPerByte> byLabel, BitsPerByte overall) {
  public LabeledBitsPerByte {
    if (byLabel == null || overall == null) {
      throw new IllegalArgumentException("byLabel and overall must not be null");
    }
    byLabel = Collections.unmodifiableSortedMap(new TreeMap<>(byLabel));
  }

  /**
   * Adds up per-document scores by label; use it to score a model the same way the n-gram
   * baselines are scored. Not thread-safe.
   */
  public static final class Tally {
    private final Map<String, BitsPerByte> byLabel = new TreeMap<>();
    private BitsPerByte overall = BitsPerByte.ZERO;

    /**
     * Adds the score of one document.
     *
     * @throws IllegalArgumentException if the label is null or blank
     */
    public Tally add(String label, BitsPerByte score) {
      if (label == null || label.isBlank()) {
        throw new IllegalArgumentException("document label must not be null or blank, got " + label);
      }
      if (score == null) {
        throw new IllegalArgumentException("score of a '" + label + "' document must not be null");
      }
      byLabel.merge(label, score, BitsPerByte::plus);
      overall = overall.plus(score);
      return this;
    }

    /** The scores added so far. */
    public LabeledBitsPerByte result() {
      return new LabeledBitsPerByte(new TreeMap<>(byLabel), overall);
    }
  }
}
