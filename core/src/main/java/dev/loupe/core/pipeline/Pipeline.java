package dev.loupe.core.pipeline;

import dev.loupe.core.plugin.MethodCatalog;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.method.MethodInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pipeline: named variables and a sequence of steps, each of one kind:
 *
 * <pre>
 * name: sae-demo
 * vars: {model: demo, tokens: 200000}          # ${model}; --set tokens=50000 overrides
 * steps:
 *   - id: acts                                  # outputs: ${steps.acts.dir} (one store per hook inside)
 *     harvest: {model: "${model}", corpus: "europarl:shuffled", hooks: [blocks.2.hook_resid_post], tokens: "${tokens}"}
 *   - id: sae                                   # outputs: ${steps.sae.dir} (the job's artifact directory)
 *     job:
 *       method: sae
 *       config: {activation: topk, k: 16, expansion: 4, batch_size: 1024}
 *       inputs: {main: {store: {path: "${steps.acts.dir}/blocks.2.hook_resid_post"}}}
 *   - id: check                                 # outputs: ${steps.check.file} (its JSON)
 *     eval: {coder: "${steps.sae.dir}/sae", model: "${model}", corpus: "europarl:test", tokens: 20000}
 *   - id: report                                # outputs: ${steps.report.file} (report.html)
 *     report: {title: SAE on the demo model}
 * </pre>
 *
 * Validation ({@link #validate}) checks the whole file before anything runs: step kinds and their
 * fields and types, unique ids, methods and their config (after variables are substituted),
 * input kinds, and that every reference names a variable or an earlier step's output.
 */
public final class Pipeline {
  /** Step kinds and the outputs each leaves for later steps. */
  static final Map<String, Set<String>> KINDS = Map.of(
      "harvest", Set.of("dir", "tokens"),
      "job", Set.of("dir", "id"),
      "eval", Set.of("file"),
      "report", Set.of("file"));
  private static final Set<String> TOP = Set.of("name", "description", "vars", "steps");
  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
  private static final Pattern REF = Pattern.compile("\\$\\{([^}]*)}");

  static final ConfigSchema HARVEST = ConfigSchema.builder()
      .stringOption("model", null, "model reference")
      .stringOption("corpus", "europarl", "corpus reference")
      .stringListOption("hooks", null, "hook names; one activation store each")
      .longOption("tokens", 100_000L, 1L, null, "tokens to run through the model")
      .intOption("ctx", 128, 1, 1 << 16, "window length in tokens")
      .enumOption("dtype", "f32", List.of("f32", "f16", "bf16"), "stored precision")
      .build();
  static final ConfigSchema EVAL = ConfigSchema.builder()
      .stringOption("coder", null, "directory of a coder in the SAELens layout (an SAE or transcoder)")
      .stringOption("model", null, "model reference")
      .stringOption("hook", "", "hook to read (default: the coder's hook_name)")
      .stringOption("hook_out", "", "for a transcoder, the hook it replaces (default: its hook_name_out)")
      .stringOption("corpus", "europarl:test", "corpus reference")
      .longOption("tokens", 20_000L, 2L, null, "tokens to evaluate on")
      .intOption("splice_windows", 64, 0, null, "windows run with the coder spliced in (0: skip)")
      .build();
  static final ConfigSchema REPORT = ConfigSchema.builder()
      .stringOption("title", "", "the report's title (default: the pipeline's name)")
      .build();

  /** One step as written: its id, kind, body and where it is in the file. */
  record Step(int index, String id, String kind, Map<String, Object> body) {
    String path() {
      return "steps[" + index + "]";
    }
  }

  final PipelineFile file;
  final String name;
  final String description;
  final Map<String, Object> vars;
  final List<Step> steps;

  private Pipeline(PipelineFile file, String name, String description, Map<String, Object> vars, List<Step> steps) {
    this.file = file;
    this.name = name;
    this.description = description;
    this.vars = vars;
    this.steps = steps;
  }

  /** The pipeline's name (its file name when it gives none). */
  public String name() {
    return name;
  }

  /** How many steps it has. */
  public int stepCount() {
    return steps.size();
  }

  /**
   * Reads and checks the structure of a pipeline file, with {@code overrides} ({@code --set
   * name=value}) replacing variables.
   *
   * @throws PipelineException naming file, line and field
   */
  public static Pipeline read(Path path, Map<String, Object> overrides) {
    PipelineFile f = PipelineFile.read(path);
    for (String k : f.root.keySet()) {
      if (!TOP.contains(k)) {
        throw f.error(k, "unknown key; expected one of " + TOP);
      }
    }
    String name = f.root.get("name") instanceof String s ? s : stem(path);
    if (!ID.matcher(name).matches()) {
      throw f.error("name", "'" + name + "' must be lower-case letters, digits, '-' or '_'");
    }
    String description = f.root.get("description") instanceof String s ? s : "";
    Map<String, Object> vars = new LinkedHashMap<>();
    Object rawVars = f.root.get("vars");
    if (rawVars != null && !(rawVars instanceof Map<?, ?>)) {
      throw f.error("vars", "expected a mapping of variable names to values");
    }
    if (rawVars instanceof Map<?, ?> m) {
      m.forEach((k, v) -> vars.put(String.valueOf(k), v));
    }
    for (Map.Entry<String, Object> o : overrides.entrySet()) {
      String k = o.getKey().startsWith("vars.") ? o.getKey().substring(5) : o.getKey();
      if (!vars.containsKey(k)) {
        throw new PipelineException("--set " + o.getKey() + ": no variable '" + k + "' in " + path + "; it defines "
            + vars.keySet());
      }
      vars.put(k, o.getValue());
    }
    if (!(f.root.get("steps") instanceof List<?> rawSteps) || rawSteps.isEmpty()) {
      throw f.error("steps", "expected a non-empty list of steps");
    }
    List<Step> steps = new ArrayList<>();
    Set<String> ids = new LinkedHashSet<>();
    for (int i = 0; i < rawSteps.size(); i++) {
      String p = "steps[" + i + "]";
      if (!(rawSteps.get(i) instanceof Map<?, ?> m)) {
        throw f.error(p, "expected a mapping with an id and one step kind " + KINDS.keySet());
      }
      Map<String, Object> step = new LinkedHashMap<>();
      m.forEach((k, v) -> step.put(String.valueOf(k), v));
      if (!(step.get("id") instanceof String id) || !ID.matcher(id).matches()) {
        throw f.error(p + ".id", "each step needs an id of lower-case letters, digits, '-' or '_', got "
            + step.get("id"));
      }
      if (!ids.add(id)) {
        throw f.error(p + ".id", "'" + id + "' is the id of an earlier step too");
      }
      List<String> kinds = step.keySet().stream().filter(k -> !k.equals("id")).toList();
      if (kinds.size() != 1 || !KINDS.containsKey(kinds.get(0))) {
        throw f.error(p, "expected exactly one step kind of " + KINDS.keySet() + " beside the id, found " + kinds);
      }
      String kind = kinds.get(0);
      if (!(step.get(kind) instanceof Map<?, ?> body)) {
        throw f.error(p + "." + kind, "expected a mapping of the step's fields");
      }
      Map<String, Object> b = new LinkedHashMap<>();
      body.forEach((k, v) -> b.put(String.valueOf(k), v));
      steps.add(new Step(i, id, kind, b));
    }
    return new Pipeline(f, name, description, vars, steps);
  }

  private static String stem(Path path) {
    String n = path.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return (dot > 0 ? n.substring(0, dot) : n).toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_-]", "-");
  }

  /**
   * Checks every step before anything runs: its fields against its kind's schema, its references,
   * and for jobs the method, its config and the input kinds.
   *
   * @param inputKinds the input kinds job files may use (e.g. model, store, file, stream)
   * @throws PipelineException naming file, line and field
   */
  public void validate(MethodCatalog plugins, List<String> inputKinds) {
    Map<String, Set<String>> produced = new LinkedHashMap<>();
    for (Step s : steps) {
      String p = s.path() + "." + s.kind();
      checkReferences(s.body, p, produced);
      // variables are known now; step outputs only when the step runs, so they validate as placeholders
      Map<String, Object> body = substitute(s.body, p, vars, Map.of(), true);
      if (s.kind().equals("job")) {
        validateJob(s, body, p, plugins, inputKinds);
      } else {
        ConfigSchema schema = switch (s.kind()) {
          case "harvest" -> HARVEST;
          case "eval" -> EVAL;
          default -> REPORT;
        };
        try {
          schema.validate(body);
        } catch (ConfigException e) {
          throw file.error(p + (e.field().isEmpty() ? "" : "." + e.field()),
              e.getMessage().replaceFirst("^'[^']*': ", ""));
        }
      }
      produced.put(s.id(), KINDS.get(s.kind()));
    }
  }

  private void validateJob(Step s, Map<String, Object> body, String p, MethodCatalog plugins, List<String> inputKinds) {
    for (String k : body.keySet()) {
      if (!Set.of("method", "config", "inputs").contains(k)) {
        throw file.error(p + "." + k, "unknown key; a job step has method, config and inputs");
      }
    }
    if (!(body.get("method") instanceof String method) || method.isBlank()) {
      throw file.error(p + ".method", "expected the id of an analysis method (see `loupe plugins`)");
    }
    for (String k : List.of("config", "inputs")) {
      if (body.get(k) != null && !(body.get(k) instanceof Map<?, ?>)) {
        throw file.error(p + "." + k, "expected a mapping");
      }
    }
    MethodInfo info;
    try {
      info = plugins.method(method).info();
    } catch (RuntimeException e) {
      throw file.error(p + ".method", e.getMessage());
    }
    Map<String, Object> config = asMap(body.get("config"));
    if (containsReference(s.body.get("config"))) {
      throw file.error(p + ".config", "a job's config may use variables but not step outputs (they are known only "
          + "when the step runs); pass paths through its inputs");
    }
    try {
      info.config().validate(config);
    } catch (ConfigException e) {
      throw file.error(p + ".config." + e.field(), e.getMessage().replaceFirst("^'[^']*': ", ""));
    }
    Map<String, Object> inputs = asMap(body.get("inputs"));
    if (!info.anyInputs()) {
      for (String needed : info.inputs()) {
        if (!inputs.containsKey(needed)) {
          throw file.error(p + ".inputs", "method '" + method + "' reads input" + (info.inputs().size() > 1 ? "s " : " ")
              + info.inputs() + "; '" + needed + "' is missing");
        }
      }
      for (String given : inputs.keySet()) {
        if (!info.inputs().contains(given)) {
          throw file.error(p + ".inputs." + given, "method '" + method + "' reads " + info.inputs() + ", not '"
              + given + "'");
        }
      }
    } else if (inputs.isEmpty()) {
      throw file.error(p + ".inputs", "method '" + method + "' needs at least one input");
    }
    for (Map.Entry<String, Object> in : inputs.entrySet()) {
      if (!(in.getValue() instanceof Map<?, ?> spec) || spec.size() != 1
          || !inputKinds.contains(String.valueOf(spec.keySet().iterator().next()))) {
        throw file.error(p + ".inputs." + in.getKey(), "expected a mapping with one input kind of " + inputKinds
            + ", e.g. {store: {path: ...}}");
      }
      // the kind's own fields and their types (step outputs stand in as placeholder strings)
      String kind = String.valueOf(spec.keySet().iterator().next());
      Object fields = spec.values().iterator().next();
      String at = p + ".inputs." + in.getKey() + "." + kind;
      java.util.Optional<ConfigSchema> schema = dev.loupe.core.node.NodeInputResolvers.schema(kind);
      if (schema.isPresent()) {
        if (!(fields instanceof Map<?, ?>)) {
          throw file.error(at, "expected a mapping of the " + kind + " input's fields");
        }
        try {
          schema.get().validate(asMap(fields));
        } catch (ConfigException e) {
          throw file.error(at + (e.field().isEmpty() ? "" : "." + e.field()), e.getMessage().replaceFirst("^'[^']*': ", ""));
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> asMap(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : new LinkedHashMap<>();
  }

  private static boolean containsReference(Object o) {
    if (o instanceof String s) {
      Matcher m = REF.matcher(s);
      while (m.find()) {
        if (m.group(1).trim().startsWith("steps.")) {
          return true;
        }
      }
      return false;
    }
    if (o instanceof Map<?, ?> m) {
      return m.values().stream().anyMatch(Pipeline::containsReference);
    }
    if (o instanceof List<?> l) {
      return l.stream().anyMatch(Pipeline::containsReference);
    }
    return false;
  }

  /** Every ${...} in {@code o} names a variable or an output of a step in {@code produced}. */
  private void checkReferences(Object o, String path, Map<String, Set<String>> produced) {
    if (o instanceof String s) {
      Matcher m = REF.matcher(s);
      while (m.find()) {
        String ref = m.group(1).trim();
        if (ref.startsWith("steps.")) {
          String[] parts = ref.split("\\.", 3);
          if (parts.length != 3) {
            throw file.error(path, "reference ${" + ref + "} must be ${steps.ID.OUTPUT}");
          }
          Set<String> outputs = produced.get(parts[1]);
          if (outputs == null) {
            boolean later = steps.stream().anyMatch(st -> st.id().equals(parts[1]));
            throw file.error(path, "${" + ref + "} names " + (later ? "step '" + parts[1] + "', which runs later"
                : "no step '" + parts[1] + "'") + "; earlier steps: " + produced.keySet());
          }
          if (!outputs.contains(parts[2])) {
            throw file.error(path, "${" + ref + "}: step '" + parts[1] + "' leaves " + outputs + ", not '" + parts[2] + "'");
          }
        } else {
          String var = ref.startsWith("vars.") ? ref.substring(5) : ref;
          if (!vars.containsKey(var)) {
            throw file.error(path, "${" + ref + "} names no variable; the pipeline defines " + vars.keySet());
          }
        }
      }
    } else if (o instanceof Map<?, ?> m) {
      m.forEach((k, v) -> checkReferences(v, path + "." + k, produced));
    } else if (o instanceof List<?> l) {
      for (int i = 0; i < l.size(); i++) {
        checkReferences(l.get(i), path + "[" + i + "]", produced);
      }
    }
  }

  /**
   * {@code o} with every ${...} replaced: a string that is exactly one reference takes the value's
   * own type (so {@code tokens: "${tokens}"} stays a number); references inside longer strings are
   * pasted as text. With {@code placeholders}, step outputs not yet known become "<steps.ID.OUTPUT>".
   */
  static Map<String, Object> substitute(Map<String, Object> o, String path, Map<String, Object> vars,
      Map<String, Map<String, Object>> outputs, boolean placeholders) {
    Map<String, Object> out = new LinkedHashMap<>();
    o.forEach((k, v) -> out.put(k, substituteValue(v, vars, outputs, placeholders)));
    return out;
  }

  private static Object substituteValue(Object v, Map<String, Object> vars, Map<String, Map<String, Object>> outputs,
      boolean placeholders) {
    if (v instanceof String s) {
      Matcher whole = REF.matcher(s);
      if (whole.matches()) {
        return lookup(whole.group(1).trim(), vars, outputs, placeholders);
      }
      Matcher m = REF.matcher(s);
      StringBuilder sb = new StringBuilder();
      while (m.find()) {
        m.appendReplacement(sb, Matcher.quoteReplacement(String.valueOf(lookup(m.group(1).trim(), vars, outputs,
            placeholders))));
      }
      m.appendTail(sb);
      return sb.toString();
    }
    if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put(String.valueOf(k), substituteValue(x, vars, outputs, placeholders)));
      return out;
    }
    if (v instanceof List<?> l) {
      return l.stream().map(x -> substituteValue(x, vars, outputs, placeholders)).toList();
    }
    return v;
  }

  private static Object lookup(String ref, Map<String, Object> vars, Map<String, Map<String, Object>> outputs,
      boolean placeholders) {
    if (ref.startsWith("steps.")) {
      String[] parts = ref.split("\\.", 3);
      Map<String, Object> o = outputs.get(parts[1]);
      if (o == null || !o.containsKey(parts[2])) {
        if (placeholders) {
          return "<" + ref + ">";
        }
        throw new PipelineException("${" + ref + "} has no value yet");
      }
      return o.get(parts[2]);
    }
    return vars.get(ref.startsWith("vars.") ? ref.substring(5) : ref);
  }
}
