package dev.loupe.core.session;

import static dev.loupe.core.session.SessionTestSupport.assertAllClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.core.model.ReferenceGpt2;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocalTraceTest {
  private LocalModelSession session;
  private int[] prompt;

  @BeforeAll
  void open() {
    session = SessionTestSupport.affineSession();
    prompt = session.encode("Mind the gap!");
  }

  @AfterAll
  void close() {
    session.close();
  }

  @Test
  void zeroAblatingAnMlpOutputChangesLogitsExactlyAsRecomputingByHand() {
    double[][] expected = new ReferenceGpt2((dev.loupe.core.model.Gpt2Model) session.model()).logits(prompt, 1);
    float[] clean;
    try (RunResult r = session.run(new int[][] {prompt}, Set.of())) {
      clean = r.output().toFloatArray();
    }
    try (Trace t = session.trace(new int[][] {prompt})) {
      t.zero("blocks.1.hook_mlp_out");
      float[] ablated = t.run().output().toFloatArray();
      ReferenceGpt2.assertClose(ablated, expected, 1e-4);
      assertThat(ablated).isNotEqualTo(clean);
    }
  }

  @Test
  void zeroAblatedMlpLeavesTheResidualAsItWasMidBlock() {
    try (Trace t = session.trace(new int[][] {prompt})) {
      t.zero("blocks.1.hook_mlp_out");
      Supplier<NDArray> mid = t.save("blocks.1.hook_resid_mid");
      Supplier<NDArray> post = t.save("blocks.1.hook_resid_post");
      t.run();
      assertAllClose(post.get(), mid.get(), 0);
    }
  }

  @Test
  void steeringAddsExactlyScaleTimesDirection() {
    float[] direction = new float[32];
    for (int i = 0; i < direction.length; i++) {
      direction[i] = (float) Math.sin(i);
    }
    NDArray clean;
    try (Trace t = session.trace(new int[][] {prompt})) {
      Supplier<NDArray> resid = t.save("blocks.0.hook_resid_post");
      t.run();
      float[] base = resid.get().toFloatArray();
      try (Trace s = session.trace(new int[][] {prompt})) {
        s.steer("blocks.0.hook_resid_post", direction, 2.5f);
        Supplier<NDArray> steered = s.save("blocks.0.hook_resid_post");
        s.run();
        float[] got = steered.get().toFloatArray();
        for (int i = 0; i < got.length; i++) {
          assertThat(got[i]).isCloseTo(base[i] + 2.5f * direction[i % 32], org.assertj.core.data.Offset.offset(1e-5f));
        }
      }
    }
  }

  @Test
  void patchingTheWholeResidualFromAnotherRunReproducesThatRun() {
    int[] other = session.encode("Mind the cat!");
    assertThat(other).hasSameSizeAs(prompt);
    try (RunResult source = session.run(new int[][] {other}, Set.of("blocks.0.hook_resid_post"));
        Trace t = session.trace(new int[][] {prompt})) {
      t.patch("blocks.0.hook_resid_post", source.activation("blocks.0.hook_resid_post"));
      RunResult patched = t.run();
      assertAllClose(patched.output(), source.output(), 1e-5);
      // the source array still belongs to its run and stays usable
      assertThat(source.activation("blocks.0.hook_resid_post").getShape()).isEqualTo(new Shape(1, prompt.length, 32));
    }
  }

  @Test
  void hooksAreGoneOnceTheTraceCloses() {
    float[] before;
    try (RunResult r = session.run(new int[][] {prompt}, Set.of())) {
      before = r.output().toFloatArray();
    }
    try (Trace t = session.trace(new int[][] {prompt})) {
      t.zero("blocks.0.hook_attn_out").zero("blocks.1.hook_mlp_out");
      t.run();
    }
    try (RunResult r = session.run(new int[][] {prompt}, Set.of())) {
      assertThat(r.output().toFloatArray()).containsExactly(before);
    }
  }

  @Test
  void saveSeesInterventionsDeclaredBeforeItButNotAfter() {
    try (Trace t = session.trace(new int[][] {prompt})) {
      Supplier<NDArray> original = t.save("blocks.0.hook_mlp_out");
      t.zero("blocks.0.hook_mlp_out");
      Supplier<NDArray> zeroed = t.save("blocks.0.hook_mlp_out");
      t.run();
      assertThat(zeroed.get().toFloatArray()).containsOnly(0f);
      assertThat(original.get().abs().sum().getFloat()).isPositive();
    }
  }

  @Test
  void aTraceRunsOnceAndItsSavesNeedTheRun() {
    try (Trace t = session.trace(new int[][] {prompt})) {
      Supplier<NDArray> s = t.save("hook_embed");
      assertThatThrownBy(s::get).hasMessageContaining("available after run()");
      t.run();
      assertThatThrownBy(t::run).isInstanceOf(IllegalStateException.class).hasMessageContaining("runs once");
    }
  }

  @Test
  void aHookReturningTheWrongShapeIsNamed() {
    try (Trace t = session.trace(new int[][] {prompt})) {
      t.hook("blocks.1.hook_resid_pre", (a, h) -> a.get(":, :2"));
      assertThatThrownBy(t::run).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'blocks.1.hook_resid_pre' returned shape");
    }
  }

  @Test
  void anUnknownHookIsRejectedWhenDeclared() {
    try (Trace t = session.trace(new int[][] {prompt})) {
      assertThatThrownBy(() -> t.zero("blocks.7.hook_mlp_out"))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blocks.7.hook_mlp_out")
          .hasMessageContaining("loupe model info");
    }
  }

  @Test
  void meanAblationReplacesEveryPositionByTheMean() {
    float[] mean = new float[32];
    mean[3] = 1.5f;
    try (Trace t = session.trace(new int[][] {prompt})) {
      t.meanAblate("blocks.0.hook_attn_out", mean);
      Supplier<NDArray> out = t.save("blocks.0.hook_attn_out");
      t.run();
      float[] v = out.get().toFloatArray();
      for (int i = 0; i < v.length; i++) {
        assertThat(v[i]).isEqualTo(i % 32 == 3 ? 1.5f : 0f);
      }
    }
  }
}
