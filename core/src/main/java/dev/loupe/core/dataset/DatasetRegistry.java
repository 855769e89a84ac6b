package dev.loupe.core.dataset;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.loupe.core.corpus.LanguageLabels;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.dataset.TokenDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The labelled token datasets a Loupe installation defines, read from YAML files ({@code *.yaml}
 * in the dataset directories, {@code config/datasets} by default), each holding a list of
 * definitions:
 *
 * <pre>
 * datasets:
 *   - {name: language, kind: document-label, labels: [de, en, fr]}   # one class per label
 *   - {name: french, kind: document-label, positive: [fr]}           # fr against every other label
 *   - {name: position, kind: position, buckets: [0, 8, 32, 128]}     # window: 0 = the model's context
 *   - {name: token-class, kind: token-class}
 *   - {name: word, kind: word-completion, words: [Parlement, Kommission]}   # one dataset per word: word:Parlement ...
 *   - {name: word-hard, kind: word-completion, words: [Commission], negatives: near-miss}  # "mission", "Kommission" as negatives
 * </pre>
 *
 * Document labels are Europarl's languages. Thread-safe once built.
 */
public final class DatasetRegistry {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Set<String> KINDS = Set.of("document-label", "position", "token-class", "word-completion");

  private final Map<String, TokenDataset> datasets;

  private DatasetRegistry(Map<String, TokenDataset> datasets) {
    this.datasets = Map.copyOf(datasets);
  }

  /** A registry with no datasets. */
  public static DatasetRegistry empty() {
    return new DatasetRegistry(Map.of());
  }

  /**
   * Reads every {@code *.yaml} file of {@code dirs} (missing directories are skipped), in name order.
   *
   * @throws ConfigException naming the file, the definition and the field when a definition is wrong
   *     or a name is defined twice
   */
  public static DatasetRegistry load(List<Path> dirs) {
    Map<String, TokenDataset> out = new LinkedHashMap<>();
    Map<String, Path> from = new LinkedHashMap<>();
    for (Path dir : dirs) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      List<Path> files;
      try (Stream<Path> s = Files.list(dir)) {
        files = s.filter(p -> p.getFileName().toString().endsWith(".yaml")).sorted().toList();
      } catch (IOException e) {
        throw new ConfigException("datasets", "cannot list " + dir + ": " + e.getMessage());
      }
      for (Path f : files) {
        for (TokenDataset d : read(f)) {
          if (out.containsKey(d.name())) {
            throw new ConfigException("datasets", "dataset '" + d.name() + "' is defined in " + from.get(d.name())
                + " and again in " + f);
          }
          out.put(d.name(), d);
          from.put(d.name(), f);
        }
      }
    }
    return new DatasetRegistry(out);
  }

  /** The datasets defined in one file. */
  static List<TokenDataset> read(Path file) {
    Object doc;
    try {
      doc = YAML.readValue(file.toFile(), Object.class);
    } catch (IOException e) {
      throw new ConfigException("datasets", file + ": not valid YAML: " + e.getMessage().split("\n")[0]);
    }
    if (!(doc instanceof Map<?, ?> m) || !(m.get("datasets") instanceof List<?> list)) {
      throw new ConfigException("datasets", file + ": expected a mapping with a list 'datasets'");
    }
    List<TokenDataset> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      String where = file + ": datasets[" + i + "]";
      if (!(list.get(i) instanceof Map<?, ?> def)) {
        throw new ConfigException("datasets", where + ": expected a mapping with name and kind");
      }
      out.addAll(define(def, where));
    }
    return out;
  }

  private static List<TokenDataset> define(Map<?, ?> def, String where) {
    String name = string(def, "name", where);
    String kind = string(def, "kind", where);
    if (!KINDS.contains(kind)) {
      throw new ConfigException("datasets", where + ".kind: '" + kind + "' is not a dataset kind; expected one of "
          + KINDS);
    }
    Set<String> allowed = switch (kind) {
      case "document-label" -> Set.of("name", "kind", "labels", "positive");
      case "position" -> Set.of("name", "kind", "buckets", "window");
      case "word-completion" -> Set.of("name", "kind", "word", "words", "negatives");
      default -> Set.of("name", "kind");
    };
    for (Object k : def.keySet()) {
      if (!allowed.contains(String.valueOf(k))) {
        throw new ConfigException("datasets", where + ": unknown key '" + k + "' for kind " + kind + "; expected "
            + allowed);
      }
    }
    try {
      return switch (kind) {
        case "document-label" -> {
          boolean rest = def.containsKey("positive");
          if (rest == def.containsKey("labels")) {
            throw new ConfigException("datasets", where + ": give either 'labels' (one class each) or 'positive'"
                + " (those against the rest)");
          }
          List<String> labels = strings(def, rest ? "positive" : "labels", where);
          yield List.of(new TokenDatasets.DocumentLabel(name, labels, rest, LanguageLabels.europarl()));
        }
        case "position" -> {
          List<String> raw = strings(def, "buckets", where);
          int[] edges = new int[raw.size()];
          for (int i = 0; i < edges.length; i++) {
            edges[i] = integer(raw.get(i), where + ".buckets[" + i + "]");
          }
          int window = def.containsKey("window") ? integer(String.valueOf(def.get("window")), where + ".window") : 0;
          yield List.of(new TokenDatasets.Position(name, edges, window));
        }
        case "token-class" -> List.of(new TokenDatasets.TokenClass(name));
        default -> {
          List<String> words = def.containsKey("words") ? strings(def, "words", where) : List.of(string(def, "word", where));
          String negatives = def.containsKey("negatives") ? string(def, "negatives", where) : "all";
          if (!negatives.equals("all") && !negatives.equals("near-miss")) {
            throw new ConfigException("datasets", where + ".negatives: '" + negatives + "'; expected all (the same "
                + "token anywhere else) or near-miss (the same token ending part of the word without completing it)");
          }
          List<TokenDataset> out = new ArrayList<>();
          for (String w : words) {
            out.add(new TokenDatasets.WordCompletion(words.size() == 1 && def.containsKey("word") ? name
                : name + ":" + w, w, negatives.equals("near-miss")));
          }
          yield out;
        }
      };
    } catch (IllegalArgumentException e) {
      throw new ConfigException("datasets", where + ": " + e.getMessage());
    }
  }

  private static String string(Map<?, ?> def, String key, String where) {
    Object v = def.get(key);
    if (!(v instanceof String s) || s.isBlank()) {
      throw new ConfigException("datasets", where + "." + key + ": expected a non-empty string, got " + v);
    }
    return s;
  }

  private static List<String> strings(Map<?, ?> def, String key, String where) {
    Object v = def.get(key);
    if (!(v instanceof List<?> l) || l.isEmpty()) {
      throw new ConfigException("datasets", where + "." + key + ": expected a non-empty list, got " + v);
    }
    return l.stream().map(String::valueOf).toList();
  }

  private static int integer(String v, String where) {
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException("datasets", where + ": expected an integer, got '" + v + "'");
    }
  }

  /** The dataset names, sorted. */
  public List<String> names() {
    return datasets.keySet().stream().sorted().toList();
  }

  /**
   * The dataset named {@code name}.
   *
   * @throws IllegalArgumentException naming it and listing the defined ones when there is none
   */
  public TokenDataset get(String name) {
    TokenDataset d = datasets.get(name);
    if (d == null) {
      throw new IllegalArgumentException("no dataset named '" + name + "'; defined: " + names()
          + " (add one to config/datasets/*.yaml)");
    }
    return d;
  }
}
