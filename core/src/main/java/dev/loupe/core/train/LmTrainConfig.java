package dev.loupe.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code loupe train-lm} trains: the model (a fresh GPT-2 of a given shape, or an existing
 * model to fine-tune), the corpus, and the recipe (AdamW, linear warm-up then cosine decay,
 * gradient clipping). Read from YAML; every key is checked, and an unknown key, a wrong type or an
 * impossible value is an error naming the key.
 *
 * @param name the model's name (used for the output directory and the model card)
 * @param out the Hugging Face directory the trained model is written to
 * @param workDir checkpoints and metrics.jsonl
 * @param corpus corpus reference; training uses its train split, evaluation its validation split
 * @param init model reference to fine-tune, or null to train the {@code shape} from scratch
 * @param shape the architecture of a fresh model, or null with {@code init}
 */
public record LmTrainConfig(String name, Path out, Path workDir, String corpus, String init, Shape shape, long seed,
    int batchSize, int context, int steps, double lr, double minLr, int warmupSteps, double weightDecay, double beta1,
    double beta2, double eps, double gradClip, int evalEvery, int evalWindows, int checkpointEvery, List<String> samples,
    int sampleTokens, String source) {

  /** A fresh GPT-2: layers, d_model, heads, context (positions). */
  public record Shape(int layers, int dModel, int heads, int context) {}

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Set<String> KEYS = Set.of("name", "out", "work_dir", "corpus", "init", "model", "seed",
      "batch_size", "context", "steps", "lr", "min_lr", "warmup_steps", "weight_decay", "beta1", "beta2", "eps",
      "grad_clip", "eval_every", "eval_windows", "checkpoint_every", "samples", "sample_tokens");
  private static final Set<String> MODEL_KEYS = Set.of("architecture", "layers", "d_model", "heads", "context");

  /**
   * Reads a config file; relative paths in it are resolved against the working directory.
   *
   * @throws IllegalArgumentException naming the file and the key for any problem
   */
  public static LmTrainConfig read(Path file, Map<String, String> overrides) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read training config " + file + ": " + e.getMessage());
    }
    return parse(text, file.toString(), overrides);
  }

  /**
   * Parses YAML text; {@code overrides} ({@code key=value}, dotted for model keys) replace values.
   *
   * @throws IllegalArgumentException naming {@code where} and the key for any problem
   */
  public static LmTrainConfig parse(String text, String where, Map<String, String> overrides) {
    JsonNode root;
    try {
      root = YAML.readTree(text);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(where + " is not valid YAML: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new IllegalArgumentException(where + " cannot be read: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(where + " must be a YAML mapping of training settings");
    }
    ObjectNode o = (ObjectNode) root;
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      String k = e.getKey();
      if (k.startsWith("model.")) {
        JsonNode m = o.get("model");
        ObjectNode mo = m instanceof ObjectNode mm ? mm : o.putObject("model");
        mo.set(k.substring(6), YAML.valueToTree(scalar(e.getValue())));
      } else {
        o.set(k, YAML.valueToTree(scalar(e.getValue())));
      }
    }
    Fields f = new Fields(o, where, "");
    f.only(KEYS);
    String name = f.string("name", null);
    if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
      throw new IllegalArgumentException(where + ": 'name' is required: letters, digits, '.', '_' or '-' (got "
          + (name == null ? "nothing" : "'" + name + "'") + ")");
    }
    String init = f.string("init", null);
    Shape shape = null;
    JsonNode model = o.get("model");
    if (model != null && !model.isNull()) {
      if (!model.isObject()) {
        throw new IllegalArgumentException(where + ": 'model' must be a mapping (architecture, layers, d_model, heads, context)");
      }
      Fields m = new Fields((ObjectNode) model, where, "model.");
      m.only(MODEL_KEYS);
      String arch = m.string("architecture", "gpt2");
      if (!arch.equals("gpt2")) {
        throw new IllegalArgumentException(where + ": 'model.architecture' must be gpt2 (the architecture train-lm builds), got '"
            + arch + "'");
      }
      int dModel = m.integer("d_model", null, 8, 4096);
      int heads = m.integer("heads", Math.max(1, dModel / 64), 1, 256);
      if (dModel % heads != 0) {
        throw new IllegalArgumentException(where + ": 'model.d_model' (" + dModel + ") must be divisible by 'model.heads' ("
            + heads + ")");
      }
      shape = new Shape(m.integer("layers", null, 1, 128), dModel, heads, m.integer("context", 256, 8, 8192));
    }
    if ((shape == null) == (init == null)) {
      throw new IllegalArgumentException(where + ": give exactly one of 'model' (train a fresh GPT-2) and 'init' (fine-tune "
          + "an existing model)");
    }
    int context = f.integer("context", shape != null ? shape.context() : 256, 8, 8192);
    if (shape != null && context > shape.context()) {
      throw new IllegalArgumentException(where + ": 'context' (" + context + ") exceeds 'model.context' (" + shape.context() + ")");
    }
    double lr = f.number("lr", 1e-3, 0, 10);
    int steps = f.integer("steps", null, 1, 100_000_000);
    List<String> samples = new ArrayList<>();
    JsonNode s = o.get("samples");
    if (s != null && !s.isNull()) {
      if (!s.isArray()) {
        throw new IllegalArgumentException(where + ": 'samples' must be a list of prompts");
      }
      for (JsonNode p : s) {
        if (!p.isTextual() || p.asText().isEmpty()) {
          throw new IllegalArgumentException(where + ": every entry of 'samples' must be a non-empty string");
        }
        samples.add(p.asText());
      }
    }
    int warmup = f.integer("warmup_steps", Math.min(100, steps / 10), 0, steps);
    return new LmTrainConfig(name, Path.of(f.string("out", "models/" + name)),
        Path.of(f.string("work_dir", "runs/train-" + name)), f.string("corpus", "europarl"), init, shape,
        f.longInt("seed", 0L), f.integer("batch_size", 16, 1, 65536), context, steps, lr,
        f.number("min_lr", lr / 10, 0, lr), warmup, f.number("weight_decay", 0.1, 0, 10),
        f.number("beta1", 0.9, 0, 0.999999), f.number("beta2", 0.95, 0, 0.999999999), f.number("eps", 1e-8, 1e-12, 1),
        f.number("grad_clip", 1.0, 0, 1e6), f.integer("eval_every", Math.max(1, steps / 20), 1, Integer.MAX_VALUE),
        f.integer("eval_windows", 64, 1, 1_000_000), f.integer("checkpoint_every", Math.max(1, steps / 20), 1,
            Integer.MAX_VALUE), List.copyOf(samples), f.integer("sample_tokens", 160, 0, 8192), text);
  }

  /** Learning rate at a step (0-based): linear warm-up, then cosine decay to {@code minLr} at the last step. */
  public double lrAt(long step) {
    if (step < warmupSteps) {
      return lr * (step + 1) / warmupSteps;
    }
    double progress = steps <= warmupSteps ? 1 : (double) (step - warmupSteps) / (steps - warmupSteps);
    progress = Math.min(1, Math.max(0, progress));
    return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
  }

  private static Object scalar(String v) {
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      // not an integer
    }
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      return v;
    }
  }

  /** Typed, range-checked access to the keys of one mapping. */
  private static final class Fields {
    private final ObjectNode node;
    private final String where;
    private final String prefix;

    Fields(ObjectNode node, String where, String prefix) {
      this.node = node;
      this.where = where;
      this.prefix = prefix;
    }

    void only(Set<String> keys) {
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (!keys.contains(k)) {
          throw new IllegalArgumentException(where + ": unknown key '" + prefix + k + "'; expected one of "
              + new java.util.TreeSet<>(keys));
        }
      }
    }

    String string(String key, String dflt) {
      JsonNode n = node.get(key);
      if (n == null || n.isNull()) {
        return dflt;
      }
      if (!n.isValueNode() || n.asText().isBlank()) {
        throw new IllegalArgumentException(where + ": '" + prefix + key + "' must be a non-empty string, got " + n);
      }
      return n.asText();
    }

    int integer(String key, Integer dflt, int min, int max) {
      return Math.toIntExact(longValue(key, dflt == null ? null : dflt.longValue(), min, max));
    }

    long longInt(String key, Long dflt) {
      return longValue(key, dflt, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    private long longValue(String key, Long dflt, long min, long max) {
      JsonNode n = node.get(key);
      if (n == null || n.isNull()) {
        if (dflt == null) {
          throw new IllegalArgumentException(where + ": '" + prefix + key + "' is required (an integer)");
        }
        return dflt;
      }
      if (!n.isIntegralNumber()) {
        throw new IllegalArgumentException(where + ": '" + prefix + key + "' must be an integer, got " + n);
      }
      long v = n.asLong();
      if (v < min || v > max) {
        throw new IllegalArgumentException(where + ": '" + prefix + key + "' must be in [" + min + ", " + max + "], got " + v);
      }
      return v;
    }

    double number(String key, double dflt, double min, double max) {
      JsonNode n = node.get(key);
      if (n == null || n.isNull()) {
        return dflt;
      }
      double v;
      if (n.isNumber()) {
        v = n.asDouble();
      } else if (n.isTextual()) {
        // YAML 1.1 reads 3e-4 (no dot) as a string; accept it as the number it plainly is.
        try {
          v = Double.parseDouble(n.asText());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(where + ": '" + prefix + key + "' must be a number, got " + n);
        }
      } else {
        throw new IllegalArgumentException(where + ": '" + prefix + key + "' must be a number, got " + n);
      }
      if (!(v >= min && v <= max)) {
        throw new IllegalArgumentException(where + ": '" + prefix + key + "' must be in [" + min + ", " + max + "], got " + v);
      }
      return v;
    }
  }
}
