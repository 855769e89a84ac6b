package dev.loupe.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.config.ConfigException;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Harvest requests read from JSON: defaults, and errors naming the field. */
class HarvestRequestTest {
  private static JsonObject base() {
    return new JsonObject().put("corpus", "europarl").put("hooks", List.of("blocks.0.hook_resid_post"));
  }

  private static void refused(JsonObject json, String field, String text) {
    assertThatThrownBy(() -> HarvestRequest.fromJson(json))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo(field))
        .hasMessageContaining(text);
  }

  @Test
  void omittedFieldsTakeTheirDefaults() {
    HarvestRequest r = HarvestRequest.fromJson(base());

    assertThat(r).isEqualTo(new HarvestRequest("europarl", List.of("blocks.0.hook_resid_post"), 100_000, 128, 1024, 8,
        1, 600));
    assertThat(HarvestRequest.fromJson(r.toJson())).isEqualTo(r);
  }

  @Test
  void hooksMayBeACommaSeparatedString() {
    HarvestRequest r = HarvestRequest.fromJson(base().put("hooks", "blocks.0.hook_resid_post, blocks.1.hook_resid_post"));

    assertThat(r.hooks()).containsExactly("blocks.0.hook_resid_post", "blocks.1.hook_resid_post");
  }

  @Test
  void badFieldsAreNamed() {
    refused(base().put("tokenz", 5), "tokenz", "unknown key");
    refused(base().put("consumers", 0), "consumers", "must be > 0");
    refused(base().put("tokens", 1.5), "tokens", "expected an integer");
    refused(base().put("corpus", 3), "corpus", "expected a string");
    JsonObject noCorpus = base();
    noCorpus.remove("corpus");
    refused(noCorpus, "corpus", "required");
    refused(base().put("hooks", List.of()), "hooks", "at least one");
    refused(base().put("hooks", List.of("x", "x")), "hooks", "listed twice");
    refused(base().put("hooks", List.of(7)), "hooks", "hook names");
  }
}
