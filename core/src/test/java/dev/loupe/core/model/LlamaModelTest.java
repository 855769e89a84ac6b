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
import java.util.Set;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Llama forward pass seen through its hooks: identities that must hold whatever the weights. */
class LlamaModelTest {
  private static final int[][] BATCH = {"Hello llama".chars().toArray(), "Hi".chars().toArray()};

  private NDManager manager;
  private LlamaModel model;

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    model = TestModels.randomAffineLlama(TestModels.smallLlamaConfig(), 1, manager);
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  private Map<String, float[]> capture(int[][] tokens, String... hooks) {
    ForwardResult r = model.forward(tokens, ForwardHooks.capturing(Set.of(hooks)), manager);
    Map<String, float[]> out = new LinkedHashMap<>();
    r.captured().forEach((k, v) -> out.put(k, v.toFloatArray()));
    out.put("logits", r.logits().toFloatArray());
    return out;
  }

  private static void assertSum(float[] actual, float[] a, float[] b) {
    assertThat(actual).hasSameSizeAs(a);
    for (int i = 0; i < actual.length; i++) {
      assertThat(actual[i]).isCloseTo(a[i] + b[i], within(1e-5f));
    }
  }

  @Test
  void theResidualStreamIsTheSumOfWhatTheBlocksWrite() {
    Map<String, float[]> c = capture(BATCH, "hook_embed", "blocks.0.hook_resid_pre", "blocks.0.hook_attn_out",
        "blocks.0.hook_resid_mid", "blocks.0.hook_mlp_out", "blocks.0.hook_resid_post", "blocks.1.hook_resid_pre");
    assertThat(c.get("blocks.0.hook_resid_pre")).containsExactly(c.get("hook_embed"));
    assertSum(c.get("blocks.0.hook_resid_mid"), c.get("blocks.0.hook_resid_pre"), c.get("blocks.0.hook_attn_out"));
    assertSum(c.get("blocks.0.hook_resid_post"), c.get("blocks.0.hook_resid_mid"), c.get("blocks.0.hook_mlp_out"));
    assertThat(c.get("blocks.1.hook_resid_pre")).containsExactly(c.get("blocks.0.hook_resid_post"));
  }

  @Test
  void attentionPatternsAreCausalDistributionsOverRealTokens() {
    float[] p = capture(BATCH, "blocks.1.attn.hook_pattern").get("blocks.1.attn.hook_pattern");
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
    float[] batch = capture(BATCH).get("logits");
    float[] alone = capture(new int[][] {BATCH[1]}).get("logits");
    int seq = BATCH[0].length;
    for (int i = 0; i < BATCH[1].length * 256; i++) {
      assertThat(batch[seq * 256 + i]).isCloseTo(alone[i], within(1e-5f));
    }
  }

  @Test
  void zeroingTheMlpOutputMakesResidPostEqualResidMid() {
    ForwardHooks hooks = new ForwardHooks().add("blocks.1.hook_mlp_out", (x, name) -> x.zerosLike())
        .capture("blocks.1.hook_resid_mid").capture("blocks.1.hook_resid_post");
    ForwardResult r = model.forward(BATCH, hooks, manager);
    assertThat(r.captured().get("blocks.1.hook_resid_post").toFloatArray())
        .containsExactly(r.captured().get("blocks.1.hook_resid_mid").toFloatArray());
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
  void hooksHaveTransformerLensShapesWithKeysAndValuesPerKvHead() {
    ForwardResult r = model.forward(BATCH, ForwardHooks.capturing(Set.copyOf(model.hookNames())), manager);
    int seq = BATCH[0].length;
    assertThat(model.hookNames()).doesNotContain("hook_pos_embed").startsWith("hook_embed")
        .endsWith("ln_final.hook_normalized").hasSize(1 + 2 * 15 + 1);
    assertThat(r.captured().get("blocks.0.attn.hook_q").getShape()).isEqualTo(new Shape(2, seq, 4, 8));
    assertThat(r.captured().get("blocks.0.attn.hook_k").getShape()).isEqualTo(new Shape(2, seq, 2, 8));
    assertThat(r.captured().get("blocks.0.attn.hook_v").getShape()).isEqualTo(new Shape(2, seq, 2, 8));
    assertThat(r.captured().get("blocks.0.attn.hook_z").getShape()).isEqualTo(new Shape(2, seq, 4, 8));
    assertThat(r.captured().get("blocks.0.attn.hook_attn_scores").getShape()).isEqualTo(new Shape(2, 4, seq, seq));
    assertThat(r.captured().get("blocks.0.mlp.hook_post").getShape()).isEqualTo(new Shape(2, seq, 48));
    for (String hook : model.hookNames()) {
      Shape s = r.captured().get(hook).getShape();
      int width = model.hookWidths().get(hook);
      assertThat(width == -1 ? s.get(3) : s.get(s.dimension() - 1)).as(hook).isEqualTo(width == -1 ? seq : width);
    }
    assertThatThrownBy(() -> model.forward(BATCH, ForwardHooks.capturing(Set.of("hook_pos_embed")), manager))
        .hasMessageContaining("unknown hook 'hook_pos_embed'").hasMessageContaining("rotary");
  }

  @Test
  void rmsNormHooksHoldTheUnweightedNormalisedResidual() {
    Map<String, float[]> c = capture(BATCH, "blocks.0.hook_resid_pre", "blocks.0.ln1.hook_normalized");
    float[] x = c.get("blocks.0.hook_resid_pre");
    float[] n = c.get("blocks.0.ln1.hook_normalized");
    for (int row = 0; row < x.length / 32; row++) {
      double ms = 0;
      for (int j = 0; j < 32; j++) {
        ms += x[row * 32 + j] * x[row * 32 + j];
      }
      double rms = Math.sqrt(ms / 32 + 1e-5);
      for (int j = 0; j < 32; j++) {
        assertThat((double) n[row * 32 + j]).isCloseTo(x[row * 32 + j] / rms, Offset.offset(1e-5));
      }
    }
  }

  @Test
  void ropeScalingChangesTheLogits() {
    LlamaModel scaled = LlamaModel.fromWeights(
        TestModels.smallLlamaConfig().withRopeScaling(LlamaConfig.RopeScaling.linear(4)),
        copyOf(model.weights()), manager);
    float[] plain = capture(BATCH).get("logits");
    float[] other = scaled.forward(BATCH, ForwardHooks.none(), manager).logits().toFloatArray();
    assertThat(other).isNotEqualTo(plain);
  }

  private Map<String, NDArray> copyOf(Map<String, NDArray> w) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    w.forEach((k, v) -> out.put(k, v.duplicate()));
    return out;
  }

