package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class Gpt2ModelTest {
  private NDManager manager;

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  @Test
  void forwardGivesLogitsForEveryPositionOfThePaddedBatch() {
    Gpt2Model model = Gpt2Model.random(TestModels.smallConfig(), 1, manager);
    ForwardResult r = model.forward(new int[][] {{1, 2, 3}, {4, 5, 6, 7, 8}}, ForwardHooks.none(), manager);
    assertThat(r.logits().getShape()).isEqualTo(new Shape(2, 5, 256));
    assertThat(r.lengths()).containsExactly(3, 5);
    assertThat(r.captured()).isEmpty();
  }

  @Test
  void logitsMatchAPlainLoopImplementationOfGpt2() {
    Gpt2Model model = TestModels.randomAffine(TestModels.smallConfig(), 7, manager);
    int[] tokens = {72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100};
    ForwardResult r = model.forward(new int[][] {tokens}, ForwardHooks.none(), manager);
    double[][] expected = new ReferenceGpt2(model).logits(tokens, -1);
    ReferenceGpt2.assertClose(r.logits().toFloatArray(), expected, 1e-4);
  }

  @Test
  void sameSeedGivesIdenticalWeightsAndLogits() {
    Gpt2Model a = Gpt2Model.random(TestModels.smallConfig(), 42, manager);
    Gpt2Model b = Gpt2Model.random(TestModels.smallConfig(), 42, manager);
    Gpt2Model other = Gpt2Model.random(TestModels.smallConfig(), 43, manager);
    int[][] tokens = {{10, 20, 30, 40}};
    float[] la = a.forward(tokens, ForwardHooks.none(), manager).logits().toFloatArray();
    float[] lb = b.forward(tokens, ForwardHooks.none(), manager).logits().toFloatArray();
    float[] lo = other.forward(tokens, ForwardHooks.none(), manager).logits().toFloatArray();
    assertThat(lb).containsExactly(la);
    assertThat(lo).isNotEqualTo(la);
  }

  @Test
  void randomInitFollowsGpt2Statistics() {
    Gpt2Config c = Gpt2Config.of(256, 64, 64, 8, 2);
    Gpt2Model m = Gpt2Model.random(c, 0, manager);
    assertThat(std(m.weight("h.0.attn.c_attn.weight").toFloatArray())).isCloseTo(0.02, org.assertj.core.data.Offset.offset(0.001));
    assertThat(std(m.weight("h.3.mlp.c_proj.weight").toFloatArray()))
        .isCloseTo(0.02 / Math.sqrt(16), org.assertj.core.data.Offset.offset(0.0005));
    assertThat(m.weight("h.0.ln_1.weight").toFloatArray()).containsOnly(1f);
    assertThat(m.weight("h.0.mlp.c_fc.bias").toFloatArray()).containsOnly(0f);
  }

  @Test
  void weightsUseHuggingFaceNamesAndConv1dLayout() {
    Gpt2Model model = Gpt2Model.random(TestModels.smallConfig(), 1, manager);
    assertThat(model.weights()).containsKeys("wte.weight", "wpe.weight", "h.1.attn.c_attn.weight", "ln_f.bias");
    assertThat(model.weight("h.0.attn.c_attn.weight").getShape()).isEqualTo(new Shape(32, 96));
    assertThat(model.weight("h.0.mlp.c_proj.weight").getShape()).isEqualTo(new Shape(128, 32));
    assertThat(model.weights()).hasSize(2 + 12 * 2 + 2);
  }

  @Test
  void fromWeightsNamesAMisShapedWeight() {
    Gpt2Config c = TestModels.smallConfig();
    Map<String, NDArray> w = new LinkedHashMap<>();
    Gpt2Model.weightShapes(c).forEach((name, shape) -> w.put(name, manager.zeros(shape)));
    w.put("h.1.mlp.c_fc.weight", manager.zeros(new Shape(128, 32)));
    assertThatThrownBy(() -> Gpt2Model.fromWeights(c, w, manager))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("h.1.mlp.c_fc.weight").hasMessageContaining("(32, 128)");
    w.remove("h.1.mlp.c_fc.weight");
    assertThatThrownBy(() -> Gpt2Model.fromWeights(c, w, manager)).hasMessageContaining("h.1.mlp.c_fc.weight is missing");
  }

  @Test
  void everyHookIsReachableWithItsDocumentedShape() {
    Gpt2Config c = TestModels.smallConfig();
    Gpt2Model model = Gpt2Model.random(c, 1, manager);
    ForwardResult r = model.forward(new int[][] {{1, 2, 3}, {4, 5}}, ForwardHooks.capturing(Set.copyOf(model.hookNames())),
        manager);
    assertThat(r.captured().keySet()).containsExactlyInAnyOrderElementsOf(model.hookNames());
    for (String hook : model.hookNames()) {
      Shape s = r.captured().get(hook).getShape();
      int width = model.hookWidths().get(hook);
      if (width == -1) {
        assertThat(s).as(hook).isEqualTo(new Shape(2, 4, 3, 3));
      } else if (hook.contains("attn.hook_")) {
        assertThat(s).as(hook).isEqualTo(new Shape(2, 3, 4, width));
      } else {
        assertThat(s).as(hook).isEqualTo(new Shape(2, 3, width));
      }
    }
  }

  @Test
  void embeddingHooksHoldTheRowsOfTheEmbeddingTables() {
    Gpt2Model model = Gpt2Model.random(TestModels.smallConfig(), 3, manager);
    ForwardResult r = model.forward(new int[][] {{7, 9}, {9}}, ForwardHooks.capturing(Set.of("hook_embed", "hook_pos_embed")),
        manager);
    float[] wte = model.weight("wte.weight").toFloatArray();
    float[] wpe = model.weight("wpe.weight").toFloatArray();
    float[] embed = r.captured().get("hook_embed").toFloatArray();
    float[] pos = r.captured().get("hook_pos_embed").toFloatArray();
    assertThat(pos).hasSize(2 * 2 * 32);
    for (int j = 0; j < 32; j++) {
      assertThat(embed[32 + j]).isEqualTo(wte[9 * 32 + j]);
      assertThat(embed[2 * 32 + j]).isEqualTo(wte[9 * 32 + j]);
      assertThat(pos[32 + j]).isEqualTo(wpe[32 + j]);
      assertThat(pos[3 * 32 + j]).as("every sequence gets the same positions").isEqualTo(wpe[32 + j]);
    }
  }

  @Test
  void badTokensAreRejectedNamingTheSequenceAndIndex() {
    Gpt2Model model = Gpt2Model.random(TestModels.smallConfig(), 1, manager);
    assertThatThrownBy(() -> model.forward(new int[][] {{1}, {}}, ForwardHooks.none(), manager))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokens[1] is empty");
    assertThatThrownBy(() -> model.forward(new int[][] {new int[17]}, ForwardHooks.none(), manager))
        .hasMessageContaining("tokens[0] has 17 tokens, more than the context of 16");
    assertThatThrownBy(() -> model.forward(new int[][] {{1, 2, 256}}, ForwardHooks.none(), manager))
        .hasMessageContaining("tokens[0][2] = 256 is outside the vocabulary [0, 256)");
    assertThatThrownBy(() -> model.forward(new int[0][], ForwardHooks.none(), manager))
        .hasMessageContaining("batch is empty");
  }

  static double std(float[] v) {
    double m = 0;
    for (float x : v) {
      m += x;
    }
    m /= v.length;
    double s = 0;
    for (float x : v) {
      s += (x - m) * (x - m);
    }
    return Math.sqrt(s / v.length);
  }

}
