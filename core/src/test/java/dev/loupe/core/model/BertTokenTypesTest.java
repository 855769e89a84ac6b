package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.RunResult;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Token type (segment) ids: how BERT checks them and how models without them refuse them. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BertTokenTypesTest {
  private static final int[][] TOKENS = {{5, 6, 7, 8}, {9, 10}};

  private NDManager manager;
  private BertModel bert;

  @BeforeAll
  void smallBert() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    bert = BertModel.random(new BertConfig(64, 16, 2, 16, 1, 2, 32, 1e-12), 3, manager);
  }

  @AfterAll
  void close() {
    bert.close();
    manager.close();
  }

  @Test
  void typesShorterThanTheirSequenceAreRejectedNamingTheSequence() {
    assertThatThrownBy(() -> bert.forward(TOKENS, new int[][] {{0, 0, 1, 1}, {0}}, ForwardHooks.none(), manager))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tokenTypes[1] has 1 types but sequence 1 has 2 tokens");
  }

  @Test
  void aTypeAtTypeVocabSizeIsRejectedNamingSequenceAndPosition() {
    assertThatThrownBy(() -> bert.forward(TOKENS, new int[][] {{0, 0, 1, 1}, {0, 2}}, ForwardHooks.none(), manager))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sequence 1, position 1")
        .hasMessageContaining("[0, 2)");
  }

  @Test
  void allZeroTypesGiveTheSameHiddenStateAsNoTypes() {
    NDManager out = manager.newSubManager();
    try (out) {
      float[] none = bert.forward(TOKENS, ForwardHooks.none(), out).logits().toFloatArray();
      float[] zeros = bert.forward(TOKENS, new int[][] {{0, 0, 0, 0}, {0, 0}}, ForwardHooks.none(), out)
          .logits().toFloatArray();
      assertThat(zeros).containsExactly(none);
    }
  }

  @Test
  void aCausalModelRejectsNonZeroTypesNamingItsArchitecture() {
    try (LocalModelSession tiny = LocalModelSession.open(ModelRefs.TINY)) {
      int[][] tokens = {tiny.encode("ab")};
      assertThatThrownBy(() -> tiny.run(tokens, new int[][] {{0, 1}}, Set.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("gpt2 architecture has no token type")
          .hasMessageContaining("tokenTypes[0][1] = 1");
      try (RunResult zeros = tiny.run(tokens, new int[][] {{0, 0}}, Set.of())) {
        assertThat(zeros.lengths()).containsExactly(2);
      }
    }
  }

  @Test
  void aTokenizerWithoutPairEncodingSaysSo() {
    try (LocalModelSession tiny = LocalModelSession.open(ModelRefs.TINY)) {
      assertThatThrownBy(() -> tiny.encodePair("a", "b"))
          .isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining("ByteTokenizer");
    }
  }
}
