package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.ModelInfo;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code loupe model info MODEL}: a model's sizes and every hook point with its width. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "Inspect a model.",
    subcommands = {ModelCommand.Info.class})
final class ModelCommand implements Callable<Integer> {
  private static final Pattern BLOCK_HOOK = Pattern.compile("blocks\\.(\\d+)\\.(.+)");

  @ParentCommand
  LoupeCli parent;

  @Override
  public Integer call() {
    parent.spec.commandLine().getSubcommands().get("model").usage(parent.spec.commandLine().getErr());
    return LoupeCli.USAGE;
  }

  @Command(name = "info", mixinStandardHelpOptions = true,
      description = "Architecture, sizes, parameter count and every hook point with the width of its last axis.")
  static final class Info implements Callable<Integer> {
    @ParentCommand
    ModelCommand model;

    @Parameters(index = "0", paramLabel = "MODEL",
        description = "model reference: tiny, random-gpt2:<layers>x<d_model> or a Hugging Face model directory")
    String ref;

    @Option(names = "--json", description = "print one JSON document (every hook listed by name)")
    boolean json;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = model.parent.spec.commandLine().getOut();
      ModelInfo info;
      try (LocalModelSession s = LocalModelSession.open(ref)) {
        info = s.info();
      }
      if (json) {
        out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(document(info)));
      } else {
        printText(info, out);
      }
      out.flush();
      return LoupeCli.OK;
    }
  }

  static Map<String, Object> document(ModelInfo info) {
    return dev.loupe.core.model.ModelCatalog.document(info);
  }

  /**
   * Globals one per line, then each block site once with the layers that have it: a 32-layer model
   * has hundreds of hooks but only a dozen or so distinct sites.
   */
  static void printText(ModelInfo info, PrintWriter out) {
    out.printf("%s: %s (%s)%n", info.id(), info.architecture(), info.causal() ? "causal LM" : "encoder");
    out.printf("  layers %d, d_model %d, heads %d, d_head %d, d_mlp %d, vocab %,d, context %,d, parameters %,d%n",
        info.nLayers(), info.dModel(), info.nHeads(), info.dHead(), info.dMlp(), info.vocabSize(), info.maxContext(),
        info.parameters());
    out.printf("%d hook points (width = size of the last axis; -1: key position, [batch, head, query, key])%n",
        info.hookNames().size());
    List<String> globals = new ArrayList<>();
    // site -> width -> layers; insertion order keeps the model's own site order
    Map<String, Map<Integer, List<Integer>>> sites = new LinkedHashMap<>();
    for (String h : info.hookNames()) {
      Matcher m = BLOCK_HOOK.matcher(h);
      if (m.matches()) {
        sites.computeIfAbsent(m.group(2), k -> new TreeMap<>())
            .computeIfAbsent(info.hookWidth(h), k -> new ArrayList<>()).add(Integer.parseInt(m.group(1)));
      } else {
        globals.add(h);
      }
    }
    out.println("globals:");
    for (String g : globals) {
      out.printf("  %-36s %s%n", g, width(info.hookWidth(g)));
    }
    if (!sites.isEmpty()) {
      out.println("blocks.{L}.<site>:");
      out.printf("  %-36s %-12s %s%n", "site", "width", "layers L");
      for (Map.Entry<String, Map<Integer, List<Integer>>> e : sites.entrySet()) {
        for (Map.Entry<Integer, List<Integer>> w : e.getValue().entrySet()) {
          out.printf("  %-36s %-12s %s%n", e.getKey(), width(w.getKey()), layers(w.getValue()));
        }
      }
    }
  }

  private static String width(int w) {
    return w < 0 ? "-1 (key pos)" : Integer.toString(w);
  }

  /** {@code 0..3} for a contiguous run, else the list. */
  static String layers(List<Integer> ls) {
    List<Integer> sorted = ls.stream().sorted().toList();
    int first = sorted.get(0);
    int last = sorted.get(sorted.size() - 1);
    if (last - first + 1 == sorted.size()) {
      return first == last ? Integer.toString(first) : first + ".." + last;
    }
    return sorted.toString();
  }
}
