package dev.loupe.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * Reading Hugging Face {@code config.json} fields, shared by the architectures' configs: each
 * error names the field and what was expected.
 */
final class ConfigFields {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ConfigFields() {}

  /**
   * Parses a config.json document.
   *
   * @throws IllegalArgumentException when it is not valid JSON or not an object
   */
  static JsonNode parse(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("config.json is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("config.json must be a JSON object");
    }
    return root;
  }

  static boolean isAbsent(JsonNode n) {
    return n == null || n.isNull();
  }

  /** The value at {@code key}, reported as {@code field} when missing. */
  static JsonNode required(JsonNode root, String key, String field) {
    JsonNode n = root.get(key);
    if (isAbsent(n)) {
      throw new IllegalArgumentException("config.json is missing field " + field);
    }
    return n;
  }

  static int intField(JsonNode root, String field) {
    return intValue(required(root, field, field), field);
  }

  static int optInt(JsonNode root, String field, int dflt) {
    JsonNode n = root.get(field);
    return isAbsent(n) ? dflt : intValue(n, field);
  }

  static int intValue(JsonNode n, String field) {
    if (!n.isIntegralNumber() || !n.canConvertToInt()) {
      throw new IllegalArgumentException("config field " + field + " must be an integer, got " + n);
    }
    return n.intValue();
  }

  static double numberField(JsonNode root, String key, String field) {
    return numberValue(required(root, key, field), field);
  }

  static double optDouble(JsonNode root, String field, double dflt) {
    JsonNode n = root.get(field);
    return isAbsent(n) ? dflt : numberValue(n, field);
  }

  private static double numberValue(JsonNode n, String field) {
    if (!n.isNumber()) {
      throw new IllegalArgumentException("config field " + field + " must be a number, got " + n);
    }
    return n.doubleValue();
  }

  static boolean optBool(JsonNode root, String field, boolean dflt) {
    JsonNode n = root.get(field);
    if (isAbsent(n)) {
      return dflt;
    }
    if (!n.isBoolean()) {
      throw new IllegalArgumentException("config field " + field + " must be true or false, got " + n);
    }
    return n.booleanValue();
  }

  static String optText(JsonNode root, String field, String dflt) {
    JsonNode n = root.get(field);
    if (isAbsent(n)) {
      return dflt;
    }
    if (!n.isTextual()) {
      throw new IllegalArgumentException("config field " + field + " must be a string, got " + n);
    }
    return n.textValue();
  }

  /** Rejects a size that is not positive, naming the config field. */
  static void positive(String field, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException("config field " + field + " must be > 0, got " + v);
    }
  }

  /** A config document as pretty-printed JSON. */
  static String write(com.fasterxml.jackson.databind.node.ObjectNode o) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write config JSON", e);
    }
  }

  /** A new empty config document. */
  static com.fasterxml.jackson.databind.node.ObjectNode newDocument() {
    return JSON.createObjectNode();
  }
}
