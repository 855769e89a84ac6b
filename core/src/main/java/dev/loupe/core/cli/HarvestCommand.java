package dev.loupe.core.cli;

import dev.loupe.core.node.Harvest;
import dev.loupe.core.node.HarvestRequest;
import dev.loupe.core.node.HarvestService;
import dev.loupe.core.node.LazyLocalServices;
import dev.loupe.core.node.NodeServices;
import dev.loupe.core.node.StreamToStore;
import dev.loupe.core.store.StoreOptions;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.model.ModelInfo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe harvest}: runs a model over a corpus once and writes the activations of each
 * requested hook into its own activation store, for training and analysis that read them again.
 */
@Command(name = "harvest", mixinStandardHelpOptions = true,
    description = "Run a model over a corpus and save the activations of chosen hooks as activation stores.")
final class HarvestCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Option(names = "--model", required = true, paramLabel = "MODEL",
      description = "model reference: tiny, random-gpt2:<layers>x<d_model> or a Hugging Face model directory")
  String model;

  @Option(names = "--corpus", paramLabel = "CORPUS", description = "corpus reference: europarl, europarl:fr:train, a path ... (see `loupe corpus --help`; default: ${DEFAULT-VALUE})")
  String corpus = "europarl";

  @Option(names = "--hooks", required = true, split = ",", paramLabel = "HOOK,...",
      description = "hook names, e.g. blocks.1.hook_resid_post,blocks.1.mlp.hook_post")
  List<String> hooks;

  @Option(names = "--tokens", paramLabel = "N", description = "tokens to read (default: ${DEFAULT-VALUE})")
  long tokens = 100_000;

  @Option(names = "--ctx", paramLabel = "N", description = "window length in tokens (default: ${DEFAULT-VALUE})")
  int ctx = 128;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "directory; one store per hook inside it")
  Path out;

  @Option(names = "--dtype", paramLabel = "f32|f16|bf16", description = "stored precision (default: ${DEFAULT-VALUE})")
  String dtype = "f32";

  @Option(names = "--shard-rows", paramLabel = "N", description = "rows per shard (default: ${DEFAULT-VALUE})")
  int shardRows = StoreOptions.DEFAULT_SHARD_ROWS;

  @Override
  public Integer call() throws Exception {
    PrintWriter o = parent.spec.commandLine().getOut();
    PrintWriter err = parent.spec.commandLine().getErr();
    DType type = switch (dtype.toLowerCase(Locale.ROOT)) {
      case "f32" -> DType.F32;
      case "f16" -> DType.F16;
      case "bf16" -> DType.BF16;
      default -> throw new LoupeCli.CliException(LoupeCli.USAGE, "--dtype must be f32, f16 or bf16, got '" + dtype + "'");
    };
    if (shardRows <= 0) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--shard-rows must be > 0, got " + shardRows);
    }
    for (String hook : hooks) {
      Path dir = out.resolve(hook);
      if (Files.exists(dir.resolve("manifest.json"))) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--out: " + dir + " already holds an activation store; "
            + "choose another directory");
      }
    }
    StoreOptions opts = StoreOptions.defaults().dtype(type).shardRows(shardRows);
    long t0 = System.nanoTime();
    try (LazyLocalServices local = new LazyLocalServices("harvest")) {
      NodeServices node = local.get();
      String sessionId = node.open(model);
      ModelInfo info = node.session(sessionId).orElseThrow().info();
      Harvest h = node.harvest(sessionId, new HarvestRequest(corpus, hooks, tokens, ctx, 1024, 8, 1, 60));
      Map<String, CompletableFuture<Long>> writers = new LinkedHashMap<>();
      for (String hook : hooks) {
        int width = HarvestService.rowWidth(node.session(sessionId).orElseThrow(), hook);
        writers.put(hook, StreamToStore.start(node.vertx(), h.streams().get(hook), out.resolve(hook), info.id(), hook,
            width, opts));
      }
      HarvestProgress.follow(h, err, "harvest");
      List<String> lines = new ArrayList<>();
      for (Map.Entry<String, CompletableFuture<Long>> w : writers.entrySet()) {
        try {
          lines.add(String.format("  %-32s %,d rows -> %s", w.getKey(), w.getValue().get(), out.resolve(w.getKey())));
        } catch (ExecutionException e) {
          throw new LoupeCli.CliException(LoupeCli.JOB_FAILED, e.getCause().getMessage());
        }
      }
      if (h.state() != Harvest.State.DONE) {
        throw new LoupeCli.CliException(LoupeCli.JOB_FAILED, "harvest " + h.state() + ": " + h.message());
      }
      double s = (System.nanoTime() - t0) / 1e9;
      o.printf("harvested %,d tokens of %s with %s in %.1f s%n", h.tokensDone(), corpus, model, s);
      lines.forEach(o::println);
      o.flush();
      return LoupeCli.OK;
    }
  }
}
