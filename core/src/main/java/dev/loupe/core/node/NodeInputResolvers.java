package dev.loupe.core.node;

import dev.loupe.core.job.InputSpecs;
import dev.loupe.core.job.InputResolvers;
import dev.loupe.core.job.ResolvedInput;
import dev.loupe.core.store.ActivationStore;
import dev.loupe.core.stream.ActivationStreamConsumer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The input kinds a job file may use beyond {@code synthetic}:
 * <ul>
 *   <li>{@code file: {path, tensor, batch_rows}}: a safetensors ([rows, width] tensor) or .npy file;</li>
 *   <li>{@code store: {path, shuffle, seed, batch_rows}}: an {@link ActivationStore} directory;</li>
 *   <li>{@code stream: {id, credits}}: a live activation stream, on this node or another cluster node;</li>
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

  /**
   * Registers {@code file} and {@code store}, and {@code stream} and {@code model} which use the
   * node services from {@code services} (asked for only when such an input is resolved).
   */
  public static InputResolvers register(InputResolvers resolvers, Supplier<NodeServices> services) {
    return resolvers
        .register("file", (name, spec) -> file(InputSpecs.validate(name, "file", FILE, spec)))
        .register("store", (name, spec) -> store(InputSpecs.validate(name, "store", STORE, spec)))
        .register("stream", (name, spec) -> stream(services.get(), InputSpecs.validate(name, "stream", STREAM, spec)))
        .register("model", (name, spec) -> model(services.get(), name, InputSpecs.validate(name, "model", MODEL, spec)));
  }

  private static Path existing(JobConfig c, String field) {
    Path p = Path.of(c.getString("path"));
    if (!Files.exists(p)) {
      throw new ConfigException(field + ".path", "no such file or directory: " + p.toAbsolutePath());
    }
    return p;
  }

  private static ResolvedInput file(JobConfig c) {
    Path p = existing(c, "file");
    try {
      return new ResolvedInput(ActivationSources.fromFile(p, c.getString("tensor"), c.getInt("batch_rows")), null);
    } catch (IOException e) {
      throw new ConfigException("file.path", e.getMessage());
    }
  }

  private static ResolvedInput store(JobConfig c) {
    Path p = existing(c, "store");
    try {
      ActivationStore store = ActivationStore.open(p);
      return new ResolvedInput(store.reader(c.getBoolean("shuffle"), c.getLong("seed"), c.getInt("batch_rows")), null);
    } catch (IOException e) {
      throw new ConfigException("store.path", e.getMessage());
    }
  }

  private static ResolvedInput stream(NodeServices node, JobConfig c) {
    StreamOptions opts = new StreamOptions().setCredits(c.getInt("credits"));
    ActivationSource src = ActivationStreamConsumer.subscribe(node.vertx(), c.getString("id"), opts)
        .toCompletionStage().toCompletableFuture().join();
    return new ResolvedInput(src, null);
  }

  private static ResolvedInput model(NodeServices node, String name, JobConfig c) {
    String sessionId = node.sessionFor(c.getString("model"));
    HarvestRequest req = new HarvestRequest(c.getString("corpus"), List.of(c.getString("hook")), c.getLong("tokens"),
        c.getInt("ctx"), c.getInt("batch_rows"), 8, 1, 60);
    Harvest h;
    try {
      h = node.harvest(sessionId, req);
    } catch (ConfigException e) {
      throw new ConfigException("inputs." + name + ".model." + (e.field().startsWith("hooks") ? "hook" : e.field()),
          e.getMessage().replaceFirst("^'[^']*': ", ""));
    }
    String streamId = h.streams().get(c.getString("hook"));
    ActivationSource src = ActivationStreamConsumer.subscribe(node.vertx(), streamId, new StreamOptions())
        .toCompletionStage().toCompletableFuture().join();
    return new ResolvedInput(src, node.session(sessionId).orElseThrow());
  }
}
