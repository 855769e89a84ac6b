package dev.loupe.core.node;

import dev.loupe.core.job.InputSpecs;
import dev.loupe.core.job.InputResolvers;
import dev.loupe.core.job.ResolvedInput;
import dev.loupe.core.store.ActivationStore;
import dev.loupe.core.stream.ActivationStreamConsumer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.activation.ForwardingActivationSource;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * The input kinds a job file may use beyond {@code synthetic}:
 * <ul>
 *   <li>{@code file: {path, tensor, batch_rows}}: a safetensors ([rows, width] tensor) or .npy file;</li>
 *   <li>{@code store: {path, shuffle, seed, batch_rows}}: an {@link ActivationStore} directory;</li>
 *   <li>{@code stream: {id, credits, wait_seconds}}: a live activation stream, on this node or another cluster node;</li>
 *   <li>{@code model: {model, corpus, hook, tokens, ctx, batch_rows}}: harvest a model on a corpus here.</li>
 * </ul>
 */
public final class NodeInputResolvers {
  static final ConfigSchema FILE = ConfigSchema.builder()
      .stringOption("path", null, "safetensors or .npy file")
      .stringOption("tensor", "values", "name of the [rows, width] tensor in a safetensors file")
      .intOption("batch_rows", 4096, 1, 1 << 20, "rows per batch")
      .build();
  static final ConfigSchema STORE = ConfigSchema.builder()
      .stringOption("path", null, "activation store directory (with manifest.json)")
      .boolOption("shuffle", false, "read shards and rows in a random order")
      .longOption("seed", 0L, null, null, "seed of the shuffle")
      .intOption("batch_rows", 4096, 1, 1 << 20, "rows per batch")
      .build();
  static final ConfigSchema STREAM = ConfigSchema.builder()
      .stringOption("id", null, "stream id (from a harvest)")
      .intOption("credits", StreamOptions.DEFAULT_CREDITS, 1, 1024, "batches buffered ahead of the reader")
      .intOption("wait_seconds", (int) StreamOptions.DEFAULT_SUBSCRIBE_TIMEOUT.toSeconds(), 1, 3600,
          "how long to wait for the stream's producer to answer")
      .build();
  static final ConfigSchema MODEL = ConfigSchema.builder()
      .stringOption("model", null, "model reference, e.g. tiny")
      .stringOption("corpus", "europarl", "corpus name or path")
      .stringOption("hook", null, "hook point, e.g. blocks.1.hook_resid_post")
      .longOption("tokens", 100_000L, 1L, null, "tokens to run through the model")
      .intOption("ctx", 128, 1, 1 << 16, "window length in tokens")
      .intOption("batch_rows", 1024, 1, 1 << 20, "rows per batch")
      .build();

  private NodeInputResolvers() {}

  /** The schema of an input kind's mapping ({@code file}, {@code store}, {@code stream}, {@code model}), if known. */
  public static java.util.Optional<ConfigSchema> schema(String kind) {
    return java.util.Optional.ofNullable(switch (kind) {
      case "file" -> FILE;
      case "store" -> STORE;
      case "stream" -> STREAM;
      case "model" -> MODEL;
      default -> null;
    });
  }

  /**
   * Registers {@code file} and {@code store}, and {@code stream} and {@code model} which use the
   * node services from {@code services} (asked for only when such an input is resolved).
   */
  public static InputResolvers register(InputResolvers resolvers, Supplier<NodeServices> services) {
    return resolvers
        .register("file", (name, spec) -> file(name, InputSpecs.validate(name, "file", FILE, spec)))
        .register("store", (name, spec) -> store(name, InputSpecs.validate(name, "store", STORE, spec)))
        .register("stream", (name, spec) -> stream(services.get(), name, InputSpecs.validate(name, "stream", STREAM, spec)))
        .register("model", (name, spec) -> model(services.get(), name, InputSpecs.validate(name, "model", MODEL, spec)))
        .registerShared(specs -> countModelInputs(specs) < 2 ? Map.of() : sharedModelInputs(services.get(), specs));
  }

  /** {@code path} of the spec, which must exist; errors name {@code inputs.NAME.KIND.path}. */
  private static Path existing(JobConfig c, String name, String kind) {
    Path p = Path.of(c.getString("path"));
    if (!Files.exists(p)) {
      throw new ConfigException(pathField(name, kind), "no such file or directory: " + p.toAbsolutePath());
    }
    return p;
  }

  private static String pathField(String name, String kind) {
    return "inputs." + name + "." + kind + ".path";
  }

  private static ResolvedInput file(String name, JobConfig c) {
    Path p = existing(c, name, "file");
    try {
      return new ResolvedInput(ActivationSources.fromFile(p, c.getString("tensor"), c.getInt("batch_rows")), null);
    } catch (IOException e) {
      throw new ConfigException(pathField(name, "file"), e.getMessage());
    }
  }

  private static ResolvedInput store(String name, JobConfig c) {
    Path p = existing(c, name, "store");
    try {
      ActivationStore store = ActivationStore.open(p);
      return new ResolvedInput(store.reader(c.getBoolean("shuffle"), c.getLong("seed"), c.getInt("batch_rows")), null);
    } catch (IOException e) {
      throw new ConfigException(pathField(name, "store"), e.getMessage());
    }
  }

