package dev.loupe.core.train;

import ai.djl.ndarray.NDManager;
import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.CorpusRef;
import dev.loupe.core.corpus.Document;
import dev.loupe.core.corpus.Split;
import dev.loupe.core.model.HfDirectory;
import dev.loupe.core.model.HookedTransformer;
import dev.loupe.core.model.LoadedModel;
import dev.loupe.core.model.ModelRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Evaluates a trained model and writes its MODEL_CARD.md: validation bits per byte per language
 * for the model, for unigram and bigram byte models fit on the same training data, and for the
 * parent model of a fine-tune; the loss curve; the recipe and sample generations.
 */
public final class ModelCards {
  /** Add-k smoothing of the n-gram baselines. */
  static final double BASELINE_K = 0.5;

  private ModelCards() {}

  /** Per-language validation scores of a model, its parent (or null) and the two baselines. */
  public record Evaluation(LabeledBitsPerByte model, LabeledBitsPerByte parent, LabeledBitsPerByte unigram,
      LabeledBitsPerByte bigram) {}

  /**
   * Scores {@code model} (and {@code parent}, when not null) on every document of the validation
   * split of {@code corpus}'s source, all languages, next to byte n-gram models fit on the
   * training split of {@code corpus} itself.
   */
  public static Evaluation evaluate(LoadedModel model, LoadedModel parent, String corpus, int context,
      NDManager root, Consumer<String> log) {
    CorpusRef trained = CorpusRef.parse(corpus);
    CorpusRef heldOut = new CorpusRef(trained.source(), List.of(), Split.VALIDATION);
    List<Document> docs;
    try (Stream<Document> s = Corpora.open(heldOut)) {
      docs = s.collect(Collectors.toList());
    }
    ByteNgramBaseline unigram = ByteNgramBaseline.unigram(BASELINE_K);
    ByteNgramBaseline bigram = ByteNgramBaseline.bigram(BASELINE_K);
    try (Stream<Document> s = Corpora.open(new CorpusRef(trained.source(), trained.languages(), Split.TRAIN))) {
      s.forEach(d -> {
        byte[] b = d.text().getBytes(StandardCharsets.UTF_8);
        unigram.add(b);
        bigram.add(b);
      });
    }
    log.accept(String.format("scoring %,d validation documents of '%s'", docs.size(), heldOut));
    return new Evaluation(score(model, docs, context, root), parent == null ? null : score(parent, docs, context, root),
        unigram.scoreByLabel(docs, ModelCards::label, d -> d.text().getBytes(StandardCharsets.UTF_8)),
        bigram.scoreByLabel(docs, ModelCards::label, d -> d.text().getBytes(StandardCharsets.UTF_8)));
  }

  private static String label(Document d) {
    return d.label() == null ? Corpora.UNLABELLED : d.label();
  }

  private static LabeledBitsPerByte score(LoadedModel m, List<Document> docs, int context, NDManager root) {
    List<String> texts = docs.stream().map(Document::text).collect(Collectors.toList());
    double[] bits = LmTrainer.documentBits(m.model(), m.tokenizer(), texts, context, root);
    LabeledBitsPerByte.Tally t = new LabeledBitsPerByte.Tally();
    for (int i = 0; i < docs.size(); i++) {
      t.add(label(docs.get(i)), new BitsPerByte(bits[i], docs.get(i).text().getBytes(StandardCharsets.UTF_8).length));
    }
    return t.result();
  }

  /** Evaluates the trained model of {@code result} and writes MODEL_CARD.md and the loss curve into its directory. */
  public static Path write(LmTrainConfig cfg, String configFile, LmTrainer.Result result, ModelRegistry registry,
      Consumer<String> log)
      throws IOException {
    Path dir = result.out();
    try (NDManager root = NDManager.newBaseManager();
        LoadedModel model = HfDirectory.load(dir, cfg.name(), root);
        LoadedModel parent = cfg.init() == null ? null : registry.load(cfg.init(), root)) {
      Evaluation ev = evaluate(model, parent, cfg.corpus(), cfg.context(), root, log);
      TrainingMetrics metrics = TrainingMetrics.read(cfg.workDir().resolve(LmTrainer.METRICS));
      metrics.drawLossCurve(dir, Map.of("bigram baseline (validation)", ev.bigram().overall().bitsPerByte(),
          "unigram baseline (validation)", ev.unigram().overall().bitsPerByte()));
      // The SVG twin is large (text drawn as shapes); the card links the PNG, and models/ stays small.
      Files.deleteIfExists(dir.resolve(TrainingMetrics.LOSS_CURVE + ".svg"));
      HookedTransformer m = model.model();
      ModelCard.Architecture arch = new ModelCard.Architecture(m.architecture() + " (Loupe's own implementation; "
          + "byte-level tokenizer)", m.nLayers(), m.dModel(), m.nHeads(), m.dMlp(), m.maxContext(), m.vocabSize(),
          m.parameterCount(), Files.size(dir.resolve(HfDirectory.WEIGHTS)));
      ModelCard.TrainingData data = new ModelCard.TrainingData(cfg.corpus() + " (train split; validation: "
          + CorpusRef.parse(cfg.corpus()).source() + ":validation)", result.train().documents(), result.train().bytes(),
          result.validation().documents(), result.validation().bytes());
      ModelCard.Recipe recipe = new ModelCard.Recipe(String.format("AdamW (beta1 %s, beta2 %s, eps %s, weight decay %s on "
          + "matrices), gradient clipping at global norm %s", cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay(),
          cfg.gradClip()), String.format("linear warm-up over %d steps to %s, cosine decay to %s", cfg.warmupSteps(),
          cfg.lr(), cfg.minLr()), cfg.batchSize(), cfg.context(), result.steps(), result.tokens(), cfg.seed(),
          hardware(), Duration.ofMillis(Math.round(result.elapsedSeconds() * 1000)));
      List<ModelCard.Sample> samples = new ArrayList<>();
      result.samples().forEach((p, c) -> samples.add(new ModelCard.Sample(p, c)));
      String description = cfg.init() == null
          ? "A small causal language model trained from scratch by Loupe (`./loupe train-lm --config "
              + configFile + "`), with Loupe's own GPT-2 code and DJL autograd on the PyTorch "
              + "engine, on the training split of the built-in multilingual Europarl corpus."
          : "`" + cfg.init() + "` fine-tuned by Loupe (`./loupe train-lm --config " + configFile + "`) on `" + cfg.corpus() + "`, so model-diffing tools have a known answer: what changed is "
              + "that distribution. The `parent` column scores `" + cfg.init() + "` on the same documents.";
      ModelCard card = new ModelCard(cfg.name(), description, arch, data, recipe,
          ModelCard.ValidationTable.of(ev.model(), ev.unigram(), ev.bigram(), ev.parent(), BASELINE_K),
          String.format("temperature 0.7, top-p 0.95, seed %d, %d bytes", cfg.seed(), cfg.sampleTokens()), samples,
          ModelCard.LOSS_CURVE_PNG);
      return card.write(dir);
    }
  }

  private static String hardware() {
    String cpu = "unknown CPU";
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      cpu = lines.filter(l -> l.startsWith("model name")).findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim())
          .orElse(cpu);
    } catch (IOException | RuntimeException e) {
      // not Linux: the core count alone
    }
    return Runtime.getRuntime().availableProcessors() + " CPU cores (" + cpu + "), PyTorch CPU via DJL";
  }
}
