package dev.loupe.sdk.dataset;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.probe.FeatureMatrix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A class-balanced sample of labelled rows, split into train and test by document: rows are
 * offered one stream at a time, each class keeps a uniform random sample (a reservoir) of at most
 * {@code maxPerClass} training rows (and proportionally fewer test rows), and {@link #balanced}
 * trims every class to the size of the smallest, so a probe's accuracy is not the share of the
 * majority class.
 *
 * <p>Not thread-safe.
 */
public final class LabelledSample {
  private final String name;
  private final List<String> classes;
  private final int width;
  private final int testPercent;
  private final Reservoir[] train;
  private final Reservoir[] test;
  private final long[] seen;
  private final SplittableRandom random;

  /**
   * @param name the dataset's name, for messages
   * @param classes the class names
   * @param width row width
   * @param maxPerClass training rows kept per class (test rows: the same scaled by the split)
   * @param testPercent percent of documents that are test documents ({@link DocumentSplit})
   * @throws IllegalArgumentException on fewer than two classes or non-positive sizes
   */
  public LabelledSample(String name, List<String> classes, int width, int maxPerClass, int testPercent, long seed) {
    if (classes.size() < 2) {
      throw new IllegalArgumentException("dataset '" + name + "' has " + classes.size()
          + " class(es); a probe needs at least two");
    }
    if (width < 1 || maxPerClass < 1) {
      throw new IllegalArgumentException("width and maxPerClass must be positive, got " + width + ", " + maxPerClass);
    }
    DocumentSplit.isTest(0, testPercent);
    this.name = name;
    this.classes = List.copyOf(classes);
    this.width = width;
    this.testPercent = testPercent;
    int maxTest = Math.max(1, (int) Math.round((double) maxPerClass * testPercent / (100 - testPercent)));
    this.train = new Reservoir[classes.size()];
    this.test = new Reservoir[classes.size()];
    for (int c = 0; c < classes.size(); c++) {
      train[c] = new Reservoir(maxPerClass, width);
      test[c] = new Reservoir(maxTest, width);
    }
    this.seen = new long[classes.size()];
    this.random = new SplittableRandom(seed);
  }

  /**
   * Offers every row of {@code batch} whose label is a class (not {@link Labeller#NONE}).
   *
   * @throws IllegalArgumentException when the labels do not match the batch's rows, a label is out
   *     of range, or the batch's width is not this sample's
   */
  public void add(ActivationBatch batch, int[] labels) {
    if (labels.length != batch.rows()) {
      throw new IllegalArgumentException("dataset '" + name + "': " + labels.length + " labels for a batch of "
          + batch.rows() + " rows");
    }
    if (batch.width() != width) {
      throw new IllegalArgumentException("dataset '" + name + "': batch of width " + batch.width() + ", expected "
          + width);
    }
    float[] v = batch.values();
    for (int r = 0; r < labels.length; r++) {
      int c = labels[r];
      if (c == Labeller.NONE) {
        continue;
      }
      if (c < 0 || c >= classes.size()) {
        throw new IllegalArgumentException("dataset '" + name + "': label " + c + " at row " + r + " is not a class"
            + " index in [0, " + classes.size() + ")");
      }
      seen[c]++;
      Reservoir res = DocumentSplit.isTest(batch.docIds()[r], testPercent) ? test[c] : train[c];
      res.offer(v, r * width, batch.docIds()[r], random);
    }
  }

  /** Labelled rows offered so far, per class. */
  public long[] seen() {
    return seen.clone();
  }

  /**
   * Train and test rows with every class trimmed to the smallest class's count on that side
   * (rows chosen at random), in a shuffled order.
   *
   * @param features [rows, width] row-major
   * @param docIds each row's document
   */
  public record Split(FeatureMatrix trainFeatures, int[] trainLabels, int[] trainDocs, FeatureMatrix testFeatures,
      int[] testLabels, int[] testDocs, List<String> classes) {
  }

  /**
   * The balanced split.
   *
   * @throws IllegalStateException naming the dataset and the counts when a class has no training
   *     or no test row (one class, no examples, or too few documents for the split)
   */
  public Split balanced() {
    int nc = classes.size();
    int minTrain = Integer.MAX_VALUE;
    int minTest = Integer.MAX_VALUE;
    for (int c = 0; c < nc; c++) {
      minTrain = Math.min(minTrain, train[c].size);
      minTest = Math.min(minTest, test[c].size);
    }
    if (minTrain == 0 || minTest == 0) {
      StringBuilder counts = new StringBuilder();
      for (int c = 0; c < nc; c++) {
        counts.append(c == 0 ? "" : ", ").append(classes.get(c)).append(": ").append(train[c].size).append(" train / ")
            .append(test[c].size).append(" test");
      }
      throw new IllegalStateException("dataset '" + name + "' has a class with no " + (minTrain == 0 ? "training" : "test")
          + " rows (" + counts + "); read more tokens, or a corpus with those classes");
    }
    Part tr = part(train, minTrain);
    Part te = part(test, minTest);
    return new Split(tr.features, tr.labels, tr.docs, te.features, te.labels, te.docs, classes);
  }

  private record Part(FeatureMatrix features, int[] labels, int[] docs) {
  }

  private Part part(Reservoir[] side, int perClass) {
    int nc = side.length;
    int n = perClass * nc;
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    float[] values = new float[n * width];
    int[] labels = new int[n];
    int[] docs = new int[n];
    for (int c = 0; c < nc; c++) {
      int[] pick = side[c].choose(perClass, random);
      for (int i = 0; i < perClass; i++) {
        int dst = order[c * perClass + i];
        System.arraycopy(side[c].values, pick[i] * width, values, dst * width, width);
        labels[dst] = c;
        docs[dst] = side[c].docs[pick[i]];
      }
    }
    return new Part(FeatureMatrix.of(values, n, width), labels, docs);
  }

  /** A uniform random sample of at most {@code capacity} rows (Algorithm R). */
  private static final class Reservoir {
    final int capacity;
    final int width;
    final float[] values;
    final int[] docs;
    int size;
    long offered;

    Reservoir(int capacity, int width) {
      this.capacity = capacity;
      this.width = width;
      this.values = new float[Math.multiplyExact(capacity, width)];
      this.docs = new int[capacity];
    }

    void offer(float[] v, int offset, int doc, SplittableRandom random) {
      offered++;
      int slot;
      if (size < capacity) {
        slot = size++;
      } else {
        long j = random.nextLong(offered);
        if (j >= capacity) {
          return;
        }
        slot = (int) j;
      }
      System.arraycopy(v, offset, values, slot * width, width);
      docs[slot] = doc;
    }

    /** {@code k} distinct slots at random. */
    int[] choose(int k, SplittableRandom random) {
      int[] idx = new int[size];
      for (int i = 0; i < size; i++) {
        idx[i] = i;
      }
      for (int i = 0; i < k; i++) {
        int j = i + random.nextInt(size - i);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
      return Arrays.copyOf(idx, k);
    }
  }

  /** The class names. */
  public List<String> classes() {
    return new ArrayList<>(classes);
  }
}
