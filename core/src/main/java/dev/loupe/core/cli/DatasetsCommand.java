package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.Document;
import dev.loupe.core.corpus.TokenWindow;
import dev.loupe.core.corpus.TokenWindows;
import dev.loupe.core.dataset.DatasetRegistry;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code loupe datasets} and {@code loupe datasets count NAME}: the labelled token datasets probes use. */
@Command(name = "datasets", mixinStandardHelpOptions = true,
    description = {"List the labelled token datasets (config/datasets/*.yaml) that probes and neuron finders use,",
        "or count how a corpus's tokens fall into one's classes."},
    subcommands = {DatasetsCommand.Count.class})
final class DatasetsCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Option(names = "--json", description = "print one JSON document")
  boolean json;

  DatasetRegistry registry() {
    return DatasetRegistry.load(parent.config().datasetDirs());
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = parent.spec.commandLine().getOut();
    DatasetRegistry r = registry();
    if (json) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (String name : r.names()) {
        TokenDataset d = r.get(name);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("classes", d.classes());
        m.put("description", d.description());
        list.add(m);
      }
      out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(list));
      return LoupeCli.OK;
    }
    if (r.names().isEmpty()) {
      out.println("no datasets defined; add definitions to " + parent.config().datasetDirs());
      return LoupeCli.OK;
    }
    int width = r.names().stream().mapToInt(String::length).max().orElse(4);
    for (String name : r.names()) {
      TokenDataset d = r.get(name);
      out.printf(Locale.ROOT, "%-" + width + "s  %2d classes  %s%n", name, d.classes().size(), d.description());
    }
    return LoupeCli.OK;
  }

  @Command(name = "count", mixinStandardHelpOptions = true,
      description = "Label a corpus's tokens with one dataset (no forward pass: the model's tokenizer only) and "
          + "count the rows of each class, train and test documents apart.")
  static final class Count implements Callable<Integer> {
    @ParentCommand
    DatasetsCommand datasets;

    @Parameters(index = "0", paramLabel = "NAME", description = "dataset name (see `loupe datasets`)")
    String name;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "model whose tokenizer to use")
    String model;

    @Option(names = "--corpus", paramLabel = "CORPUS", description = "corpus reference (default: ${DEFAULT-VALUE})")
    String corpus = "europarl:shuffled";

    @Option(names = "--tokens", paramLabel = "N", description = "tokens to label (default: ${DEFAULT-VALUE})")
    long tokens = 100_000;

    @Option(names = "--ctx", paramLabel = "N", description = "window length (default: the model's context)")
    int ctx;

    @Option(names = "--test-percent", paramLabel = "P", description = "percent of test documents (default: ${DEFAULT-VALUE})")
    int testPercent = 20;

    @Option(names = "--json", description = "print one JSON document")
    boolean json;

    @Override
    public Integer call() throws Exception {
      if (tokens < 1) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--tokens must be >= 1, got " + tokens);
      }
      TokenDataset d;
      try {
        d = datasets.registry().get(name);
      } catch (IllegalArgumentException e) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, e.getMessage());
      }
      PrintWriter out = datasets.parent.spec.commandLine().getOut();
      try (LocalModelSession session = LocalModelSession.open(model)) {
        Labeller labeller = d.labeller(session);
        int window = ctx > 0 ? Math.min(ctx, session.info().maxContext()) : session.info().maxContext();
        long[][] counts = new long[2][d.classes().size()];
        long read = 0;
        long none = 0;
        Stream<Document> docs;
        try {
          docs = Corpora.open(corpus);
        } catch (IllegalArgumentException e) {
          throw new LoupeCli.CliException(LoupeCli.USAGE, "--corpus: " + e.getMessage());
        }
        try (Stream<TokenWindow> ws = TokenWindows.of(docs, session::encode, window)) {
          Iterator<TokenWindow> it = ws.iterator();
          while (read < tokens && it.hasNext()) {
            TokenWindow w = it.next();
            int n = (int) Math.min(w.length(), tokens - read);
            int[] docIds = new int[n];
            int[] positions = new int[n];
            for (int i = 0; i < n; i++) {
              docIds[i] = w.docId();
              positions[i] = w.start() + i;
            }
            ActivationBatch b = new ActivationBatch(session.info().id(), "tokens", 0, n, 1, new float[n],
                java.util.Arrays.copyOf(w.tokens(), n), docIds, positions, null);
            int[] labels = labeller.labels(b);
            for (int i = 0; i < n; i++) {
              if (labels[i] == Labeller.NONE) {
                none++;
              } else {
                counts[dev.loupe.sdk.dataset.DocumentSplit.isTest(docIds[i], testPercent) ? 1 : 0][labels[i]]++;
              }
            }
            read += n;
          }
        }
        if (json) {
          Map<String, Object> doc = new LinkedHashMap<>();
          doc.put("dataset", name);
          doc.put("model", model);
          doc.put("corpus", corpus);
          doc.put("tokens", read);
          doc.put("unlabelled", none);
          Map<String, Object> per = new LinkedHashMap<>();
          for (int c = 0; c < d.classes().size(); c++) {
            per.put(d.classes().get(c), Map.of("train", counts[0][c], "test", counts[1][c]));
          }
          doc.put("classes", per);
          out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
        } else {
          out.printf(Locale.ROOT, "%s on %s, %s: %,d tokens, %,d not in the dataset%n", name, model, corpus, read, none);
          out.printf(Locale.ROOT, "%-24s %12s %12s%n", "class", "train rows", "test rows");
          for (int c = 0; c < d.classes().size(); c++) {
            out.printf(Locale.ROOT, "%-24s %,12d %,12d%n", d.classes().get(c), counts[0][c], counts[1][c]);
          }
        }
      }
      return LoupeCli.OK;
    }
  }
}
