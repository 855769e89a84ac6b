package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.loupe.sdk.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A job file as {@code loupe job} reads it (YAML or JSON):
 *
 * <pre>
 * method: activation-stats      # optional; must match the command's METHOD when given
 * config:                       # the method's options (see `loupe plugins`)
 *   bins: 40
 * inputs:                       # input name -> spec with one kind key
 *   main:
 *     synthetic: {rows: 5000, width: 64, seed: 7}
 * </pre>
 *
 * {@code --set key=value} overrides go on top: {@code bins=10} (or {@code config.bins=10}) sets a
 * config key, {@code inputs.main.synthetic.rows=100} a nested input field; values are parsed as
 * YAML scalars, so numbers stay numbers.
 */
final class JobFile {
  private static final List<String> KEYS = List.of("method", "config", "inputs");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  final String method;
  final Map<String, Object> config;
  final Map<String, Object> inputs;

  private JobFile(String method, Map<String, Object> config, Map<String, Object> inputs) {
    this.method = method;
    this.config = config;
    this.inputs = inputs;
  }

  /** Reads {@code file}; throws {@link ConfigException} naming the file and key when it is wrong. */
  static JobFile read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ConfigException("", "job file " + file + " does not exist");
    }
    Object doc;
    try {
      doc = YAML.readValue(file.toFile(), Object.class);
    } catch (IOException e) {
      throw new ConfigException("", "cannot parse job file " + file + ": " + e.getMessage().split("\n")[0]);
    }
    if (doc == null) {
      doc = Map.of();
    }
    if (!(doc instanceof Map<?, ?> top)) {
      throw new ConfigException("", "job file " + file + " must be a mapping with keys " + KEYS);
    }
    for (Object k : top.keySet()) {
      if (!KEYS.contains(String.valueOf(k))) {
        throw new ConfigException(String.valueOf(k), "unknown key in job file " + file + "; expected " + KEYS);
      }
    }
    Object method = top.get("method");
    return new JobFile(method == null ? null : method.toString(), mapping(top.get("config"), "config", file),
        mapping(top.get("inputs"), "inputs", file));
  }

  /** An empty job file (no config, no inputs). */
  static JobFile empty() {
    return new JobFile(null, new LinkedHashMap<>(), new LinkedHashMap<>());
  }

  private static Map<String, Object> mapping(Object v, String field, Path file) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (v == null) {
      return out;
    }
    if (!(v instanceof Map<?, ?> m)) {
      throw new ConfigException(field, "expected a mapping in job file " + file);
    }
    m.forEach((k, val) -> out.put(String.valueOf(k), val));
    return out;
  }

  /** Applies one {@code key=value} override. */
  void set(String assignment) {
    int eq = assignment.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException("--set", "expected key=value, got \"" + assignment + "\"");
    }
    String key = assignment.substring(0, eq).trim();
    Object value = scalar(assignment.substring(eq + 1));
    if (key.startsWith("inputs.")) {
      String[] path = key.substring("inputs.".length()).split("\\.");
      Map<String, Object> at = inputs;
      for (int i = 0; i < path.length - 1; i++) {
        Object next = at.get(path[i]);
        if (next == null) {
          next = new LinkedHashMap<String, Object>();
          at.put(path[i], next);
        } else if (!(next instanceof Map<?, ?>)) {
          throw new ConfigException(key, "cannot set a field inside a non-mapping value");
        } else {
          // Copy so that nested maps from the parser become mutable string-keyed maps.
          Map<String, Object> copy = new LinkedHashMap<>();
          ((Map<?, ?>) next).forEach((k, v) -> copy.put(String.valueOf(k), v));
          at.put(path[i], copy);
          next = copy;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) next;
        at = m;
      }
      at.put(path[path.length - 1], value);
    } else {
      config.put(key.startsWith("config.") ? key.substring("config.".length()) : key, value);
    }
  }

  /** A command-line value parsed as a YAML scalar (numbers stay numbers); the text itself when it is not one. */
  static Object scalar(String text) {
    try {
      Object v = YAML.readValue(text.isEmpty() ? "\"\"" : text, Object.class);
      return v instanceof Map<?, ?> || v instanceof List<?> ? v : v == null ? text : v;
    } catch (IOException e) {
      return text;
    }
  }
}