  private static ResolvedInput stream(NodeServices node, String name, JobConfig c) {
    StreamOptions opts = new StreamOptions().setCredits(c.getInt("credits"))
        .setSubscribeTimeout(Duration.ofSeconds(c.getInt("wait_seconds")));
    String field = "inputs." + name + ".stream.id";
    try {
      ActivationSource src = ActivationStreamConsumer.subscribe(node.vertx(), c.getString("id"), opts)
          .toCompletionStage().toCompletableFuture().join();
      return new ResolvedInput(src, null);
    } catch (CompletionException e) {
      // No such stream, or it has ended: the id is what the user can fix.
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new ConfigException(field, cause.getMessage());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(field, e.getMessage());
    }
  }

  private static ResolvedInput model(NodeServices node, String name, JobConfig c) {
    return models(node, List.of(name), List.of(c)).get(name);
  }

  /**
   * Resolves the {@code model} inputs among {@code specs} that read the same model, corpus, token
   * count, window length and batch size at different hooks with one harvest, so the model runs
   * once for all of them (a transcoder's MLP input and output, a crosscoder over several layers);
   * their rows are then the same tokens in the same order. Inputs that share nothing are left
   * out of the result, for {@link InputResolvers#resolve} one by one.
   *
   * @throws ConfigException naming the field of a bad spec
   */
  public static Map<String, ResolvedInput> sharedModelInputs(NodeServices node, Map<String, Object> specs) {
    Map<List<Object>, List<String>> groups = new java.util.LinkedHashMap<>();
    Map<String, JobConfig> configs = new java.util.HashMap<>();
    for (Map.Entry<String, Object> e : specs.entrySet()) {
      if (e.getValue() instanceof Map<?, ?> m && m.size() == 1 && m.containsKey("model")) {
        JobConfig c = InputSpecs.validate(e.getKey(), "model", MODEL, stringKeys(m));
        configs.put(e.getKey(), c);
        List<Object> key = List.of(c.getString("model"), c.getString("corpus"), c.getLong("tokens"), c.getInt("ctx"),
            c.getInt("batch_rows"));
        groups.computeIfAbsent(key, k -> new java.util.ArrayList<>()).add(e.getKey());
      }
    }
    Map<String, ResolvedInput> out = new java.util.LinkedHashMap<>();
    try {
      for (List<String> names : groups.values()) {
        List<String> hooks = names.stream().map(n -> configs.get(n).getString("hook")).toList();
        if (names.size() > 1 && Set.copyOf(hooks).size() == hooks.size()) {
          out.putAll(models(node, names, names.stream().map(configs::get).toList()));
        }
      }
    } catch (RuntimeException e) {
      out.values().forEach(r -> r.source().close());
      throw e;
    }
    return out;
  }

  private static long countModelInputs(Map<String, Object> specs) {
    return specs.values().stream().filter(v -> v instanceof Map<?, ?> m && m.containsKey("model")).count();
  }

  private static Map<String, Object> stringKeys(Map<?, ?> m) {
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    m.forEach((k, v) -> out.put(String.valueOf(k), v));
    return out;
  }

  /** One harvest for inputs that differ only in their hook. */
  private static Map<String, ResolvedInput> models(NodeServices node, List<String> names, List<JobConfig> cs) {
    JobConfig c = cs.get(0);
    String field = "inputs." + names.get(0) + ".model.";
    String sessionId;
    try {
      sessionId = node.sessionFor(c.getString("model"));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(field + "model", e.getMessage());
    }
    List<String> hooks = cs.stream().map(x -> x.getString("hook")).toList();
    HarvestRequest req = new HarvestRequest(c.getString("corpus"), hooks, c.getLong("tokens"), c.getInt("ctx"),
        c.getInt("batch_rows"), 8, 1, 60);
    Harvest h;
    try {
      h = node.harvest(sessionId, req);
    } catch (ConfigException e) {
      String bad = e.getMessage();
      int which = 0;
      for (int i = 0; i < hooks.size(); i++) {
        if (bad.contains("'" + hooks.get(i) + "'")) {
          which = i;
        }
      }
      throw new ConfigException("inputs." + names.get(which) + ".model." + (e.field().startsWith("hooks") ? "hook"
          : e.field()), e.getMessage().replaceFirst("^'[^']*': ", ""));
    } catch (IllegalArgumentException e) {
      // The session exists (just opened or found), so the corpus is what could not be opened.
      throw new ConfigException(field + "corpus", e.getMessage());
    }
    Map<String, ResolvedInput> out = new java.util.LinkedHashMap<>();
    try {
      for (int i = 0; i < names.size(); i++) {
        ActivationSource src = ActivationStreamConsumer.subscribe(node.vertx(), h.streams().get(hooks.get(i)),
            new StreamOptions()).toCompletionStage().toCompletableFuture().join();
        out.put(names.get(i), new ResolvedInput(new HarvestOwningSource(src, h), node.session(sessionId).orElseThrow()));
      }
    } catch (RuntimeException e) {
      out.values().forEach(r -> r.source().close());
      h.cancel();
      throw e;
    }
    return out;
  }

  /**
   * The one reader of a harvest started for it: closing it (the job ended, was cancelled, or
   * was refused after its inputs opened) also stops the harvest, which would otherwise run the
   * model to the end of its tokens for nobody.
   */
  private static final class HarvestOwningSource extends ForwardingActivationSource {
    private final Harvest harvest;

    HarvestOwningSource(ActivationSource in, Harvest harvest) {
      super(in);
      this.harvest = harvest;
    }

    @Override
    public void close() {
      try {
        in.close();
      } finally {
        harvest.cancel();
      }
    }
  }

}
