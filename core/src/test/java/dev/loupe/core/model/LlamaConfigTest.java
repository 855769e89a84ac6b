package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LlamaConfigTest {
  /** Llama 3.2 1B's config.json, abridged to the fields that matter. */
  private static final String LLAMA_3_2_1B = "{\"model_type\": \"llama\", \"vocab_size\": 128256, \"hidden_size\": 2048,"
      + " \"intermediate_size\": 8192, \"num_hidden_layers\": 16, \"num_attention_heads\": 32,"
      + " \"num_key_value_heads\": 8, \"head_dim\": 64, \"max_position_embeddings\": 131072, \"rms_norm_eps\": 1e-05,"
      + " \"rope_theta\": 500000.0, \"rope_scaling\": {\"factor\": 32.0, \"high_freq_factor\": 4.0,"
      + " \"low_freq_factor\": 1.0, \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},"
      + " \"tie_word_embeddings\": true, \"attention_bias\": false, \"mlp_bias\": false, \"hidden_act\": \"silu\","
      + " \"pretraining_tp\": 1, \"torch_dtype\": \"bfloat16\"}";

  private static String small(String extra) {
    return "{\"vocab_size\": 256, \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2,"
        + " \"num_attention_heads\": 4, \"max_position_embeddings\": 64" + extra + "}";
  }

  @Test
  void readsALlama3ConfigAndCountsItsParameters() {
    LlamaConfig c = LlamaConfig.fromJson(LLAMA_3_2_1B);
    assertThat(c.numKeyValueHeads()).isEqualTo(8);
    assertThat(c.headDim()).isEqualTo(64);
    assertThat(c.ropeScaling()).isEqualTo(LlamaConfig.RopeScaling.llama3(32, 1, 4, 8192));
    assertThat(c.tieWordEmbeddings()).isTrue();
    assertThat(c.parameterCount()).as("Llama 3.2 1B's published count").isEqualTo(1_235_814_400L);
  }

  @Test
  void llama3ScalingKeepsHighFrequenciesAndDividesLowOnes() {
    double[] inv = LlamaConfig.fromJson(LLAMA_3_2_1B).ropeInverseFrequencies();
    assertThat(inv[0]).as("wavelength 2 pi, shorter than 8192/4").isEqualTo(1.0);
    double plainLast = 1.0 / Math.pow(500000.0, 62.0 / 64);
    assertThat(inv[31]).as("longest wavelength, beyond 8192").isEqualTo(plainLast / 32);
  }

  @Test
  void numKeyValueHeadsDefaultsToTheHeadsAndHeadDimToHiddenOverHeads() {
    LlamaConfig c = LlamaConfig.fromJson(small(", \"model_type\": \"llama\""));
    assertThat(c.numKeyValueHeads()).isEqualTo(4);
    assertThat(c.headDim()).isEqualTo(8);
    assertThat(c.ropeScaling()).isNull();
    assertThat(c.rmsNormEps()).isEqualTo(1e-6);
  }

  @Test
  void qwen2HasQkvBiasesAndIgnoresItsWindowUnlessEnabled() {
    LlamaConfig c = LlamaConfig.fromJson(small(", \"model_type\": \"qwen2\", \"sliding_window\": 16,"
        + " \"use_sliding_window\": false"));
    assertThat(c.qkvBias()).isTrue();
    assertThat(c.outputBias()).isFalse();
    assertThat(c.maxContext()).isEqualTo(64);
    assertThat(LlamaConfig.fromJson(small(", \"model_type\": \"qwen2\", \"sliding_window\": 16,"
        + " \"use_sliding_window\": true")).maxContext()).isEqualTo(16);
  }

  @Test
  void everyVariantRoundTripsThroughJson() {
    LlamaConfig base = TestModels.smallLlamaConfig();
    for (LlamaConfig c : new LlamaConfig[] {base, base.withRopeScaling(LlamaConfig.RopeScaling.linear(2)),
        base.withRopeScaling(LlamaConfig.RopeScaling.llama3(8, 1, 4, 16)), base.withTiedEmbeddings(true),
        base.asModelType("qwen2"), base.asModelType("mistral"),
        LlamaConfig.fromJson(small(", \"model_type\": \"mistral\", \"sliding_window\": 16"))}) {
      assertThat(LlamaConfig.fromJson(c.toJson())).isEqualTo(c);
    }
  }

  @Test
  void badFieldsAreNamed() {
    assertThatThrownBy(() -> LlamaConfig.fromJson(small(", \"model_type\": \"llama\", \"num_key_value_heads\": 3")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("config field num_attention_heads (4) must be a multiple of num_key_value_heads (3)");
    assertThatThrownBy(() -> LlamaConfig.fromJson(small(", \"model_type\": \"llama\", \"rope_scaling\":"
        + " {\"rope_type\": \"yarn\", \"factor\": 4}"))).hasMessageContaining("rope_scaling.rope_type is 'yarn'");
    assertThatThrownBy(() -> LlamaConfig.fromJson(small(", \"model_type\": \"llama\", \"rope_scaling\":"
        + " {\"rope_type\": \"llama3\", \"factor\": 8, \"high_freq_factor\": 4, \"original_max_position_embeddings\": 16}")))
        .hasMessage("config.json is missing field rope_scaling.low_freq_factor");
    assertThatThrownBy(() -> LlamaConfig.fromJson(small(", \"model_type\": \"llama\", \"hidden_act\": \"gelu\"")))
        .hasMessageContaining("hidden_act is 'gelu'");
    assertThatThrownBy(() -> LlamaConfig.fromJson(small(", \"model_type\": \"qwen2\", \"attention_bias\": false")))
        .hasMessageContaining("attention_bias is false, but qwen2");
    assertThatThrownBy(() -> LlamaConfig.fromJson(small(", \"model_type\": \"llama\", \"mlp_bias\": true")))
        .hasMessageContaining("mlp_bias");
    assertThatThrownBy(() -> LlamaConfig.fromJson(small(", \"model_type\": \"llama\", \"rms_norm_eps\": \"tiny\"")))
        .hasMessage("config field rms_norm_eps must be a number, got \"tiny\"");
    assertThatThrownBy(() -> LlamaConfig.fromJson("{\"model_type\": \"llama\", \"hidden_size\": 32}"))
        .hasMessage("config.json is missing field num_attention_heads");
    assertThatThrownBy(() -> LlamaConfig.fromJson(small(", \"model_type\": \"gpt_neox\"")))
        .hasMessageContaining("model_type is 'gpt_neox'");
  }
}
