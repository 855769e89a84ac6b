package dev.loupe.sdk.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.activation.ActivationBatch;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A balanced sample split by document. */
class LabelledSampleTest {

  /** {@code n} rows of width 2 (value = row index), 10 rows per document, label from {@code label}. */
  private static ActivationBatch batch(int n) {
    float[] v = new float[2 * n];
    int[] tok = new int[n];
    int[] doc = new int[n];
    int[] pos = new int[n];
    for (int i = 0; i < n; i++) {
      v[2 * i] = i;
      v[2 * i + 1] = -i;
      doc[i] = i / 10;
      pos[i] = i % 10;
    }
    return new ActivationBatch("m", "h", 0, n, 2, v, tok, doc, pos, null);
  }

  @Test
  void classesAreBalancedAndNoDocumentIsOnBothSides() {
    int n = 20_000;
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 10 == 0 ? 1 : i % 7 == 0 ? Labeller.NONE : 0; // class 1 is rare
    }
    LabelledSample s = new LabelledSample("toy", List.of("common", "rare"), 2, 1000, 20, 1);
    s.add(batch(n), labels);
    assertThat(s.seen()[1]).isEqualTo(2000);
    LabelledSample.Split split = s.balanced();
    int[] trainCounts = new int[2];
    for (int l : split.trainLabels()) {
      trainCounts[l]++;
    }
    assertThat(trainCounts[0]).isEqualTo(trainCounts[1]).isGreaterThan(1000 / 2);
    Set<Integer> trainDocs = new HashSet<>();
    for (int d : split.trainDocs()) {
      trainDocs.add(d);
    }
    for (int d : split.testDocs()) {
      assertThat(trainDocs).doesNotContain(d);
      assertThat(DocumentSplit.isTest(d, 20)).isTrue();
    }
    // every row keeps its own values and label
    for (int r = 0; r < split.trainLabels().length; r++) {
      int row = (int) split.trainFeatures().get(r, 0);
      assertThat(split.trainFeatures().get(r, 1)).isEqualTo(-row);
      assertThat(split.trainLabels()[r]).isEqualTo(labels[row]);
      assertThat(split.trainDocs()[r]).isEqualTo(row / 10);
    }
  }

  @Test
  void aClassWithoutRowsIsRefusedNamingTheCounts() {
    LabelledSample s = new LabelledSample("one-class", List.of("a", "b"), 2, 100, 20, 1);
    s.add(batch(500), new int[500]);
    assertThatThrownBy(s::balanced).isInstanceOf(IllegalStateException.class).hasMessageContaining("one-class")
        .hasMessageContaining("b: 0 train / 0 test");
  }

  @Test
  void badInputIsRefused() {
    assertThatThrownBy(() -> new LabelledSample("x", List.of("only"), 2, 10, 20, 1)).hasMessageContaining("at least two");
    LabelledSample s = new LabelledSample("x", List.of("a", "b"), 2, 10, 20, 1);
    assertThatThrownBy(() -> s.add(batch(5), new int[4])).hasMessageContaining("4 labels for a batch of 5 rows");
    assertThatThrownBy(() -> s.add(batch(2), new int[] {0, 7})).hasMessageContaining("label 7");
  }
}
