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
 */
public record ConfigOption(String name, Type type, Object defaultValue, Double min, Double max,
    List<String> choices, String description) {

  /** Value types a config key can have. */
  public enum Type { INT, LONG, DOUBLE, BOOLEAN, STRING, ENUM, STRING_LIST }

  public ConfigOption {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    choices = choices == null ? List.of() : List.copyOf(choices);
    description = description == null ? "" : description;
    if (type == Type.ENUM && choices.isEmpty()) {
      throw new IllegalArgumentException("option '" + name + "' is an ENUM with no choices");
    }
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
