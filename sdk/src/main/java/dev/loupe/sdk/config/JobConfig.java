package dev.loupe.sdk.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A validated, typed configuration: every key of the method's {@link ConfigSchema} is present
 * (defaults filled in) with a value of the declared type. Immutable.
 */
public final class JobConfig {
  private final Map<String, Object> values;

  JobConfig(Map<String, Object> values) {
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }

  /** Every key and value, in schema order (for writing {@code config.json}). */
  public Map<String, Object> asMap() {
    return values;
  }

  private Object get(String key) {
    if (!values.containsKey(key)) {
      throw new IllegalArgumentException("no config key '" + key + "'; the schema has " + values.keySet());
    }
    return values.get(key);
  }

  public int getInt(String key) {
    return ((Number) get(key)).intValue();
  }

  public long getLong(String key) {
    return ((Number) get(key)).longValue();
  }

  public double getDouble(String key) {
    return ((Number) get(key)).doubleValue();
  }

  public boolean getBoolean(String key) {
    return (Boolean) get(key);
  }

  public String getString(String key) {
    Object v = get(key);
    return v == null ? null : v.toString();
  }

  @SuppressWarnings("unchecked")
  public List<String> getStringList(String key) {
    return (List<String>) get(key);
  }

  /**
   * The elements of an {@code OBJECT_LIST} option, each a validated config of the option's item
   * schema (defaults filled in), in order.
   */
  @SuppressWarnings("unchecked")
  public List<JobConfig> getObjectList(String key) {
    List<JobConfig> out = new java.util.ArrayList<>();
    for (Object item : (List<Object>) get(key)) {
      out.add(new JobConfig((Map<String, Object>) item));
    }
    return List.copyOf(out);
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
