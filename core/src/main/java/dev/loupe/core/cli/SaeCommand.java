package dev.loupe.core.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.hub.HfHub;
import dev.loupe.core.hub.HubOptions;
import dev.loupe.core.hub.HubRef;
import dev.loupe.core.coder.CoderEvaluation;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe sae info REF} and {@code loupe sae eval REF --model M}: open a sparse autoencoder in
 * the SAELens layout (trained here, or by SAELens and found in a directory or the Hugging Face
 * cache) and measure it on a model and corpus as SAELens's evaluation does: FVE, MSE, L0, dead
 * latents, and the next-token loss with the SAE spliced in (loss recovered, KL).
 */
@Command(name = "sae", mixinStandardHelpOptions = true,
    description = {"Inspect and evaluate sparse autoencoders in the SAELens layout (cfg.json + sae_weights.safetensors).",
        "",
        "SAE references (REF):",
        "  DIR                              a directory with cfg.json and sae_weights.safetensors",
        "                                   (e.g. the sae/ folder of a `loupe job sae` run)",
        "  hf:ORG/NAME[/FOLDER...][@REV]    a repository (and folder in it) already in the Hugging",
        "                                   Face cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)"},
    subcommands = {SaeCommand.Info.class, SaeCommand.Eval.class})
final class SaeCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @ParentCommand
  LoupeCli parent;

  @Override
  public Integer call() {
    parent.spec.commandLine().getSubcommands().get("sae").usage(parent.spec.commandLine().getErr());
    return LoupeCli.USAGE;
  }

  /** The directory an SAE reference names, with the Hugging Face cache of this process's environment. */
  static Path resolve(String ref) {
    return resolve(ref, HubOptions.fromEnvironment());
  }

  /** The directory an SAE reference names; hf: references are looked up in {@code hub}'s cache only. */
  static Path resolve(String ref, HubOptions hub) {
    if (!ref.startsWith(HubRef.PREFIX)) {
      Path dir = Path.of(ref);
      if (!Files.isDirectory(dir)) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "SAE reference '" + ref + "' is neither a directory nor "
            + "hf:ORG/NAME[/FOLDER][@REV]");
      }
      return dir;
    }
    String body = ref.substring(HubRef.PREFIX.length());
    int at = body.lastIndexOf('@');
    String path = at < 0 ? body : body.substring(0, at);
    String revision = at < 0 ? HubRef.DEFAULT_REVISION : body.substring(at + 1);
    String[] parts = path.split("/", 3);
    if (parts.length < 2) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "SAE reference '" + ref
          + "' needs a repository: hf:ORG/NAME[/FOLDER][@REV]");
    }
    HubRef repo;
    try {
      repo = new HubRef(parts[0] + "/" + parts[1], revision);
    } catch (IllegalArgumentException e) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "SAE reference '" + ref + "': " + e.getMessage());
    }
    HfHub cache = new HfHub(hub);
    Path snapshot = cache.cachedSnapshot(repo).orElseThrow(() -> new LoupeCli.CliException(LoupeCli.USAGE,
        "SAE reference '" + ref + "': " + repo + " is not in the Hugging Face cache at "
            + cache.options().cacheRoot() + "; download it there (e.g. with huggingface-cli) or pass a directory"));
    Path dir = parts.length == 3 ? snapshot.resolve(parts[2]).normalize() : snapshot;
    if (!dir.startsWith(snapshot) || !Files.isDirectory(dir)) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "SAE reference '" + ref + "': the cached snapshot " + snapshot
          + " has no folder '" + (parts.length == 3 ? parts[2] : "") + "'");
    }
    return dir;
  }

  static SparseCoderFiles.Loaded load(String ref, NDManager manager) {
    Path dir = resolve(ref);
    try {
      return SparseCoderFiles.load(manager, dir);
    } catch (IOException e) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "cannot open SAE '" + ref + "': " + e.getMessage());
    }
  }

  static String fmt(Object v) {
    return v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v);
  }

  static void print(PrintWriter out, boolean json, Map<String, Object> result) throws IOException {
    if (json) {
      out.println(JSON.writeValueAsString(result));
    } else {
      int width = result.keySet().stream().mapToInt(String::length).max().orElse(0);
      result.forEach((k, v) -> out.printf(Locale.ROOT, "%-" + width + "s  %s%n", k, fmt(v)));
    }
    out.flush();
  }

  @Command(name = "info", mixinStandardHelpOptions = true,
      description = "Architecture, sizes, hook and model of an SAE, and its decoder norms.")
  static final class Info implements Callable<Integer> {
    @ParentCommand
    SaeCommand sae;

    @Parameters(index = "0", paramLabel = "REF", description = "SAE directory or hf:ORG/NAME[/FOLDER][@REV]")
    String ref;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
      try (NDManager m = NDManager.newBaseManager()) {
        SparseCoderFiles.Loaded loaded = load(ref, m);
        SparseCoder c = loaded.coder();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("directory", resolve(ref).toString());
        out.put("architecture", c.activation().architecture());
        out.put("activation", c.activation().name());
        out.put("d_in", c.dIn());
        out.put("d_sae", c.dSae());
        out.put("model", loaded.info().modelName());
        out.put("hook", loaded.info().hookName());
        out.put("apply_b_dec_to_input", c.applyBDecToInput());
        out.put("input_scale", (double) c.inputScale());
        float[] norms = c.wDec().norm(new int[] {1}).toType(DataType.FLOAT32, false).toFloatArray();
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        double sum = 0;
        for (float n : norms) {
          min = Math.min(min, n);
          max = Math.max(max, n);
          sum += n;
        }
        out.put("decoder_norm_min", min);
        out.put("decoder_norm_mean", sum / norms.length);
        out.put("decoder_norm_max", max);
        out.put("has_sparsity", loaded.logFeatureSparsity() != null);
        print(sae.parent.spec.commandLine().getOut(), json, out);
        return LoupeCli.OK;
      }
    }
  }

  @Command(name = "eval", mixinStandardHelpOptions = true,
      description = {"Run a model over a corpus and measure an SAE at its hook: FVE, MSE, L0, dead and dense latents,",
          "and (causal models) the next-token loss clean, with the SAE spliced in, and with the hook zero-ablated."})
  static final class Eval implements Callable<Integer> {
    @ParentCommand
    SaeCommand sae;

    @Parameters(index = "0", paramLabel = "REF", description = "SAE directory or hf:ORG/NAME[/FOLDER][@REV]")
    String ref;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "model reference (e.g. demo)")
    String model;

    @Option(names = "--hook", paramLabel = "HOOK", description = "hook to read (default: the SAE's cfg.json hook_name)")
    String hook;

    @Option(names = "--hook-out", paramLabel = "HOOK",
        description = "for a transcoder, the hook it predicts and replaces (default: cfg.json hook_name_out)")
    String hookOut;

    @Option(names = "--corpus", paramLabel = "CORPUS",
        description = "corpus reference (default: ${DEFAULT-VALUE}, text no training split saw)")
    String corpus = "europarl:test";

    @Option(names = "--tokens", paramLabel = "N", description = "tokens to evaluate on (default: ${DEFAULT-VALUE})")
    long tokens = 20_000;

    @Option(names = "--ctx", paramLabel = "N", description = "window length (default: the model's context)")
    int ctx;

    @Option(names = "--splice-windows", paramLabel = "N",
        description = "windows run with the SAE spliced in (0: skip; default: ${DEFAULT-VALUE})")
    int spliceWindows = 64;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
      if (tokens < 2) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--tokens must be >= 2, got " + tokens);
      }
      if (spliceWindows < 0) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--splice-windows must be >= 0, got " + spliceWindows);
      }
      PrintWriter err = sae.parent.spec.commandLine().getErr();
      try (NDManager m = NDManager.newBaseManager(); LocalModelSession session = LocalModelSession.open(model)) {
        SparseCoderFiles.Loaded loaded = load(ref, m);
        Map<String, Object> out;
        try {
          out = CoderEvaluation.evaluate(loaded, ref, session, model, hook, hookOut, corpus, tokens, ctx, spliceWindows,
              err);
        } catch (IllegalArgumentException e) {
          throw new LoupeCli.CliException(LoupeCli.USAGE, e.getMessage());
        }
        print(sae.parent.spec.commandLine().getOut(), json, out);
        return LoupeCli.OK;
      }
    }

  }
}
