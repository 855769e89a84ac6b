package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class Gpt2ConfigTest {

  @Test
  void readsAHuggingFaceGpt2Config() {
    String json = "{\"model_type\": \"gpt2\", \"vocab_size\": 50257, \"n_positions\": 1024, \"n_embd\": 768,"
        + " \"n_layer\": 12, \"n_head\": 12, \"n_inner\": null, \"layer_norm_epsilon\": 1e-05,"
        + " \"activation_function\": \"gelu_new\", \"resid_pdrop\": 0.1}";
    Gpt2Config c = Gpt2Config.fromJson(json);
    assertThat(c).isEqualTo(Gpt2Config.of(50257, 1024, 768, 12, 12));
    assertThat(c.nInner()).isEqualTo(3072);
    assertThat(c.dHead()).isEqualTo(64);
    assertThat(c.parameterCount()).isEqualTo(124_439_808L);
  }

  @Test
  void roundTripsThroughJson() {
    Gpt2Config c = new Gpt2Config(256, 128, 64, 3, 4, 200, 1e-6, "gelu_new");
    assertThat(Gpt2Config.fromJson(c.toJson())).isEqualTo(c);
  }

  @Test
  void aMissingFieldIsNamed() {
    assertThatThrownBy(() -> Gpt2Config.fromJson("{\"vocab_size\": 256, \"n_positions\": 8, \"n_embd\": 8, \"n_head\": 2}"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("config.json is missing field n_layer");
  }

  @Test
  void badValuesAreNamedWithWhatWasExpected() {
    assertThatThrownBy(() -> Gpt2Config.of(256, 8, 10, 1, 3))
        .hasMessageContaining("n_embd (10) must be divisible by n_head (3)");
    assertThatThrownBy(() -> Gpt2Config.fromJson("{\"vocab_size\": \"many\", \"n_positions\": 8, \"n_embd\": 8, \"n_layer\": 1, \"n_head\": 2}"))
        .hasMessageContaining("vocab_size must be an integer");
    assertThatThrownBy(() -> Gpt2Config.fromJson("{\"vocab_size\": 256, \"n_positions\": 8, \"n_embd\": 8,"
        + " \"n_layer\": 1, \"n_head\": 2, \"activation_function\": \"relu\"}"))
        .hasMessageContaining("activation_function is 'relu'");
    assertThatThrownBy(() -> Gpt2Config.fromJson("{\"model_type\": \"llama\"}"))
        .hasMessageContaining("model_type is 'llama'");
    assertThatThrownBy(() -> Gpt2Config.fromJson("not json")).hasMessageContaining("not valid JSON");
  }
}
