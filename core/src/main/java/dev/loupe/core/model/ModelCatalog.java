package dev.loupe.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.sdk.model.ModelInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What a user can open, and how a model describes itself: the named references this build
 * resolves (shipped, random, encoders), the Hugging Face model directories kept under a
 * {@code models/} directory, and the document {@code loupe model info --json} prints (and the
 * HTTP API serves). Shared by the CLI and the server.
 */
public final class ModelCatalog {
  /** How deep to look under models/: {@code models/NAME} and {@code models/ORG/NAME}, as on the Hub. */
  private static final int SEARCH_DEPTH = 2;
  private static final ObjectMapper JSON = new ObjectMapper();

  private ModelCatalog() {
  }

  /**
   * The model references that need no path: the shipped models (with whether their files are
   * found), {@code tiny} and the encoders shipped in jars; then one entry per model directory
   * under {@code modelsDir} (opened by its path).
   *
   * @param modelsDir {@code <home>/models}, or null to list no directories
   */
  public static List<Map<String, Object>> known(Path modelsDir) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (String name : ShippedModels.NAMES) {
      out.add(entry(name, "shipped", ShippedModels.locate(name).isPresent()));
    }
    out.add(entry(ModelRefs.TINY, "random", true));
    for (String name : EncoderModels.names()) {
      out.add(entry(name, "encoder", true));
    }
    if (modelsDir != null) {
      for (Path d : directories(modelsDir)) {
        Map<String, Object> m = entry(d.toString(), "directory", true);
        m.put("modelType", modelType(d));
        out.add(m);
      }
    }
    return out;
  }

  private static Map<String, Object> entry(String ref, String kind, boolean available) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ref", ref);
    m.put("kind", kind);
    m.put("available", available);
    return m;
  }

  /** A model's sizes and every hook point with its width, as {@code loupe model info --json} prints it. */
  public static Map<String, Object> document(ModelInfo info) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("id", info.id());
    doc.put("architecture", info.architecture());
    doc.put("causal", info.causal());
    doc.put("layers", info.nLayers());
    doc.put("dModel", info.dModel());
    doc.put("heads", info.nHeads());
    doc.put("dHead", info.dHead());
    doc.put("dMlp", info.dMlp());
    doc.put("vocab", info.vocabSize());
    doc.put("context", info.maxContext());
    doc.put("parameters", info.parameters());
    List<Object> hooks = new ArrayList<>();
    for (String h : info.hookNames()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", h);
      m.put("width", info.hookWidth(h));
      hooks.add(m);
    }
    doc.put("hooks", hooks);
    return doc;
  }

  /**
   * The {@code model_type} of a directory's config.json ({@code gpt2}, {@code llama}, ...), or a
   * word saying why there is none; a listing shows every directory, even one that will not load.
   */
  public static String modelType(Path dir) {
    try {
      JsonNode t = JSON.readTree(dir.resolve("config.json").toFile()).get("model_type");
      return t == null || !t.isTextual() ? "no model_type" : t.asText();
    } catch (IOException e) {
      return "unreadable config.json";
    }
  }

  /** Directories holding a config.json under {@code root}, sorted; empty when root does not exist. */
  public static List<Path> directories(Path root) {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(root, SEARCH_DEPTH + 1)) {
      return new ArrayList<>(s.filter(p -> p.getFileName().toString().equals("config.json"))
          .filter(Files::isRegularFile)
          .map(Path::getParent)
          .filter(d -> !d.equals(root))
          .sorted()
          .toList());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list model directories under " + root + ": " + e.getMessage(), e);
    }
  }
}
