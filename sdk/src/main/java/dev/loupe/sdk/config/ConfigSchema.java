package dev.loupe.sdk.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The set of keys an analysis method accepts. {@link #validate(Map)} turns a raw document (as
 * parsed from YAML or JSON) into a typed {@link JobConfig}, or rejects it before any work starts
 * with a {@link ConfigException} naming the key: unknown key, missing required key, wrong type,
 * value out of range or not among the choices.
 *
 * <p>Immutable and thread-safe once built.
 */
public final class ConfigSchema {
  private final Map<String, ConfigOption> options;

  private ConfigSchema(Map<String, ConfigOption> options) {
    this.options = Collections.unmodifiableMap(new LinkedHashMap<>(options));
  }

  /** A schema with no keys: every non-empty document is rejected. */
  public static ConfigSchema empty() {
    return new ConfigSchema(Map.of());
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The options in declaration order. */
  public Collection<ConfigOption> options() {
    return options.values();
  }

  /** The option named {@code name}, or null. */
  public ConfigOption option(String name) {
    return options.get(name);
  }

  /**
   * Validates a raw document and fills in defaults.
   *
   * @param raw key/value pairs; null is treated as empty
   * @throws ConfigException naming the first offending key
   */
  public JobConfig validate(Map<String, ?> raw) {
    Map<String, ?> in = raw == null ? Map.of() : raw;
    for (String key : in.keySet()) {
      if (!options.containsKey(key)) {
        throw new ConfigException(key, "unknown key; expected one of " + options.keySet());
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (ConfigOption o : options.values()) {
      Object v = in.get(o.name());
      if (v == null) {
        if (o.required()) {
          throw new ConfigException(o.name(), "required key is missing (" + o.summary() + ")");
        }
        v = o.defaultValue();
      }
      out.put(o.name(), coerce(o, v));
    }
    return new JobConfig(out);
  }

  private static Object coerce(ConfigOption o, Object v) {
    String name = o.name();
    switch (o.type()) {
      case INT, LONG -> {
        long l;
        if (v instanceof Number n && (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte
            || (n.doubleValue() == Math.rint(n.doubleValue()) && !Double.isInfinite(n.doubleValue())))) {
          l = n.longValue();
        } else if (v instanceof String s && s.trim().matches("[+-]?\\d+")) {
          l = Long.parseLong(s.trim());
        } else {
          throw new ConfigException(name, "expected an integer, got " + describe(v));
        }
        checkRange(o, l);
        if (o.type() == ConfigOption.Type.INT) {
          if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new ConfigException(name, "value " + l + " does not fit in a 32-bit integer");
          }
          return (int) l;
        }
        return l;
      }
      case DOUBLE -> {
        double d;
        if (v instanceof Number n) {
          d = n.doubleValue();
        } else if (v instanceof String s) {
          try {
            d = Double.parseDouble(s.trim());
          } catch (NumberFormatException e) {
            throw new ConfigException(name, "expected a number, got " + describe(v));
          }
        } else {
          throw new ConfigException(name, "expected a number, got " + describe(v));
        }
        if (Double.isNaN(d) || Double.isInfinite(d)) {
          throw new ConfigException(name, "expected a finite number, got " + d);
        }
        checkRange(o, d);
        return d;
      }
      case BOOLEAN -> {
        if (v instanceof Boolean b) {
          return b;
        }
        if (v instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
          return Boolean.parseBoolean(s);
        }
        throw new ConfigException(name, "expected true or false, got " + describe(v));
      }
      case STRING -> {
        if (v instanceof String || v instanceof Number || v instanceof Boolean) {
          return v.toString();
        }
        throw new ConfigException(name, "expected a string, got " + describe(v));
      }
      case ENUM -> {
        String s = v instanceof String || v instanceof Number ? v.toString() : null;
        if (s == null || !o.choices().contains(s)) {
          throw new ConfigException(name, "expected one of " + o.choices() + ", got " + describe(v));
        }
        return s;
      }
      case STRING_LIST -> {
        List<String> list = new ArrayList<>();
        if (v instanceof String s) {
          for (String part : s.split(",")) {
            if (!part.isBlank()) {
              list.add(part.trim());
            }
          }
        } else if (v instanceof Collection<?> c) {
          int i = 0;
          for (Object e : c) {
            if (!(e instanceof String || e instanceof Number)) {
              throw new ConfigException(name + "[" + i + "]", "expected a string, got " + describe(e));
            }
            list.add(e.toString());
            i++;
          }
        } else {
          throw new ConfigException(name, "expected a list of strings, got " + describe(v));
        }
        return List.copyOf(list);
      }
      case OBJECT_LIST -> {
        if (!(v instanceof Collection<?> c)) {
          throw new ConfigException(name, "expected a list of mappings with keys " + o.items().options().stream()
              .map(ConfigOption::name).toList() + ", got " + describe(v));
        }
        List<Map<String, Object>> list = new ArrayList<>();
        int i = 0;
        for (Object e : c) {
          String at = name + "[" + i + "]";
          if (!(e instanceof Map<?, ?> m)) {
            throw new ConfigException(at, "expected a mapping with keys " + o.items().options().stream()
                .map(ConfigOption::name).toList() + ", got " + (e == null ? "nothing" : describe(e)));
          }
          Map<String, Object> item = new LinkedHashMap<>();
          m.forEach((k, x) -> item.put(String.valueOf(k), x));
          try {
            list.add(o.items().validate(item).asMap());
          } catch (ConfigException inner) {
            String prefix = inner.field().isEmpty() ? "" : "'" + inner.field() + "': ";
            String why = inner.getMessage().startsWith(prefix) ? inner.getMessage().substring(prefix.length())
                : inner.getMessage();
            throw new ConfigException(inner.field().isEmpty() ? at : at + "." + inner.field(), why);
          }
          i++;
        }
        return List.copyOf(list);
      }
      default -> throw new IllegalStateException("unhandled type " + o.type());
    }
  }

  private static void checkRange(ConfigOption o, double d) {
    if (o.min() != null && d < o.min()) {
      throw new ConfigException(o.name(), "value " + num(d) + " is below the minimum " + num(o.min()));
    }
    if (o.max() != null && d > o.max()) {
      throw new ConfigException(o.name(), "value " + num(d) + " is above the maximum " + num(o.max()));
    }
  }

  private static String num(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }

  private static String describe(Object v) {
    if (v instanceof String s) {
      return "the string \"" + s + "\"";
    }
    if (v instanceof Collection<?>) {
      return "a list";
    }
    if (v instanceof Map<?, ?>) {
      return "a mapping";
    }
    return v.getClass().getSimpleName().toLowerCase() + " " + v;
  }

  /** Builds a schema; each method validates its arguments at once. */
  public static final class Builder {
    private final Map<String, ConfigOption> options = new LinkedHashMap<>();

    public Builder add(ConfigOption option) {
      Objects.requireNonNull(option, "option");
      if (options.putIfAbsent(option.name(), option) != null) {
        throw new IllegalArgumentException("option '" + option.name() + "' declared twice");
      }
      if (option.defaultValue() != null) {
        // A default must itself be valid, or users get an error for a key they never wrote.
        coerce(option, option.defaultValue());
      }
      return this;
    }

    public Builder intOption(String name, Integer def, Integer min, Integer max, String description) {
      return add(new ConfigOption(name, ConfigOption.Type.INT, def, min == null ? null : min.doubleValue(),
          max == null ? null : max.doubleValue(), List.of(), description));
    }

    public Builder longOption(String name, Long def, Long min, Long max, String description) {
      return add(new ConfigOption(name, ConfigOption.Type.LONG, def, min == null ? null : min.doubleValue(),
          max == null ? null : max.doubleValue(), List.of(), description));
    }

    public Builder doubleOption(String name, Double def, Double min, Double max, String description) {
      return add(new ConfigOption(name, ConfigOption.Type.DOUBLE, def, min, max, List.of(), description));
    }

    public Builder boolOption(String name, Boolean def, String description) {
      return add(new ConfigOption(name, ConfigOption.Type.BOOLEAN, def, null, null, List.of(), description));
    }

    public Builder stringOption(String name, String def, String description) {
      return add(new ConfigOption(name, ConfigOption.Type.STRING, def, null, null, List.of(), description));
    }

    public Builder enumOption(String name, String def, List<String> choices, String description) {
      return add(new ConfigOption(name, ConfigOption.Type.ENUM, def, null, null, choices, description));
    }

    public Builder stringListOption(String name, List<String> def, String description) {
      return add(new ConfigOption(name, ConfigOption.Type.STRING_LIST, def, null, null, List.of(), description));
    }

    /**
     * A list of mappings, each validated against {@code items} (unknown keys, missing required keys,
     * types and ranges, reported as {@code name[i].key}); the default is the empty list. Read it with
     * {@link JobConfig#getObjectList}.
     */
    public Builder objectListOption(String name, ConfigSchema items, String description) {
      Objects.requireNonNull(items, "items");
      return add(new ConfigOption(name, ConfigOption.Type.OBJECT_LIST, List.of(), null, null, List.of(), description,
          items));
    }

    public ConfigSchema build() {
      return new ConfigSchema(options);
    }
  }
}
