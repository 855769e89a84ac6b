package dev.loupe.plugins.neurons;

import dev.loupe.sdk.dataset.LabelledSample;
import dev.loupe.sdk.probe.FeatureMatrix;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A family's binary rows cut from a balanced sample: the positive class's rows and as many others,
 * on each side of the document split, training rows first. The finder samples each family as two
 * classes, so this is the whole sample laid out for the analysis; from a sample of more classes the
 * others are drawn at random from every other class.
 *
 * @param rows training rows, then test rows
 * @param labels 1 for the positive class, 0 for the rest
 * @param trainRows how many rows are training rows
 * @param trainPerClass training rows of each label (test: {@code testPerClass})
 */
record FamilyRows(FeatureMatrix rows, int[] labels, int trainRows, int trainPerClass, int testPerClass) {

  /** Cuts the rows of class {@code positive} against the rest out of {@code split}. */
  static FamilyRows of(LabelledSample.Split split, int positive, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int[][] train = pick(split.trainLabels(), positive, random);
    int[][] test = pick(split.testLabels(), positive, random);
    int width = split.trainFeatures().cols();
    int n = train[0].length + train[1].length + test[0].length + test[1].length;
    float[] values = new float[Math.multiplyExact(n, width)];
    int[] labels = new int[n];
    int r = 0;
    for (int side = 0; side < 2; side++) {
      FeatureMatrix from = side == 0 ? split.trainFeatures() : split.testFeatures();
      int[][] chosen = side == 0 ? train : test;
      for (int label = 1; label >= 0; label--) {
        for (int i : chosen[label]) {
          System.arraycopy(from.values(), i * width, values, r * width, width);
          labels[r++] = label;
        }
      }
    }
    return new FamilyRows(FeatureMatrix.of(values, n, width), labels, train[0].length + train[1].length,
        train[1].length, test[1].length);
  }

  /** [0]: as many rows of other classes as the positive class has, drawn at random; [1]: the positive rows. */
  private static int[][] pick(int[] labels, int positive, SplittableRandom random) {
    List<Integer> pos = new ArrayList<>();
    List<Integer> neg = new ArrayList<>();
    for (int i = 0; i < labels.length; i++) {
      (labels[i] == positive ? pos : neg).add(i);
    }
    int m = Math.min(pos.size(), neg.size());
    // partial Fisher-Yates: the first m of neg become a uniform sample
    for (int i = 0; i < m; i++) {
      int j = i + random.nextInt(neg.size() - i);
      Integer t = neg.get(i);
      neg.set(i, neg.get(j));
      neg.set(j, t);
    }
    int[] p = pos.stream().limit(m).mapToInt(Integer::intValue).toArray();
    int[] q = neg.stream().limit(m).mapToInt(Integer::intValue).toArray();
    return new int[][] {q, p};
  }
}
