package dev.loupe.sdk.config;

import java.util.List;
import java.util.Objects;

/**
 * One documented configuration key of an analysis method: its type, default, allowed range and
 * meaning. {@link ConfigSchema} validates documents against a list of these.
 *
 * @param name the key
 * @param type the value type
 * @param defaultValue the value used when the key is absent, or null when the key is required
 * @param min inclusive lower bound for numbers (null: none)
 * @param max inclusive upper bound for numbers (null: none)
 * @param choices allowed values for {@link Type#ENUM}; empty otherwise
 * @param description one line for users ({@code loupe plugins} prints it)
 * @param items for {@link Type#OBJECT_LIST}, the schema every element (a mapping) is validated
 *     against; null for the other types
 */
public record ConfigOption(String name, Type type, Object defaultValue, Double min, Double max,
    List<String> choices, String description, ConfigSchema items) {

  /**
   * Value types a config key can have. {@code OBJECT_LIST} is a list of mappings, each validated
   * against {@link #items()} (e.g. {@code mechanistic: [{dataset: french, positive: [...]}]}).
   */
  public enum Type { INT, LONG, DOUBLE, BOOLEAN, STRING, ENUM, STRING_LIST, OBJECT_LIST }

  public ConfigOption {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    choices = choices == null ? List.of() : List.copyOf(choices);
    description = description == null ? "" : description;
    if (type == Type.ENUM && choices.isEmpty()) {
      throw new IllegalArgumentException("option '" + name + "' is an ENUM with no choices");
    }
    if ((type == Type.OBJECT_LIST) != (items != null)) {
      throw new IllegalArgumentException("option '" + name + "': an OBJECT_LIST needs an item schema, and only it has one");
    }
  }

  /** An option of any type but {@link Type#OBJECT_LIST} (no item schema). */
  public ConfigOption(String name, Type type, Object defaultValue, Double min, Double max, List<String> choices,
      String description) {
    this(name, type, defaultValue, min, max, choices, description, null);
  }

  /** Whether a document must give this key. */
  public boolean required() {
    return defaultValue == null;
  }

  /** A one-line human description: {@code name (int, default 10, 1..100): what it does}. */
  public String summary() {
    StringBuilder sb = new StringBuilder(name).append(" (").append(type.name().toLowerCase());
    if (type == Type.ENUM) {
      sb.append(" ").append(String.join("|", choices));
    }
    if (type == Type.OBJECT_LIST) {
      sb.append(" of {");
      int i = 0;
      for (ConfigOption o : items.options()) {
        sb.append(i++ == 0 ? "" : ", ").append(o.name()).append(o.required() ? "" : "?");
      }
      sb.append('}');
    }
    sb.append(required() ? ", required" : ", default " + defaultValue);
    if (min != null || max != null) {
      sb.append(", ").append(min == null ? "" : fmt(min)).append("..").append(max == null ? "" : fmt(max));
    }
    return sb.append("): ").append(description).toString();
  }

  private static String fmt(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }
}
