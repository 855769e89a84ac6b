package dev.loupe.sdk.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A list of mappings as one config key, each element validated against its own schema. */
class ObjectListOptionTest {
  private static final ConfigSchema ITEM = ConfigSchema.builder()
      .stringOption("dataset", null, "the dataset")
      .stringListOption("positive", null, "tokens")
      .stringListOption("negative", List.of(), "tokens")
      .intOption("weight", 1, 1, 10, "a weight")
      .build();
  private static final ConfigSchema SCHEMA = ConfigSchema.builder()
      .objectListOption("mechanistic", ITEM, "directions read from the weights")
      .build();

  @Test
  void elementsAreValidatedWithDefaultsFilledIn() {
    JobConfig cfg = SCHEMA.validate(Map.of("mechanistic",
        List.of(Map.of("dataset", "french", "positive", List.of("é", "è")))));
    List<JobConfig> items = cfg.getObjectList("mechanistic");
    assertThat(items).hasSize(1);
    assertThat(items.get(0).getString("dataset")).isEqualTo("french");
    assertThat(items.get(0).getStringList("positive")).containsExactly("é", "è");
    assertThat(items.get(0).getStringList("negative")).isEmpty();
    assertThat(items.get(0).getInt("weight")).isEqualTo(1);
  }

  @Test
  void theDefaultIsAnEmptyList() {
    assertThat(SCHEMA.validate(Map.of()).getObjectList("mechanistic")).isEmpty();
    assertThat(SCHEMA.option("mechanistic").summary()).contains("object_list of {dataset, positive, negative?, weight?}");
  }

  @Test
  void errorsNameTheElementAndItsKey() {
    assertThatThrownBy(() -> SCHEMA.validate(Map.of("mechanistic", List.of(Map.of("positive", List.of("a"))))))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).field()).isEqualTo("mechanistic[0].dataset"))
        .hasMessageContaining("required key is missing");
    assertThatThrownBy(() -> SCHEMA.validate(Map.of("mechanistic",
        List.of(Map.of("dataset", "a", "positive", "x"), Map.of("dataset", "b", "positive", "y", "weight", 11)))))
        .hasMessage("'mechanistic[1].weight': value 11 is above the maximum 10");
    assertThatThrownBy(() -> SCHEMA.validate(Map.of("mechanistic", List.of(Map.of("dataset", "a", "positive", "x",
        "colour", "red")))))
        .hasMessageStartingWith("'mechanistic[0].colour': unknown key");
    assertThatThrownBy(() -> SCHEMA.validate(Map.of("mechanistic", List.of("french"))))
        .hasMessageStartingWith("'mechanistic[0]': expected a mapping");
    assertThatThrownBy(() -> SCHEMA.validate(Map.of("mechanistic", "french")))
        .hasMessageStartingWith("'mechanistic': expected a list of mappings");
  }
}
