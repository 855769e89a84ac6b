package dev.loupe.samples.lens;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSources;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which token follows each row: the next row's, when it is the same document at the next position. */
class NextTokensTest {
  private static final int NONE = NextTokens.NONE;

  private static ActivationBatch batch(int[] tokens, int[] docs, int[] positions) {
    return new ActivationBatch("m", "h", 0, tokens.length, 1, new float[tokens.length], tokens, docs, positions, null);
  }

  private static List<int[]> readAll(ActivationBatch... batches) throws InterruptedException {
    NextTokens reader = new NextTokens(ActivationSources.fromBatches("h", 1, List.of(batches)));
    List<int[]> out = new ArrayList<>();
    for (NextTokens.Batch b = reader.next(); b != null; b = reader.next()) {
      out.add(b.next());
    }
    return out;
  }

  @Test
  void theNextRowOfTheSameDocumentAtTheNextPositionIsTheNextToken() {
    ActivationBatch b = batch(new int[] {10, 11, 12, 20, 21, 22}, new int[] {0, 0, 0, 1, 1, 1},
        new int[] {0, 1, 2, 0, 1, 5});

    // 12 ends document 0; 21 is followed by position 5 (another window), not 2
    assertThat(NextTokens.of(b, null)).containsExactly(11, 12, NONE, 21, NONE, NONE);
  }

  @Test
  void theLastRowOfABatchLooksIntoTheNextBatch() throws InterruptedException {
    List<int[]> next = readAll(
        batch(new int[] {1, 2}, new int[] {0, 0}, new int[] {0, 1}),
        batch(new int[] {}, new int[] {}, new int[] {}),
        batch(new int[] {3, 4}, new int[] {0, 0}, new int[] {2, 3}),
        batch(new int[] {5}, new int[] {7}, new int[] {4}));

    assertThat(next).hasSize(3); // the empty batch is skipped
    assertThat(next.get(0)).containsExactly(2, 3);
    assertThat(next.get(1)).containsExactly(4, NONE); // document 7 is another document
    assertThat(next.get(2)).containsExactly(NONE); // the end of the input
  }
}
