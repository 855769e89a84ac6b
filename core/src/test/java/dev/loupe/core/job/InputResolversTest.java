package dev.loupe.core.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InputResolversTest {
  private final InputResolvers resolvers = InputResolvers.withDefaults();

  private static List<Float> readAll(SyntheticSource s) throws InterruptedException {
    List<Float> out = new ArrayList<>();
    for (ActivationBatch b = s.next(); b != null; b = s.next()) {
      for (float v : b.values()) {
        out.add(v);
      }
    }
    return out;
  }

  @Test
  void syntheticInputsAreDeterministicAndSized() throws Exception {
    Map<String, Object> spec = Map.of("synthetic", Map.of("rows", 1000, "width", 8, "seed", 3, "batch_rows", 300));
    SyntheticSource a = (SyntheticSource) resolvers.resolve("main", spec).source();
    SyntheticSource b = (SyntheticSource) resolvers.resolve("main", spec).source();

    assertThat(a.totalRows()).isEqualTo(1000);
    assertThat(a.width()).isEqualTo(8);
    List<Float> va = readAll(a);
    assertThat(va).hasSize(8000).isEqualTo(readAll(b));
    double mean = va.stream().mapToDouble(Float::doubleValue).average().orElseThrow();
    assertThat(mean).isBetween(-0.05, 0.05);
  }

  @Test
  void aBadSyntheticFieldIsNamedWithItsPath() {
    assertThatThrownBy(() -> resolvers.resolve("main", Map.of("synthetic", Map.of("rows", 10, "width", "wide"))))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).field()).isEqualTo("inputs.main.synthetic.width"));
    assertThatThrownBy(() -> resolvers.resolve("main", Map.of("synthetic", Map.of("rows", 10, "width", 4, "hook", "blocks.x"))))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).field()).isEqualTo("inputs.main.synthetic.hook"));
  }

  @Test
  void anUnknownKindListsTheRegisteredOnes() {
    assertThatThrownBy(() -> resolvers.resolve("main", Map.of("store", "runs/acts")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("inputs.main")
        .hasMessageContaining("[synthetic]");
  }

  @Test
  void registeredKindsArePickedByTheirKey() throws Exception {
    resolvers.register("constant", (name, spec) -> new ResolvedInput(
        new SyntheticSource("hook_embed", 2, 3, 0, 2, ((Number) spec.get("constant")).doubleValue(), 0), null));

    ActivationBatch b = resolvers.resolve("x", Map.of("constant", 5)).source().next();

    assertThat(b.values()).containsOnly(5f);
    assertThat(resolvers.kinds()).containsExactly("synthetic", "constant");
  }
}
