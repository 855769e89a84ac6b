package dev.loupe.core.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.sparse.SpliceEvaluator;
import dev.loupe.sdk.sparse.SpliceEvaluator.Splice;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Splicing replacements into the shipped demo model and scoring next-token loss, checked against the plain run. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SpliceEvaluatorTest {
  private LocalModelSession demo;
  private List<int[]> texts;

  @BeforeAll
  void open() {
    demo = LocalModelSession.open("demo");
    texts = List.of(
        demo.encode("Monsieur le Président, je voudrais remercier la commission pour son rapport."),
        demo.encode("Herr Präsident, wir müssen diese Frage"),
        demo.encode("Mr President, the report"));
  }

  @AfterAll
  void close() {
    demo.close();
  }

  @Test
  void cleanLossIsTheMeanNextTokenCrossEntropyComputedByHand() {
    double sum = 0;
    long n = 0;
    for (int[] t : texts) {
      try (RunResult r = demo.run(new int[][] {t}, Set.of())) {
        float[] logits = r.output().toType(DataType.FLOAT32, false).toFloatArray();
        int vocab = demo.info().vocabSize();
        for (int p = 0; p + 1 < t.length; p++) {
          double max = Double.NEGATIVE_INFINITY;
          for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits[p * vocab + v]);
          }
          double z = 0;
          for (int v = 0; v < vocab; v++) {
            z += Math.exp(logits[p * vocab + v] - max);
          }
          sum += max + Math.log(z) - logits[p * vocab + t[p + 1]];
          n++;
        }
      }
    }
    SpliceEvaluator.Result r = SpliceEvaluator.evaluate(demo, texts, Splice.at("blocks.2.hook_resid_post", a -> a), 2);
    assertThat(r.predictions()).isEqualTo(n);
    assertThat(r.cleanLoss()).isCloseTo(sum / n, within(1e-4));
  }

  @Test
  void anIdentitySpliceRecoversEverythingAndZeroRecoversNothing() {
    SpliceEvaluator.Result same = SpliceEvaluator.evaluate(demo, texts, Splice.at("blocks.1.hook_mlp_out", a -> a), 8);
    assertThat(same.splicedLoss()).isCloseTo(same.cleanLoss(), within(1e-6));
    assertThat(same.klDivergence()).isCloseTo(0, within(1e-6));
    assertThat(same.lossRecovered()).isCloseTo(1, within(1e-4));
    assertThat(same.ablatedLoss()).isGreaterThan(same.cleanLoss());

    SpliceEvaluator.Result zero = SpliceEvaluator.evaluate(demo, texts,
        Splice.at("blocks.1.hook_mlp_out", NDArray::zerosLike), 8);
    assertThat(zero.splicedLoss()).isCloseTo(zero.ablatedLoss(), within(1e-6));
    assertThat(zero.lossRecovered()).isCloseTo(0, within(1e-4));
    assertThat(zero.klDivergence()).isGreaterThan(0.01);
  }

  @Test
  void halfwayReplacementLandsBetweenCleanAndAblated() {
    SpliceEvaluator.Result half = SpliceEvaluator.evaluate(demo, texts,
        Splice.at("blocks.2.hook_mlp_out", a -> a.mul(0.5f)), 8);
    assertThat(half.splicedLoss()).isBetween(Math.min(half.cleanLoss(), half.ablatedLoss()) - 0.05,
        Math.max(half.cleanLoss(), half.ablatedLoss()) + 0.05);
    assertThat(half.klDivergence()).isGreaterThan(0);
  }

  @Test
  void aReadHookBeforeTheWriteHookFeedsTheReplacement() {
    // layer 1's input residual is layer 0's output: copying one onto the other changes nothing
    SpliceEvaluator.Result copy = SpliceEvaluator.evaluate(demo, texts,
        new Splice("blocks.0.hook_resid_post", "blocks.1.hook_resid_pre", a -> a), 8);
    assertThat(copy.klDivergence()).isCloseTo(0, within(1e-6));
    // zeros computed from the read hook and written at the write hook are the zero-ablation
    SpliceEvaluator.Result scaled = SpliceEvaluator.evaluate(demo, texts,
        new Splice("blocks.0.hook_resid_post", "blocks.1.hook_resid_pre", a -> a.mul(0f)), 8);
    assertThat(scaled.splicedLoss()).isCloseTo(scaled.ablatedLoss(), within(1e-6));
  }

  @Test
  void writingBeforeReadingIsRefusedNamingBothHooks() {
    assertThatThrownBy(() -> SpliceEvaluator.evaluate(demo, texts,
        new Splice("blocks.3.hook_resid_post", "blocks.0.hook_mlp_out", a -> a), 8))
        .hasMessageContaining("blocks.0.hook_mlp_out").hasMessageContaining("blocks.3.hook_resid_post");
  }

  @Test
  void badInputsAreNamed() {
    assertThatThrownBy(() -> SpliceEvaluator.evaluate(demo, texts, Splice.at("blocks.9.hook_mlp_out", a -> a), 8))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blocks.9.hook_mlp_out");
    assertThatThrownBy(() -> SpliceEvaluator.evaluate(demo, List.of(new int[] {5}), Splice.at("blocks.1.hook_mlp_out",
        a -> a), 8)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 or more tokens");
    assertThatThrownBy(() -> SpliceEvaluator.evaluate(demo, texts, Splice.at("blocks.1.hook_mlp_out",
        a -> a.get(":, :, :10")), 8)).hasMessageContaining("shape");
  }

  @Test
  void rowsAreCutBackIntoTheirWindows() {
    int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int[] docs = {0, 0, 0, 0, 0, 1, 1, 1, 2};
    int[] positions = {0, 1, 2, 3, 4, 5, 6, 10, 0};
    List<int[]> windows = SpliceEvaluator.sequences(tokens, docs, positions, 9, 4);
    assertThat(windows).containsExactly(new int[] {1, 2, 3, 4}, new int[] {6, 7});
  }
}
