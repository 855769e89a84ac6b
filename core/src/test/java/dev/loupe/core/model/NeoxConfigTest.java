package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NeoxConfigTest {
  /** EleutherAI/pythia-70m's config.json as published (written out by hand). */
  private static final String PYTHIA_70M = "{\"architectures\": [\"GPTNeoXForCausalLM\"], \"bos_token_id\": 0,"
      + " \"eos_token_id\": 0, \"hidden_act\": \"gelu\", \"hidden_size\": 512, \"initializer_range\": 0.02,"
      + " \"intermediate_size\": 2048, \"layer_norm_eps\": 1e-05, \"max_position_embeddings\": 2048,"
      + " \"model_type\": \"gpt_neox\", \"num_attention_heads\": 8, \"num_hidden_layers\": 6,"
      + " \"rotary_emb_base\": 10000, \"rotary_pct\": 0.25, \"tie_word_embeddings\": false,"
      + " \"torch_dtype\": \"float16\", \"transformers_version\": \"4.24.0\", \"use_cache\": true,"
      + " \"use_parallel_residual\": true, \"vocab_size\": 50304}";

  private static String small(String extra) {
    return "{\"model_type\": \"gpt_neox\", \"vocab_size\": 256, \"hidden_size\": 32, \"intermediate_size\": 64,"
        + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4" + extra + "}";
  }

  @Test
  void readsPythia70mAndCountsItsParameters() {
    NeoxConfig c = NeoxConfig.fromJson(PYTHIA_70M);
    assertThat(c.headDim()).isEqualTo(64);
    assertThat(c.rotaryNdims()).isEqualTo(16);
    assertThat(c.useParallelResidual()).isTrue();
    assertThat(c.attentionBias()).isTrue();
    assertThat(c.parameterCount()).as("pythia-70m's published count").isEqualTo(70_426_624L);
  }

  @Test
  void defaultsFollowTransformers() {
    NeoxConfig c = NeoxConfig.fromJson(small(""));
    assertThat(c.rotaryPct()).isEqualTo(0.25);
    assertThat(c.rotaryEmbBase()).isEqualTo(10000.0);
    assertThat(c.maxPositionEmbeddings()).isEqualTo(2048);
    assertThat(c.layerNormEps()).isEqualTo(1e-5);
    assertThat(c.useParallelResidual()).isTrue();
    assertThat(c.tieWordEmbeddings()).isFalse();
    assertThat(c.attentionBias()).isTrue();
    assertThat(c.ropeScalingFactor()).isEqualTo(1.0);
    assertThat(c.hiddenAct()).isEqualTo("gelu");
  }

  @Test
  void newerFieldNamesAreReadWhenTheOldOnesAreAbsent() {
    NeoxConfig c = NeoxConfig.fromJson(small(", \"partial_rotary_factor\": 0.5, \"rope_theta\": 500.0"));
    assertThat(c.rotaryPct()).isEqualTo(0.5);
    assertThat(c.rotaryEmbBase()).isEqualTo(500.0);
  }

  @Test
  void rotaryFrequenciesSpanTheRotatedDimsAndLinearScalingDividesThem() {
    NeoxConfig c = NeoxConfig.fromJson(small(", \"rotary_pct\": 0.5, \"rope_scaling\": {\"type\": \"linear\","
        + " \"factor\": 4.0}"));
    assertThat(c.rotaryNdims()).isEqualTo(4);
    assertThat(c.ropeInverseFrequencies()).containsExactly(1.0 / 4, 1.0 / Math.pow(10000, 0.5) / 4);
  }

  @Test
  void everyVariantRoundTripsThroughJson() {
    NeoxConfig base = NeoxModelTest.smallConfig();
    for (NeoxConfig c : new NeoxConfig[] {base, base.with(1.0, false), base.with(true, false, 2.0),
        NeoxConfig.fromJson(PYTHIA_70M)}) {
      assertThat(NeoxConfig.fromJson(c.toJson())).isEqualTo(c);
    }
  }

  @Test
  void badFieldsAreNamed() {
    assertThatThrownBy(() -> NeoxConfig.fromJson(small(", \"hidden_act\": \"gelu_new\"")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("config field hidden_act is 'gelu_new'; only 'gelu' (exact erf GELU) is supported");
    assertThatThrownBy(() -> NeoxConfig.fromJson(small(", \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2}")))
        .hasMessageContaining("rope_scaling.rope_type is 'dynamic'");
    assertThatThrownBy(() -> NeoxConfig.fromJson(small(", \"rope_scaling\": {\"type\": \"linear\"}")))
        .hasMessageContaining("rope_scaling.factor must be a number");
    assertThatThrownBy(() -> NeoxConfig.fromJson(small(", \"rotary_pct\": 0.1")))
        .hasMessage("config field rotary_pct (0.1) gives 0 rotary dims of head size 8; expected an even number >= 2");
    assertThatThrownBy(() -> NeoxConfig.fromJson(small(", \"rotary_pct\": 1.5")))
        .hasMessage("config field rotary_pct must be in (0, 1], got 1.5");
    assertThatThrownBy(() -> NeoxConfig.fromJson(small(", \"use_parallel_residual\": \"yes\"")))
        .hasMessage("config field use_parallel_residual must be true or false, got \"yes\"");
    assertThatThrownBy(() -> NeoxConfig.fromJson(small(", \"num_attention_heads\": 5")))
        .hasMessage("config field hidden_size (32) must be divisible by num_attention_heads (5)");
    assertThatThrownBy(() -> NeoxConfig.fromJson("{\"model_type\": \"gpt_neox\", \"hidden_size\": 32}"))
        .hasMessage("config.json is missing field vocab_size");
    assertThatThrownBy(() -> NeoxConfig.fromJson(small(", \"layer_norm_eps\": 0")))
        .hasMessageContaining("layer_norm_eps must be a positive number");
    assertThatThrownBy(() -> NeoxConfig.fromJson("{\"model_type\": \"llama\"}"))
        .hasMessageContaining("model_type is 'llama', expected 'gpt_neox'");
  }
}
