package dev.loupe.core.pipeline;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pipeline file read into plain maps and lists, with the line each value starts on, so an
 * error can say "line 12: steps[1].job.config.k ...". Paths are written as in messages:
 * {@code steps[1].job.config.k}.
 */
final class PipelineFile {
  private static final YAMLFactory YAML = new YAMLFactory();

  final Path file;
  final Map<String, Object> root;
  private final Map<String, Integer> lines;

  private PipelineFile(Path file, Map<String, Object> root, Map<String, Integer> lines) {
    this.file = file;
    this.root = root;
    this.lines = lines;
  }

  /**
   * Reads {@code file}.
   *
   * @throws PipelineException naming the file (and line) when it is missing or not a YAML mapping
   */
  static PipelineFile read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new PipelineException(file + ": no such pipeline file");
    }
    Map<String, Integer> lines = new HashMap<>();
    Object doc;
    try (JsonParser p = YAML.createParser(file.toFile())) {
      JsonToken t = p.nextToken();
      doc = t == null ? null : read(p, "", lines, new HashMap<>());
    } catch (IOException e) {
      throw new PipelineException(file + ": not valid YAML: " + e.getMessage().split("\n")[0]);
    }
    if (!(doc instanceof Map<?, ?>)) {
      throw new PipelineException(file + ": a pipeline is a mapping with 'steps' (and optional 'name', 'vars')");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> root = (Map<String, Object>) doc;
    return new PipelineFile(file, root, lines);
  }

  /**
   * Reads the value at the parser's current token. YAML anchors ({@code &name}) and aliases
   * ({@code *name}) are resolved here (an alias is a copy of the anchored value), since the streaming
   * parser reports an alias as a plain string.
   */
  private static Object read(JsonParser p, String path, Map<String, Integer> lines, Map<String, Object> anchors)
      throws IOException {
    lines.putIfAbsent(path, p.currentTokenLocation().getLineNr());
    if (p instanceof YAMLParser y && y.isCurrentAlias()) {
      String name = p.getText();
      if (!anchors.containsKey(name)) {
        throw new IOException("alias *" + name + " at line " + p.currentTokenLocation().getLineNr()
            + " names no anchor (&" + name + ") above it");
      }
      return copy(anchors.get(name));
    }
    String anchor = p instanceof YAMLParser y ? y.getObjectId() : null;
    Object value = readValue(p, path, lines, anchors);
    if (anchor != null) {
      anchors.put(anchor, value);
    }
    return value;
  }

  private static Object copy(Object v) {
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put((String) k, copy(x)));
      return out;
    }
    if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(x -> out.add(copy(x)));
      return out;
    }
    return v;
  }

  private static Object readValue(JsonParser p, String path, Map<String, Integer> lines, Map<String, Object> anchors)
      throws IOException {
    JsonToken t = p.currentToken();
    switch (t) {
      case START_OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        while (p.nextToken() != JsonToken.END_OBJECT) {
          String key = p.currentName();
          String childPath = path.isEmpty() ? key : path + "." + key;
          lines.put(childPath, p.currentTokenLocation().getLineNr());
          p.nextToken();
          m.put(key, read(p, childPath, lines, anchors));
        }
        return m;
      }
      case START_ARRAY -> {
        List<Object> l = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          l.add(read(p, path + "[" + l.size() + "]", lines, anchors));
        }
        return l;
      }
      case VALUE_STRING -> {
        return p.getText();
      }
      case VALUE_NUMBER_INT -> {
        Number n = p.getNumberValue();
        return n.longValue() == n.intValue() ? (Object) n.intValue() : (Object) n.longValue();
      }
      case VALUE_NUMBER_FLOAT -> {
        return p.getDoubleValue();
      }
      case VALUE_TRUE -> {
        return true;
      }
      case VALUE_FALSE -> {
        return false;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw new IOException("unexpected " + t + " at line " + p.currentTokenLocation().getLineNr());
    }
  }

  /** The line the value at {@code path} starts on, or of its nearest enclosing value (0 when unknown). */
  int line(String path) {
    String p = path;
    while (true) {
      Integer l = lines.get(p);
      if (l != null) {
        return l;
      }
      int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) {
        return lines.getOrDefault("", 0);
      }
      p = p.substring(0, cut);
    }
  }

  /** An error at {@code path}: "FILE line N: PATH: message". */
  PipelineException error(String path, String message) {
    return new PipelineException(file + " line " + line(path) + ": " + path + ": " + message);
  }
}
