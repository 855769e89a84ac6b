package dev.loupe.core.session;

import static dev.loupe.core.session.SessionTestSupport.assertAllClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.RunResult;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocalModelSessionTest {
  private LocalModelSession session;
  private int[][] tokens;

  @BeforeAll
  void open() {
    session = LocalModelSession.open("tiny");
    tokens = new int[][] {session.encode("The cat sat on the mat."), session.encode("Hello")};
  }

  @AfterAll
  void close() {
    session.close();
  }

  @Test
  void infoDescribesTinyWithEveryHookAndWidth() {
    ModelInfo info = session.info();
    assertThat(info.id()).isEqualTo("tiny");
    assertThat(info.architecture()).isEqualTo("gpt2");
    assertThat(info.nLayers()).isEqualTo(4);
    assertThat(info.dModel()).isEqualTo(128);
    assertThat(info.nHeads()).isEqualTo(4);
    assertThat(info.dHead()).isEqualTo(32);
    assertThat(info.dMlp()).isEqualTo(512);
    assertThat(info.maxContext()).isEqualTo(256);
    assertThat(info.vocabSize()).isEqualTo(256);
    assertThat(info.hookNames()).hasSize(2 + 4 * HookPoint.BLOCK_SITES.size() + 1).startsWith("hook_embed");
    assertThat(info.hookWidth("blocks.3.hook_resid_post")).isEqualTo(128);
    assertThat(info.hookWidth("blocks.0.attn.hook_q")).isEqualTo(32);
    assertThat(info.hookWidth("blocks.2.mlp.hook_post")).isEqualTo(512);
    assertThat(info.hookWidth("blocks.1.attn.hook_pattern")).isEqualTo(-1);
  }

  @Test
  void residualStreamIsTheSumOfItsParts() {
    Set<String> hooks = Set.of("hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre", "blocks.1.hook_resid_pre",
        "blocks.1.hook_attn_out", "blocks.1.hook_resid_mid", "blocks.1.hook_mlp_out", "blocks.1.hook_resid_post",
        "blocks.2.hook_resid_pre");
    try (RunResult r = session.run(tokens, hooks)) {
      assertAllClose(r.activation("blocks.0.hook_resid_pre"),
          r.activation("hook_embed").add(r.activation("hook_pos_embed")), 1e-6);
      assertAllClose(r.activation("blocks.1.hook_resid_mid"),
          r.activation("blocks.1.hook_resid_pre").add(r.activation("blocks.1.hook_attn_out")), 1e-5);
      assertAllClose(r.activation("blocks.1.hook_resid_post"),
          r.activation("blocks.1.hook_resid_mid").add(r.activation("blocks.1.hook_mlp_out")), 1e-5);
      assertAllClose(r.activation("blocks.2.hook_resid_pre"), r.activation("blocks.1.hook_resid_post"), 0);
    }
  }

  @Test
  void patternRowsAreCausalProbabilities() {
    try (RunResult r = session.run(new int[][] {tokens[0]}, Set.of("blocks.2.attn.hook_pattern",
        "blocks.2.attn.hook_attn_scores"))) {
      NDArray pattern = r.activation("blocks.2.attn.hook_pattern");
      int n = tokens[0].length;
      float[] p = pattern.toFloatArray();
      float[] s = r.activation("blocks.2.attn.hook_attn_scores").toFloatArray();
      for (int h = 0; h < 4; h++) {
        for (int q = 0; q < n; q++) {
          double sum = 0;
          for (int k = 0; k < n; k++) {
            int i = (h * n + q) * n + k;
            sum += p[i];
            if (k > q) {
              assertThat(p[i]).as("attention to a later key").isZero();
              assertThat(s[i]).isEqualTo(Float.NEGATIVE_INFINITY);
            } else {
              assertThat(s[i]).isFinite();
            }
          }
          assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
      }
    }
  }

  @Test
  void zIsThePatternWeightedSumOfValues() {
    try (RunResult r = session.run(tokens, Set.of("blocks.1.attn.hook_pattern", "blocks.1.attn.hook_v",
        "blocks.1.attn.hook_z"))) {
      NDArray pattern = r.activation("blocks.1.attn.hook_pattern"); // [b, h, q, k]
      NDArray v = r.activation("blocks.1.attn.hook_v"); // [b, k, h, d]
      NDArray expected = pattern.matMul(v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3);
      assertAllClose(r.activation("blocks.1.attn.hook_z"), expected, 1e-5);
    }
  }

  @Test
  void unembeddingTheLastResidualGivesTheLogits() {
    try (RunResult r = session.run(tokens, Set.of("blocks.3.hook_resid_post"))) {
      NDArray lens = session.unembed(r.activation("blocks.3.hook_resid_post"));
      assertAllClose(lens, r.output(), 1e-4);
    }
  }

  @Test
  void paddingDoesNotChangeAShortSequence() {
    int[] shortSeq = tokens[1];
    try (RunResult alone = session.run(new int[][] {shortSeq}, Set.of("blocks.3.hook_resid_post"));
        RunResult padded = session.run(new int[][] {tokens[0], shortSeq}, Set.of("blocks.3.hook_resid_post"))) {
      String rows = "1, :" + shortSeq.length;
      assertAllClose(padded.output().get(rows), alone.output().get(0), 1e-5);
      assertAllClose(padded.activation("blocks.3.hook_resid_post").get(rows),
          alone.activation("blocks.3.hook_resid_post").get(0), 1e-5);
      assertThat(padded.lengths()).containsExactly(tokens[0].length, shortSeq.length);
    }
  }

  @Test
  void anUnknownHookIsNamedWithAPointerToModelInfo() {
    assertThatThrownBy(() -> session.run(tokens, Set.of("blocks.9.hook_resid_post")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("blocks.9.hook_resid_post").hasMessageContaining("loupe model info tiny");
  }

  @Test
  void badSequencesAreNamedByIndex() {
    assertThatThrownBy(() -> session.run(new int[][] {{1}, {}}, Set.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokens[1] is empty");
    assertThatThrownBy(() -> session.run(new int[][] {new int[257]}, Set.of()))
        .hasMessageContaining("tokens[0] has 257 tokens, more than the context of 256");
    assertThatThrownBy(() -> session.run(new int[][] {{5, -1}}, Set.of()))
        .hasMessageContaining("tokens[0][1] = -1 is outside the vocabulary");
  }

  @Test
  void anActivationThatWasNotCapturedIsNamed() {
    try (RunResult r = session.run(tokens, Set.of("hook_embed"))) {
      assertThat(r.capturedHooks()).containsExactly("hook_embed");
      assertThatThrownBy(() -> r.activation("blocks.0.hook_resid_pre"))
          .hasMessageContaining("'blocks.0.hook_resid_pre' was not captured");
    }
  }

  @Test
  void tokensRoundTripThroughTheTokenizer() {
    int[] ids = session.encode("héllo\n");
    assertThat(ids).hasSize(7);
    assertThat(session.decode(ids)).isEqualTo("héllo\n");
    assertThat(session.tokenText(ids[0])).isEqualTo("h");
    assertThat(session.tokenText('\n')).isEqualTo("\\x0a");
  }

  @Test
  void concurrentRunsGiveTheSameLogitsAsSequentialOnes() throws Exception {
    float[] expected;
    try (RunResult r = session.run(tokens, Set.of())) {
      expected = r.output().toFloatArray();
    }
    CompletableFuture<float[]>[] runs = new CompletableFuture[4];
    for (int i = 0; i < runs.length; i++) {
      runs[i] = CompletableFuture.supplyAsync(() -> {
        try (RunResult r = session.run(tokens, Set.of("blocks.0.hook_resid_post"))) {
          return r.output().toFloatArray();
        }
      });
    }
    for (CompletableFuture<float[]> f : runs) {
      assertThat(f.get()).containsExactly(expected);
    }
  }

  @Test
  void aClosedSessionRefusesWork() {
    LocalModelSession s = LocalModelSession.open("random-gpt2:1x32");
    s.close();
    assertThatThrownBy(() -> s.run(new int[][] {{1}}, Set.of()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("'random-gpt2:1x32' is closed");
  }

  @Test
  void anUnknownModelReferenceListsWhatResolves() {
    assertThatThrownBy(() -> LocalModelSession.open("gpt-5"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown model reference 'gpt-5'").hasMessageContaining("tiny")
        .hasMessageContaining("random-gpt2:<layers>x<d_model>");
  }

  @Test
  void aRandomReferenceBuildsThatShape() {
    try (LocalModelSession s = LocalModelSession.open("random-gpt2:2x64x2@5")) {
      assertThat(s.info().nLayers()).isEqualTo(2);
      assertThat(s.info().dModel()).isEqualTo(64);
      assertThat(s.info().nHeads()).isEqualTo(2);
    }
    assertThatThrownBy(() -> LocalModelSession.open("random-gpt2:2x65x2"))
        .hasMessageContaining("random-gpt2:2x65x2").hasMessageContaining("n_embd (65) must be divisible by n_head (2)");
  }
}
