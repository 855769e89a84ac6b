package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ModelRegistryTest {
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
  void tinyIsTheDocumentedRandomGpt2() {
    try (LoadedModel m = ModelRegistry.withDefaults().load("tiny", manager)) {
      assertThat(m.id()).isEqualTo("tiny");
      assertThat(m.gpt2().config()).isEqualTo(Gpt2Config.of(256, 256, 128, 4, 4));
      assertThat(m.tokenizer()).isSameAs(ByteTokenizer.instance());
    }
  }

  @Test
  void randomReferencesDefaultToHeadsOfWidth32AndSeed0() {
    ModelRegistry r = ModelRegistry.withDefaults();
    try (LoadedModel a = r.load("random-gpt2:2x64", manager); LoadedModel b = r.load("random-gpt2:2x64x2@0", manager)) {
      assertThat(a.gpt2().config().nHead()).isEqualTo(2);
      assertThat(a.model().weight("h.1.mlp.c_fc.weight").toFloatArray())
          .containsExactly(b.model().weight("h.1.mlp.c_fc.weight").toFloatArray());
    }
  }

  @Test
  void aMalformedRandomReferenceShowsTheForm() {
    assertThatThrownBy(() -> ModelRegistry.withDefaults().load("random-gpt2:big", manager))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'random-gpt2:big' is malformed").hasMessageContaining("random-gpt2:2x64");
  }

  @Test
  void resolversRegisteredLaterExtendTheKnownForms() {
    ModelResolver mine = new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return ref.equals("mine");
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        return new LoadedModel(ref, Gpt2Model.random(TestModels.smallConfig(), 9, parent), ByteTokenizer.instance());
      }

      @Override
      public String describe() {
        return "mine (custom)";
      }
    };
    ModelRegistry r = ModelRegistry.withDefaults().register(mine);
    assertThat(r.forms()).hasSize(ModelRegistry.withDefaults().forms().size() + 1).last().isEqualTo("mine (custom)");
    try (LoadedModel m = r.load("mine", manager)) {
      assertThat(m.gpt2().config().nLayer()).isEqualTo(2);
    }
    assertThatThrownBy(() -> r.load("nosuch:gpt2", manager))
        .hasMessageContaining("unknown model reference 'nosuch:gpt2'")
        .hasMessageContaining("mine (custom)");
  }
}
