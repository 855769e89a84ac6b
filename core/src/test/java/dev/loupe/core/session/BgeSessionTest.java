package dev.loupe.core.session;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.RunResult;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BgeSessionTest {

  @Test
  void aBgeSessionIsANonCausalEncoderWhoseOutputIsTheLastHiddenState() {
    try (LocalModelSession s = LocalModelSession.open("bge-small-en-v1.5")) {
      ModelInfo info = s.info();
      int[] ids = s.tokenizer().encode("An encoder behind the SDK.");

      assertThat(info.architecture()).isEqualTo("bert");
      assertThat(info.causal()).isFalse();
      assertThat(info.hookWidth("blocks.2.mlp.hook_post")).isEqualTo(1536);
      try (RunResult r = s.run(new int[][] {ids}, Set.of("blocks.11.ln2.hook_normalized"))) {
        assertThat(r.output().getShape()).isEqualTo(new Shape(1, ids.length, 384));
        assertThat(r.activation("blocks.11.ln2.hook_normalized").sub(r.output()).abs().max().getFloat()).isZero();
      }
    }
  }
}
