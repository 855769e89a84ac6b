package dev.loupe.sdk.probe;

/** Checks shared by the probes: labels against features, row subsets, class counts. */
final class ProbeInputs {
  private ProbeInputs() {
  }

  static void requireFeatures(FeatureMatrix features) {
    if (features == null) {
      throw new IllegalArgumentException("features: expected a FeatureMatrix, got null");
    }
  }

  /**
   * Checks labels are 0..K-1, one per feature row, and that there are examples; returns K (at least 2,
   * with every class present).
   */
  static int classes(FeatureMatrix features, int[] labels) {
    requireFeatures(features);
    if (labels == null) {
      throw new IllegalArgumentException("labels: expected one class index per feature row, got null");
    }
    if (labels.length != features.rows()) {
      throw new IllegalArgumentException("labels: got " + labels.length + " labels for " + features.rows()
          + " feature rows; expected one label per row");
    }
    if (labels.length == 0) {
      throw new IllegalArgumentException("labels: no examples; expected at least one example of each of two classes");
    }
    int max = 0;
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0) {
        throw new IllegalArgumentException("labels: label " + i + " is " + labels[i] + "; expected a class index >= 0");
      }
      max = Math.max(max, labels[i]);
    }
    int[] counts = new int[max + 1];
    for (int label : labels) {
      counts[label]++;
    }
    if (max == 0) {
      throw new IllegalArgumentException("labels: all " + labels.length
          + " examples are class 0; expected examples of at least two classes");
    }
    for (int k = 0; k < counts.length; k++) {
      if (counts[k] == 0) {
        throw new IllegalArgumentException("labels: class " + k + " has no examples; expected every class 0.."
            + max + " to occur (renumber the classes)");
      }
    }
    return counts.length;
  }

  /** Checks binary 0/1 labels with both classes present. */
  static void requireBinary(FeatureMatrix features, int[] labels) {
    int k = classes(features, labels);
    if (k != 2) {
      throw new IllegalArgumentException("labels: found " + k + " classes; expected binary labels 0 and 1");
    }
  }

  static int[] rows(String name, int[] rows, int bound) {
    if (rows == null) {
      throw new IllegalArgumentException(name + ": expected row indices, got null");
    }
    if (rows.length == 0) {
      throw new IllegalArgumentException(name + ": no examples; expected at least one row index");
    }
    for (int r : rows) {
      if (r < 0 || r >= bound) {
        throw new IllegalArgumentException(name + ": row index " + r + " is out of range; expected 0.." + (bound - 1));
      }
    }
    return rows;
  }

  static int[] pick(int[] labels, int[] rows) {
    int[] out = new int[rows.length];
    for (int i = 0; i < rows.length; i++) {
      out[i] = labels[rows[i]];
    }
    return out;
  }
}
