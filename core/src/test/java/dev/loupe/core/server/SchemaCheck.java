package dev.loupe.core.server;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks a JSON value against the subset of OpenAPI 3.0 schemas that /openapi.json uses: type,
 * properties (every field of an answer must be documented unless the schema allows others),
 * required, items, enum, oneOf, $ref. JSON null is accepted where a value is optional.
 */
final class SchemaCheck {
  /** Array elements checked per array: enough to catch a wrong shape without walking megabytes. */
  private static final int ITEMS_CHECKED = 20;

  private SchemaCheck() {
  }

  /** Adds a line to {@code problems} for each place where {@code value} does not fit {@code schema}. */
  static void check(Object value, JsonObject schema, JsonObject schemas, String where, List<String> problems) {
    String ref = schema.getString("$ref");
    if (ref != null) {
      String name = ref.substring(ref.lastIndexOf('/') + 1);
      JsonObject target = schemas.getJsonObject(name);
      if (target == null) {
        problems.add(where + ": $ref to a missing schema " + name);
        return;
      }
      check(value, target, schemas, where, problems);
      return;
    }
    if (value == null) {
      return;
    }
    JsonArray oneOf = schema.getJsonArray("oneOf");
    if (oneOf != null) {
      for (Object branch : oneOf) {
        List<String> p = new ArrayList<>();
        check(value, (JsonObject) branch, schemas, where, p);
        if (p.isEmpty()) {
          return;
        }
      }
      problems.add(where + ": fits no branch of oneOf: " + abbreviate(value));
      return;
    }
    String type = schema.getString("type");
    if (type == null) {
      return;
    }
    switch (type) {
      case "object" -> object(value, schema, schemas, where, problems);
      case "array" -> {
        if (!(value instanceof List<?>) && !(value instanceof JsonArray)) {
          problems.add(where + ": expected an array, got " + abbreviate(value));
          return;
        }
        JsonObject items = schema.getJsonObject("items");
        List<?> list = value instanceof JsonArray a ? a.getList() : (List<?>) value;
        for (int i = 0; i < Math.min(list.size(), ITEMS_CHECKED) && items != null; i++) {
          check(list.get(i), items, schemas, where + "[" + i + "]", problems);
        }
      }
      case "string" -> {
        if (!(value instanceof String s)) {
          problems.add(where + ": expected a string, got " + abbreviate(value));
        } else if (schema.containsKey("enum") && !schema.getJsonArray("enum").contains(s)) {
          problems.add(where + ": '" + s + "' is not one of " + schema.getJsonArray("enum"));
        }
      }
      case "integer" -> {
        if (!(value instanceof Number n) || n.doubleValue() % 1 != 0) {
          problems.add(where + ": expected an integer, got " + abbreviate(value));
        }
      }
      case "number" -> {
        if (!(value instanceof Number)) {
          problems.add(where + ": expected a number, got " + abbreviate(value));
        }
      }
      case "boolean" -> {
        if (!(value instanceof Boolean)) {
          problems.add(where + ": expected a boolean, got " + abbreviate(value));
        }
      }
      default -> problems.add(where + ": the schema has an unknown type " + type);
    }
  }

  private static void object(Object value, JsonObject schema, JsonObject schemas, String where, List<String> problems) {
    JsonObject o;
    if (value instanceof JsonObject j) {
      o = j;
    } else if (value instanceof Map<?, ?> m) {
      @SuppressWarnings("unchecked")
      Map<String, Object> cast = (Map<String, Object>) m;
      o = new JsonObject(cast);
    } else {
      problems.add(where + ": expected an object, got " + abbreviate(value));
      return;
    }
    JsonArray required = schema.getJsonArray("required", new JsonArray());
    for (Object r : required) {
      if (!o.containsKey((String) r)) {
        problems.add(where + ": required field '" + r + "' is missing");
      }
    }
    JsonObject props = schema.getJsonObject("properties");
    Object additional = schema.getValue("additionalProperties");
    for (String k : o.fieldNames()) {
      JsonObject p = props == null ? null : props.getJsonObject(k);
      if (p != null) {
        check(o.getValue(k), p, schemas, where + "." + k, problems);
      } else if (additional instanceof JsonObject a) {
        check(o.getValue(k), a, schemas, where + "." + k, problems);
      } else if (props != null && !Boolean.TRUE.equals(additional)) {
        problems.add(where + ": field '" + k + "' is not documented");
      }
    }
  }

  private static String abbreviate(Object value) {
    String s = String.valueOf(value);
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
