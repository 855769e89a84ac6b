package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.CorpusRef;
import dev.loupe.core.corpus.Document;
import dev.loupe.core.corpus.LanguageDetector;
import dev.loupe.core.corpus.LanguageLabels;
import dev.loupe.core.corpus.Europarl;
import dev.loupe.core.corpus.TextCorpus;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code loupe corpus info REF} and {@code loupe corpus label REF}: inspect corpora and label their languages. */
@Command(name = "corpus", mixinStandardHelpOptions = true,
    description = {"Inspect corpora and label their documents' languages.", "",
        "Corpus references (REF):",
        "  europarl                the built-in corpus: 17,597 European Parliament",
        "                          speeches in 21 languages",
        "  europarl:fr             only the speeches labelled French",
        "  europarl:fr+de          French and German speeches",
        "  europarl:train          one split: train, validation (val) or test;",
        "                          90/5/5 by a fixed hash of the document id",
        "  europarl:fr:validation  French speeches of the validation split",
        "  PATH                    a .txt file (blank-line separated documents),",
        "                          .jsonl (field 'text') or a directory of .txt files",
        "  PATH:validation         one split of a local corpus",
        "  REF:shuffled[@SEED]     any of these, documents in a seeded random order",
        "Languages (ISO 639-1): bg cs da de el en es et fi fr hu it lt lv nl pl pt",
        "  ro sk sl sv. Filtered corpora keep the document ids of the whole corpus."},
    subcommands = {CorpusCommand.Info.class, CorpusCommand.Label.class})
final class CorpusCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Override
  public Integer call() {
    parent.spec.commandLine().getSubcommands().get("corpus").usage(parent.spec.commandLine().getErr());
    return LoupeCli.USAGE;
  }

  @Command(name = "info", mixinStandardHelpOptions = true,
      description = "Documents, bytes (UTF-8), documents per language and per split of a corpus reference.")
  static final class Info implements Callable<Integer> {
    @ParentCommand
    CorpusCommand corpus;

    @Parameters(index = "0", paramLabel = "REF", description = "corpus reference, e.g. europarl:fr:validation (see `loupe corpus --help`)")
    String ref;

    @Option(names = "--json", description = "print one JSON document")
    boolean json;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = corpus.parent.spec.commandLine().getOut();
      Corpora.CorpusStats stats = Corpora.describe(ref);
      if (json) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("ref", stats.ref().toString());
        doc.put("documents", stats.documents());
        doc.put("bytes", stats.bytes());
        doc.put("languages", stats.languages());
        Map<String, Long> splits = new LinkedHashMap<>();
        stats.splits().forEach((s, n) -> splits.put(s.label(), n));
        doc.put("splits", splits);
        out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
      } else {
        out.printf("corpus     %s%n", stats.ref());
        out.printf("documents  %,d%n", stats.documents());
        out.printf("bytes      %,d%n", stats.bytes());
        out.println();
        out.printf("%-12s %10s %7s%n", "language", "documents", "share");
        stats.languages().forEach((l, n) -> out.printf("%-12s %,10d %6.1f%%%n", l, n, 100.0 * n / stats.documents()));
        out.println();
        out.printf("%-12s %10s %7s%n", "split", "documents", "share");
        stats.splits().forEach((s, n) -> out.printf("%-12s %,10d %6.1f%%%n", s.label(), n, 100.0 * n / stats.documents()));
      }
      out.flush();
      return LoupeCli.OK;
    }
  }

  @Command(name = "label", mixinStandardHelpOptions = true,
      description = {"Detect the language of every document of a corpus (Lingua, first "
          + LanguageDetector.PREFIX_CHARS + " characters) and write a docId<TAB>lang table atomically.",
          "Undetermined documents get '" + LanguageLabels.UNDETERMINED + "'. Europarl's table ships with Loupe ("
          + LanguageLabels.EUROPARL_RESOURCE + "); this command made it."})
  static final class Label implements Callable<Integer> {
    private static final int REPORT_EVERY = 1000;

    @ParentCommand
    CorpusCommand corpus;

    @Parameters(index = "0", paramLabel = "REF", description = "a whole corpus: europarl or PATH (no language or split filter)")
    String ref;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "where to write the table (default: NAME-languages.tsv)")
    Path out;

    @Option(names = "--languages", split = ",", paramLabel = "CODE",
        description = "ISO 639-1 codes to choose among (default: the 21 Europarl languages)")
    List<String> languages = LanguageDetector.EUROPARL_LANGUAGES;

    @Option(names = "--threads", paramLabel = "N", description = "documents labelled in parallel (default: the number of processors)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws Exception {
      PrintWriter stdout = corpus.parent.spec.commandLine().getOut();
      PrintWriter err = corpus.parent.spec.commandLine().getErr();
      CorpusRef r = CorpusRef.parse(ref);
      if (!r.languages().isEmpty() || r.split() != null) {
        throw new IllegalArgumentException("corpus '" + ref + "': label takes a whole corpus (every document id), "
            + "not a language or split filter; use " + r.source());
      }
      if (threads < 1) {
        throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
      }
      LanguageDetector detector = new LanguageDetector(languages);
      Path target = out != null ? out : Path.of(Path.of(r.source()).getFileName() + "-languages.tsv");
      List<Document> docs;
      // The raw texts: labelling must not depend on the labels it is about to write.
      try (Stream<Document> s = r.builtIn()
          ? Europarl.speeches().map(sp -> new Document(sp.index(), sp.body(), null))
          : TextCorpus.open(Path.of(r.source())).documents()) {
        docs = s.toList();
      }
      String[] labels = new String[docs.size()];
      for (int i = 0; i < docs.size(); i++) {
        if (docs.get(i).id() != i) {
          throw new IllegalStateException("corpus '" + ref + "' numbers document " + i + " as " + docs.get(i).id());
        }
      }
      err.printf("label %s: %,d documents, %d languages, %d threads%n", r, docs.size(), detector.languages().size(),
          threads);
      err.flush();
      AtomicInteger done = new AtomicInteger();
      long start = System.nanoTime();
      ForkJoinPool pool = new ForkJoinPool(threads);
      try {
        pool.submit(() -> IntStream.range(0, docs.size()).parallel().forEach(i -> {
          labels[i] = detector.detect(docs.get(i).text());
          int n = done.incrementAndGet();
          if (n % REPORT_EVERY == 0) {
            double s = (System.nanoTime() - start) / 1e9;
            synchronized (err) {
              err.printf("label %s: %,d / %,d documents (%.0f%%), %,.0f docs/s%n", r, n, docs.size(),
                  100.0 * n / docs.size(), n / Math.max(s, 1e-9));
              err.flush();
            }
          }
        })).get();
      } finally {
        pool.shutdown();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      LanguageLabels table = LanguageLabels.of(labels);
      table.write(target);
      // The rate includes loading the models the texts needed (a few seconds).
      stdout.printf("labelled %,d documents in %.1f s (%,.0f docs/s) -> %s%n", docs.size(), seconds,
          docs.size() / Math.max(seconds, 1e-9), target);
      table.counts().forEach((l, n) -> stdout.printf("  %-4s %,7d%n", l, n));
      stdout.flush();
      return LoupeCli.OK;
    }
  }
}