  @Test
  void groupedQueryAttentionEqualsFullAttentionWithEachKvHeadCopiedToItsQueryHeads() {
    LlamaConfig full = LlamaConfig.llama(256, 32, 32, 48, 2, 4, 4);
    Map<String, NDArray> w = copyOf(model.weights());
    for (int l = 0; l < 2; l++) {
      for (String proj : new String[] {"k_proj", "v_proj"}) {
        String name = "model.layers." + l + ".self_attn." + proj + ".weight";
        NDArray grouped = w.get(name); // [2 kv heads * 8, 32]: query heads 0,1 read kv head 0; 2,3 read 1
        NDArray kv0 = grouped.get("0:8");
        NDArray kv1 = grouped.get("8:16");
        w.put(name, ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(kv0, kv0, kv1, kv1), 0));
      }
    }
    LlamaModel expanded = LlamaModel.fromWeights(full, w, manager);
    float[] grouped = capture(BATCH).get("logits");
    float[] ungrouped = expanded.forward(BATCH, ForwardHooks.none(), manager).logits().toFloatArray();
    for (int i = 0; i < grouped.length; i++) {
      assertThat(ungrouped[i]).isCloseTo(grouped[i], within(1e-5f));
    }
  }

  @Test
  void randomInitIsSeededPerWeightAndFollowsTransformersStatistics() {
    LlamaConfig c = LlamaConfig.llama(256, 32, 64, 176, 2, 4, 2);
    LlamaModel a = LlamaModel.random(c, 42, manager);
    LlamaModel b = LlamaModel.random(c, 42, manager);
    LlamaModel other = LlamaModel.random(c, 43, manager);
    String q = "model.layers.1.self_attn.q_proj.weight";
    assertThat(a.weight(q).toFloatArray()).containsExactly(b.weight(q).toFloatArray());
    assertThat(a.weight(q).toFloatArray()).isNotEqualTo(other.weight(q).toFloatArray());
    assertThat(Gpt2ModelTest.std(a.weight("model.layers.0.mlp.down_proj.weight").toFloatArray()))
        .isCloseTo(0.02, Offset.offset(0.001));
    assertThat(a.weight("model.layers.0.input_layernorm.weight").toFloatArray()).containsOnly(1f);
    assertThat(a.weights()).containsKey("lm_head.weight").hasSize(1 + 2 * 9 + 2);
    assertThat(a.parameterCount()).isEqualTo(a.weights().values().stream().mapToLong(x -> x.getShape().size()).sum());
  }

  @Test
  void fromWeightsNamesAMisShapedOrUnexpectedWeight() {
    LlamaConfig c = TestModels.smallLlamaConfig();
    Map<String, NDArray> w = new LinkedHashMap<>();
    LlamaModel.weightShapes(c).forEach((name, shape) -> w.put(name, manager.zeros(shape)));
    w.put("model.layers.1.self_attn.k_proj.weight", manager.zeros(new Shape(32, 32)));
    assertThatThrownBy(() -> LlamaModel.fromWeights(c, w, manager)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("model.layers.1.self_attn.k_proj.weight").hasMessageContaining("(16, 32)");
    w.put("model.layers.1.self_attn.k_proj.weight", manager.zeros(new Shape(16, 32)));
    w.put("model.layers.0.self_attn.q_proj.bias", manager.zeros(new Shape(32)));
    assertThatThrownBy(() -> LlamaModel.fromWeights(c, w, manager))
        .hasMessageContaining("unexpected weight model.layers.0.self_attn.q_proj.bias");
  }

  @Test
  void aSlidingWindowLimitsTheContextAndIsNamedWhenExceeded() {
    LlamaConfig mistral = LlamaConfig.fromJson("{\"model_type\": \"mistral\", \"vocab_size\": 256, \"hidden_size\": 32,"
        + " \"intermediate_size\": 48, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
        + " \"max_position_embeddings\": 32, \"sliding_window\": 6}");
    LlamaModel m = LlamaModel.random(mistral, 0, manager);
    assertThat(m.maxContext()).isEqualTo(6);
    assertThat(m.forward(new int[][] {new int[6]}, ForwardHooks.none(), manager).logits().getShape())
        .isEqualTo(new Shape(1, 6, 256));
    assertThatThrownBy(() -> m.forward(new int[][] {new int[7]}, ForwardHooks.none(), manager))
        .hasMessageContaining("tokens[0] has 7 tokens, more than the sliding window of 6");
  }
}
