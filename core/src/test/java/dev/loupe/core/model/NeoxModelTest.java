package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The GPT-NeoX forward pass seen through its hooks: identities that must hold whatever the weights. */
class NeoxModelTest {
  private static final int[][] BATCH = {"Hello pythia".chars().toArray(), "Hi".chars().toArray()};

  private NDManager manager;
  private NeoxModel model;

  /** A 2-layer Pythia shape: d_model 32, 4 heads (d_head 8, 2 rotary dims), MLP 64, context 32. */
  static NeoxConfig smallConfig() {
    return NeoxConfig.pythia(256, 32, 32, 64, 2, 4);
  }

  /** Every weight random: matrices and biases N(0, 0.15), LayerNorm weights 1 + N(0, 0.15). */
  static NeoxModel randomAffine(NeoxConfig config, long seed, NDManager parent) {
    Random r = new Random(seed);
    Map<String, NDArray> w = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : NeoxModel.weightShapes(config).entrySet()) {
      float[] v = new float[(int) e.getValue().size()];
      String name = e.getKey();
      boolean normWeight = (name.contains("layer_norm") || name.contains("layernorm")) && name.endsWith(".weight");
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) ((normWeight ? 1 : 0) + 0.15 * r.nextGaussian());
      }
      w.put(e.getKey(), parent.create(v, e.getValue()));
    }
    return NeoxModel.fromWeights(config, w, parent);
  }

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    model = randomAffine(smallConfig(), 1, manager);
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  private Map<String, float[]> capture(NeoxModel m, int[][] tokens, String... hooks) {
    ForwardResult r = m.forward(tokens, ForwardHooks.capturing(Set.of(hooks)), manager);
    Map<String, float[]> out = new LinkedHashMap<>();
    r.captured().forEach((k, v) -> out.put(k, v.toFloatArray()));
    out.put("logits", r.logits().toFloatArray());
    return out;
  }

  private static void assertSum(float[] actual, float[]... parts) {
    for (float[] p : parts) {
      assertThat(actual).hasSameSizeAs(p);
    }
    for (int i = 0; i < actual.length; i++) {
      double sum = 0;
      for (float[] p : parts) {
        sum += p[i];
      }
      assertThat((double) actual[i]).isCloseTo(sum, Offset.offset(1e-5));
    }
  }

  @Test
  void withAParallelResidualResidPostIsResidPrePlusAttentionPlusMlp() {
    Map<String, float[]> c = capture(model, BATCH, "hook_embed", "blocks.0.hook_resid_pre", "blocks.0.hook_attn_out",
        "blocks.0.hook_mlp_out", "blocks.0.hook_resid_post", "blocks.1.hook_resid_pre");
    assertThat(c.get("blocks.0.hook_resid_pre")).containsExactly(c.get("hook_embed"));
    assertSum(c.get("blocks.0.hook_resid_post"), c.get("blocks.0.hook_resid_pre"), c.get("blocks.0.hook_attn_out"),
        c.get("blocks.0.hook_mlp_out"));
    assertThat(c.get("blocks.1.hook_resid_pre")).containsExactly(c.get("blocks.0.hook_resid_post"));
  }

  @Test
  void withAParallelResidualBothLayerNormsReadResidPre() {
    Map<String, float[]> c = capture(model, BATCH, "blocks.1.ln1.hook_normalized", "blocks.1.ln2.hook_normalized");
    // Same input, different LayerNorm weights: zeroing the attention must not move ln2.
    ForwardHooks hooks = new ForwardHooks().add("blocks.1.hook_attn_out", (x, name) -> x.zerosLike())
        .capture("blocks.1.ln2.hook_normalized");
    float[] ln2 = model.forward(BATCH, hooks, manager).captured().get("blocks.1.ln2.hook_normalized").toFloatArray();
    assertThat(ln2).containsExactly(c.get("blocks.1.ln2.hook_normalized"));
    assertThat(c.get("blocks.1.ln1.hook_normalized")).isNotEqualTo(c.get("blocks.1.ln2.hook_normalized"));
  }

  @Test
  void parallelModelsHaveNoResidMidAndSayWhy() {
    assertThat(model.hookNames()).noneMatch(h -> h.endsWith("hook_resid_mid")).doesNotContain("hook_pos_embed")
        .startsWith("hook_embed").endsWith("ln_final.hook_normalized").hasSize(1 + 2 * 14 + 1);
    assertThatThrownBy(() -> model.forward(BATCH, ForwardHooks.capturing(Set.of("blocks.0.hook_resid_mid")), manager))
        .hasMessageContaining("unknown hook 'blocks.0.hook_resid_mid'").hasMessageContaining("use_parallel_residual");
  }

  @Test
  void aSequentialResidualHasResidMidBetweenAttentionAndMlp() {
    NeoxModel seq = randomAffine(smallConfig().with(0.25, false), 2, manager);
    assertThat(seq.hookNames()).contains("blocks.0.hook_resid_mid").hasSize(1 + 2 * 15 + 1);
    Map<String, float[]> c = capture(seq, BATCH, "blocks.0.hook_resid_pre", "blocks.0.hook_attn_out",
        "blocks.0.hook_resid_mid", "blocks.0.hook_mlp_out", "blocks.0.hook_resid_post");
    assertSum(c.get("blocks.0.hook_resid_mid"), c.get("blocks.0.hook_resid_pre"), c.get("blocks.0.hook_attn_out"));
    assertSum(c.get("blocks.0.hook_resid_post"), c.get("blocks.0.hook_resid_mid"), c.get("blocks.0.hook_mlp_out"));
  }

  @Test
  void attentionPatternsAreCausalDistributionsOverRealTokens() {
    float[] p = capture(model, BATCH, "blocks.1.attn.hook_pattern").get("blocks.1.attn.hook_pattern");
    int heads = 4;
    int seq = BATCH[0].length;
    for (int b = 0; b < BATCH.length; b++) {
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < seq; i++) {
          double sum = 0;
          for (int j = 0; j < seq; j++) {
            float w = p[((b * heads + h) * seq + i) * seq + j];
            if (j > i || j >= BATCH[b].length) {
              assertThat(w).as("b%d h%d q%d k%d", b, h, i, j).isZero();
            }
            sum += w;
          }
          assertThat(sum).isCloseTo(1.0, Offset.offset(1e-5));
        }
      }
    }
  }

  @Test
  void paddingDoesNotChangeTheLogitsOfTheShorterSequence() {
    float[] batch = capture(model, BATCH).get("logits");
    float[] alone = capture(model, new int[][] {BATCH[1]}).get("logits");
    int seq = BATCH[0].length;
    for (int i = 0; i < BATCH[1].length * 256; i++) {
      assertThat(batch[seq * 256 + i]).isCloseTo(alone[i], within(1e-5f));
    }
  }

  @Test
  void theLogitLensOfTheLastResidualIsTheLogits() {
    ForwardResult r = model.forward(BATCH, ForwardHooks.capturing(Set.of("blocks.1.hook_resid_post")), manager);
    float[] lens = model.unembed(r.captured().get("blocks.1.hook_resid_post")).toFloatArray();
    float[] logits = r.logits().toFloatArray();
    for (int i = 0; i < logits.length; i++) {
      assertThat(lens[i]).isCloseTo(logits[i], within(1e-5f));
    }
    assertThatThrownBy(() -> model.unembed(manager.zeros(new Shape(2, 31))))
        .hasMessageContaining("last axis is d_model = 32");
  }

  @Test
  void hooksHaveTransformerLensShapes() {
    ForwardResult r = model.forward(BATCH, ForwardHooks.capturing(Set.copyOf(model.hookNames())), manager);
    int seq = BATCH[0].length;
    for (String qkvz : new String[] {"q", "k", "v", "z"}) {
      assertThat(r.captured().get("blocks.0.attn.hook_" + qkvz).getShape()).isEqualTo(new Shape(2, seq, 4, 8));
    }
    assertThat(r.captured().get("blocks.0.attn.hook_attn_scores").getShape()).isEqualTo(new Shape(2, 4, seq, seq));
    assertThat(r.captured().get("blocks.0.mlp.hook_pre").getShape()).isEqualTo(new Shape(2, seq, 64));
    for (String hook : model.hookNames()) {
      Shape s = r.captured().get(hook).getShape();
      int width = model.hookWidths().get(hook);
      assertThat(width == -1 ? s.get(3) : s.get(s.dimension() - 1)).as(hook).isEqualTo(width == -1 ? seq : width);
    }
  }

  @Test
  void theQkvProjectionIsGroupedByHead() {
    // Row block h of query_key_value, viewed [heads, 3 * d_head], is head h's q, k, v in turn: a
    // projection that is zero except for head 2's k rows gives a hook_k that is zero except head 2.
    NeoxConfig c = smallConfig();
    Map<String, NDArray> w = new LinkedHashMap<>();
    model.weights().forEach((name, a) -> w.put(name, a.duplicate()));
    float[] qkv = new float[96 * 32];
    for (int row = 2 * 24 + 8; row < 2 * 24 + 16; row++) {
      qkv[row * 32 + row % 32] = 1f;
    }
    w.put("gpt_neox.layers.0.attention.query_key_value.weight", manager.create(qkv, new Shape(96, 32)));
    w.put("gpt_neox.layers.0.attention.query_key_value.bias", manager.zeros(new Shape(96)));
    NeoxModel probe = NeoxModel.fromWeights(c, w, manager);
    Map<String, float[]> got = capture(probe, BATCH, "blocks.0.attn.hook_k", "blocks.0.attn.hook_q");
    float[] k = got.get("blocks.0.attn.hook_k");
    boolean head2Nonzero = false;
    for (int i = 0; i < k.length; i++) {
      int head = i / 8 % 4;
      if (head != 2) {
        assertThat(k[i]).isZero();
      } else if (k[i] != 0) {
        head2Nonzero = true;
      }
    }
    assertThat(head2Nonzero).isTrue();
    assertThat(got.get("blocks.0.attn.hook_q")).containsOnly(0f);
  }

  @Test
  void rotaryPctDecidesHowMuchOfEachHeadIsRotated() {
    NeoxModel full = NeoxModel.fromWeights(smallConfig().with(1.0, true), copyOf(model.weights()), manager);
    assertThat(full.config().rotaryNdims()).isEqualTo(8);
    assertThat(model.config().rotaryNdims()).isEqualTo(2);
    float[] quarter = capture(model, BATCH).get("logits");
    float[] whole = capture(full, BATCH).get("logits");
    assertThat(whole).isNotEqualTo(quarter);
    // The first position sees angle 0 everywhere: nothing is rotated there, whatever rotary_pct says.
    for (int i = 0; i < 256; i++) {
      assertThat(whole[i]).isCloseTo(quarter[i], within(1e-5f));
    }
  }

  private Map<String, NDArray> copyOf(Map<String, NDArray> w) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    w.forEach((k, v) -> out.put(k, v.duplicate()));
    return out;
  }

  @Test
  void randomInitIsSeededPerWeightAndFollowsTransformersStatistics() {
    NeoxConfig c = NeoxConfig.pythia(256, 32, 64, 256, 2, 4);
    NeoxModel a = NeoxModel.random(c, 42, manager);
    NeoxModel b = NeoxModel.random(c, 42, manager);
    NeoxModel other = NeoxModel.random(c, 43, manager);
    String qkv = "gpt_neox.layers.1.attention.query_key_value.weight";
    assertThat(a.weight(qkv).toFloatArray()).containsExactly(b.weight(qkv).toFloatArray());
    assertThat(a.weight(qkv).toFloatArray()).isNotEqualTo(other.weight(qkv).toFloatArray());
    assertThat(Gpt2ModelTest.std(a.weight("gpt_neox.layers.0.mlp.dense_4h_to_h.weight").toFloatArray()))
        .isCloseTo(0.02, Offset.offset(0.001));
    assertThat(a.weight("gpt_neox.layers.0.input_layernorm.weight").toFloatArray()).containsOnly(1f);
    assertThat(a.weight("gpt_neox.final_layer_norm.bias").toFloatArray()).containsOnly(0f);
    assertThat(a.weights()).containsKey("embed_out.weight").hasSize(1 + 2 * 12 + 3);
    assertThat(a.parameterCount()).isEqualTo(a.weights().values().stream().mapToLong(x -> x.getShape().size()).sum());
  }

  @Test
  void withoutAttentionBiasOrWithTiedEmbeddingsTheWeightsAndCountFollow() {
    NeoxConfig c = smallConfig().with(true, false, 1.0);
    NeoxModel m = NeoxModel.random(c, 0, manager);
    assertThat(m.weights()).doesNotContainKeys("embed_out.weight", "gpt_neox.layers.0.attention.dense.bias",
        "gpt_neox.layers.0.attention.query_key_value.bias");
    assertThat(m.parameterCount()).isEqualTo(m.weights().values().stream().mapToLong(x -> x.getShape().size()).sum());
    float[] logits = capture(m, BATCH).get("logits");
    assertThat(logits).hasSize(2 * BATCH[0].length * 256);
  }

  @Test
  void fromWeightsNamesAMisShapedOrUnexpectedWeight() {
    NeoxConfig c = smallConfig().with(false, false, 1.0);
    Map<String, NDArray> w = new LinkedHashMap<>();
    NeoxModel.weightShapes(c).forEach((name, shape) -> w.put(name, manager.zeros(shape)));
    w.put("gpt_neox.layers.1.attention.query_key_value.weight", manager.zeros(new Shape(32, 96)));
    assertThatThrownBy(() -> NeoxModel.fromWeights(c, w, manager)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("gpt_neox.layers.1.attention.query_key_value.weight").hasMessageContaining("(96, 32)");
    w.put("gpt_neox.layers.1.attention.query_key_value.weight", manager.zeros(new Shape(96, 32)));
    w.put("gpt_neox.layers.0.attention.dense.bias", manager.zeros(new Shape(32)));
    assertThatThrownBy(() -> NeoxModel.fromWeights(c, w, manager))
        .hasMessageContaining("unexpected weight gpt_neox.layers.0.attention.dense.bias")
        .hasMessageContaining("attention_bias false");
  }

  @Test
  void aSequenceLongerThanTheContextIsNamed() {
    assertThatThrownBy(() -> model.forward(new int[][] {new int[33]}, ForwardHooks.none(), manager))
        .hasMessageContaining("tokens[0] has 33 tokens, more than the context of 32");
  }
}
