package dev.loupe.core.job;

import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import java.util.Map;

/** Validation shared by input resolvers: one kind key, its mapping checked against a schema. */
public final class InputSpecs {
  private InputSpecs() {}

  /**
   * Validates {@code spec[kind]} with {@code schema}, naming fields as {@code inputs.NAME.KIND.FIELD}.
   *
   * @throws ConfigException when the spec has other keys, the kind's value is not a mapping, or
   *     the mapping fails the schema
   */
  public static JobConfig validate(String name, String kind, ConfigSchema schema, Map<String, Object> spec) {
    String field = "inputs." + name + "." + kind;
    if (spec.size() != 1) {
      throw new ConfigException("inputs." + name, "a " + kind + " input has only the key '" + kind + "', found " + spec.keySet());
    }
    if (!(spec.get(kind) instanceof Map<?, ?> raw)) {
      throw new ConfigException(field, "expected a mapping with keys "
          + schema.options().stream().map(o -> o.name()).toList());
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> m = (Map<String, Object>) raw;
    try {
      return schema.validate(m);
    } catch (ConfigException e) {
      throw new ConfigException(field + "." + e.field(), e.getMessage().replaceFirst("^'[^']*': ", ""));
    }
  }
}
