package dev.loupe.samples.lens;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.pf4j.Extension;

/**
 * The analysis method {@code logit-lens}: reads the residual stream of a causal model at several
 * layers over a corpus and, for each layer, decodes it with the model's own final norm and
 * unembedding as if it were the last layer (the "logit lens", nostalgebraist 2020). Per layer it
 * measures how often the lens's top token is the model's own top token, how often it is the
 * actual next token, the KL divergence of the lens's distribution from the model's, and the rank
 * and loss of the actual next token; it keeps a few example rows to show what each layer
 * predicts. Results: {@code summary}, metrics while reading, and {@code report.md}.
 *
 * <p>What this sample shows beyond activation-stats:
 * <ul>
 *   <li><b>several inputs read as one</b>: the inputs (one per layer, named as the user likes)
 *       come from one model on the same tokens; {@link ActivationSources#aligned} reads them row
 *       by row, side by side, and checks every row is the same token;</li>
 *   <li><b>the model session behind an input</b>: {@link JobContext#model(String)} gives the
 *       {@link ModelSession} of a {@code model:} input, whose {@link ModelSession#unembed} is the
 *       logit lens itself; errors say what to change when there is none, or the model cannot
 *       do it;</li>
 *   <li><b>tensor work in the host's engine</b>: {@link LensScorer} does the vocabulary-wide part
 *       in DJL arrays and frees them per chunk.</li>
 * </ul>
 */
@Extension
public class LogitLensMethod implements AnalysisMethod {

  public static final String ID = "logit-lens";

  static final ConfigSchema SCHEMA = ConfigSchema.builder()
      .longOption("max_tokens", 0L, 0L, null, "stop after this many rows (0: read the whole input)")
      .intOption("examples", 8, 0, 1000, "example rows shown in the summary and report (a seeded uniform sample)")
      .intOption("context_tokens", 16, 1, 1024, "tokens of text shown up to each example row")
      .longOption("seed", 1L, null, null, "seed of the example sample")
      .intOption("chunk_rows", 512, 1, 1 << 16,
          "rows unembedded at once; bounds memory at a few rows x vocab x 4 bytes arrays")
      .intOption("metrics_every", 10, 1, null, "record a metrics row every this many batches")
      .boolOption("bars", true, "draw small text bars next to the numbers in report.md")
      .build();

  // ANY_INPUTS: the user names the inputs (l0, l1, ... or anything); each is one layer.
  private static final MethodInfo INFO = new MethodInfo(ID,
      "Logit lens per layer over a corpus: agreement with the model's top token, next-token accuracy, "
          + "KL(final || lens), rank of the next token", List.of(MethodInfo.ANY_INPUTS), SCHEMA);

  @Override
  public MethodInfo info() {
    return INFO;
  }

  /** One input: its name in the job, its hook, and whether it is the last layer (the reference). */
  record Layer(String input, String hook, boolean isFinal) {
  }

  @Override
  public void run(JobContext ctx) throws Exception {
    JobConfig cfg = ctx.config();
    List<String> names = new ArrayList<>(ctx.inputNames());
    if (names.isEmpty()) {
      throw new IllegalArgumentException("the logit lens needs at least one input: one `model:` input per layer, "
          + "including the last layer's blocks.L.hook_resid_post");
    }
    // Everything is checked before the first batch is read, so a wrong job fails at once with a
    // message saying what to change instead of after a long harvest.
    ModelSession session = sessionOf(ctx, names);
    ModelInfo model = session.info();
    List<Layer> layers = layers(ctx, names, model);
    int finalLayer = indexOfFinal(layers);
    int d = model.dModel();

    // Inputs from one model that differ only in their hook share one harvest: the model runs once
    // and every input delivers the same tokens in the same order. aligned() reads them in lockstep
    // as rows of width n x d_model (input 0's columns first) and fails, naming the row, if two
    // inputs ever disagree on a row's document, position or token.
    ActivationSource[] sources = names.stream().map(ctx::input).toArray(ActivationSource[]::new);
    ActivationSource rows = sources.length == 1 ? sources[0] : ActivationSources.aligned(true, sources);
    long maxTokens = cfg.getLong("max_tokens");
    if (maxTokens > 0) {
      rows = ActivationSources.limit(rows, maxTokens);
    }
    long total = rows.totalRows();
    ctx.log().info("logit lens of {} at {} layers ({} rows expected)", model.id(), layers.size(),
        total < 0 ? "unknown" : total);

    LayerStats[] stats = new LayerStats[layers.size()];
    Arrays.setAll(stats, i -> new LayerStats());
    Examples examples = new Examples(cfg.getInt("examples"), cfg.getInt("context_tokens"), cfg.getLong("seed"));
    LensScorer scorer = new LensScorer(session);
    int chunkRows = cfg.getInt("chunk_rows");
    int metricsEvery = cfg.getInt("metrics_every");

    long done = 0;
    long batches = 0;
    try (ActivationSource in = rows) {
      NextTokens reader = new NextTokens(in);
      NextTokens.Batch nb;
      while ((nb = reader.next()) != null) {
        ctx.checkCancelled();
        ActivationBatch b = nb.rows();
        // A batch can hold thousands of rows; unembedding them all at once would make
        // [rows, vocab] arrays of gigabytes for a large vocabulary, so work in chunks.
        for (int from = 0; from < b.rows(); from += chunkRows) {
          int to = Math.min(b.rows(), from + chunkRows);
          int[] next = Arrays.copyOfRange(nb.next(), from, to);
          LensScorer.Chunk chunk = scorer.score(split(b, from, to, layers.size(), d), to - from, finalLayer, next);
          for (int i = 0; i < stats.length; i++) {
            LensScorer.LayerScores s = chunk.layers()[i];
            stats[i].add(s.top1(), chunk.finalTop1(), s.kl(), next, s.nextRank(), s.nextLogProb());
          }
          examples.offer(b, from, to, next, chunk);
        }
        done += b.rows();
        batches++;
        ctx.progress(done, total, "tokens");
        if (batches % metricsEvery == 0) {
          ctx.metrics(done, metrics(layers, stats));
        }
      }
    }
    if (done == 0) {
      throw new IllegalStateException("the inputs delivered no rows");
    }
    ctx.metrics(done, metrics(layers, stats));
    if (stats[0].rowsWithNext() == 0) {
      // Not an error: agreement and KL are still measured. But accuracy and rank need rows in
      // stream order, and a shuffled store, say, has none; say so rather than print nulls silently.
      ctx.log().warn("no row was followed by its next token (are the rows shuffled?): accuracy, rank and loss are "
          + "left out");
    }

    List<LensReport.ExampleRow> shown = exampleRows(session, examples.examples());
    ctx.publish("summary", summary(model, layers, stats, shown));
    LensReport.write(ctx.artifactDir().resolve("report.md"), model, layers, stats, shown, cfg.getBoolean("bars"));
    ctx.log().info("done: {} rows, top-1 agreement of the first layer {}", done, stats[0].top1Agreement());
  }

  /**
   * The model session behind the inputs. Only a {@code model:} input has one: a file, store or
   * synthetic input is just numbers, with no model to unembed them. All inputs must come from
   * one model, whose last layer is the reference for the others.
   */
  static ModelSession sessionOf(JobContext ctx, List<String> names) {
    ModelSession session = null;
    for (String name : names) {
      Optional<ModelSession> s = ctx.model(name);
      if (s.isEmpty()) {
        throw new IllegalArgumentException("input '" + name + "' (" + ctx.input(name).hookName() + ") comes with no "
            + "model session: the logit lens needs the model that produced the activations, for its final norm and "
            + "unembedding. Give every input as a `model:` input, e.g. model: {model: demo, corpus: europarl, "
            + "hook: blocks.1.hook_resid_post, tokens: 20000}");
      }
      if (session == null) {
        session = s.get();
      } else if (!s.get().info().id().equals(session.info().id())) {
        throw new IllegalArgumentException("inputs '" + names.get(0) + "' and '" + name + "' come from different models ("
            + session.info().id() + " and " + s.get().info().id() + "); the logit lens compares the layers of one "
            + "model, so read every input from the same model, corpus and token count");
      }
    }
    ModelInfo info = session.info();
    if (!info.causal()) {
      // Encoders (BERT) have no unembedding: there is no next-token prediction to lens towards.
      throw new IllegalArgumentException("model '" + info.id() + "' (" + info.architecture() + ") is an encoder with no "
          + "unembedding, so it has no logit lens; use a causal language model (demo, tiny, a gpt2, gpt_neox, llama, "
          + "mistral or qwen2 directory)");
    }
    return session;
  }

  /**
   * The layers, in the job's input order, after checking each input is a residual-stream width
   * and that one of them is the last layer's output, the model's own prediction.
   */
  static List<Layer> layers(JobContext ctx, List<String> names, ModelInfo model) {
    String finalHook = "blocks." + (model.nLayers() - 1) + ".hook_resid_post";
    List<Layer> layers = new ArrayList<>();
    for (String name : names) {
      ActivationSource in = ctx.input(name);
      // unembed() reads vectors of width d_model; anything else (an MLP's hidden layer, an
      // attention pattern) is not a point in the residual stream.
      if (in.width() != model.dModel()) {
        throw new IllegalArgumentException("input '" + name + "' (" + in.hookName() + ") has width " + in.width()
            + ", but the logit lens reads the residual stream, of width d_model = " + model.dModel() + " in "
            + model.id() + "; use hooks such as blocks.L.hook_resid_pre, hook_resid_mid or hook_resid_post");
      }
      layers.add(new Layer(name, in.hookName(), in.hookName().equals(finalHook)));
    }
    if (layers.stream().noneMatch(Layer::isFinal)) {
      throw new IllegalArgumentException("no input reads " + finalHook + ", the last layer of " + model.id() + " ("
          + model.nLayers() + " layers): its lens is the model's own prediction, which every layer is compared with; "
          + "add an input at that hook (the inputs are " + names + ")");
    }
    return layers;
  }

  private static int indexOfFinal(List<Layer> layers) {
    for (int i = 0; i < layers.size(); i++) {
      if (layers.get(i).isFinal()) {
        return i;
      }
    }
    throw new IllegalStateException("no final layer");
  }

  /** Rows [from, to) of an aligned batch, split into one [rows, d] array per layer. */
  static float[][] split(ActivationBatch b, int from, int to, int layers, int d) {
    float[][] out = new float[layers][(to - from) * d];
    float[] v = b.values();
    int width = b.width();
    for (int r = from; r < to; r++) {
      for (int l = 0; l < layers; l++) {
        System.arraycopy(v, r * width + l * d, out[l], (r - from) * d, d);
      }
    }
    return out;
  }

  /** One metrics row: each layer's running agreement, accuracy and KL, named after its input. */
  private static Map<String, Double> metrics(List<Layer> layers, LayerStats[] stats) {
    Map<String, Double> row = new LinkedHashMap<>();
    for (int i = 0; i < stats.length; i++) {
      String name = layers.get(i).input();
      row.put("agreement_" + name, stats[i].top1Agreement());
      row.put("accuracy_" + name, stats[i].accuracy());
      row.put("kl_" + name, stats[i].meanKl());
    }
    return row;
  }

  /** Examples with their tokens as text, for the summary and the report. */
  private static List<LensReport.ExampleRow> exampleRows(ModelSession session, List<Examples.Example> examples) {
    List<LensReport.ExampleRow> out = new ArrayList<>();
    for (Examples.Example e : examples) {
      List<String> lens = new ArrayList<>();
      for (long t : e.lensTop1()) {
        lens.add(session.tokenText((int) t));
      }
      out.add(new LensReport.ExampleRow(e.row(), e.doc(), e.position(), session.decode(e.context()),
          session.tokenText(e.next()), session.tokenText((int) e.finalTop1()), lens));
    }
    return out;
  }

  /** The {@code summary} result: plain maps, lists and numbers, so it serialises to JSON. */
  static Map<String, Object> summary(ModelInfo model, List<Layer> layers, LayerStats[] stats,
      List<LensReport.ExampleRow> examples) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("model", model.id());
    out.put("vocab", model.vocabSize());
    out.put("rows", stats[0].rows());
    out.put("rows_with_next", stats[0].rowsWithNext());
    out.put("final_input", layers.get(indexOfFinal(layers)).input());
    List<Map<String, Object>> ls = new ArrayList<>();
    for (int i = 0; i < layers.size(); i++) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("input", layers.get(i).input());
      m.put("hook", layers.get(i).hook());
      m.putAll(stats[i].toMap());
      ls.add(m);
    }
    out.put("layers", ls);
    List<Map<String, Object>> ex = new ArrayList<>();
    for (LensReport.ExampleRow e : examples) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("row", e.row());
      m.put("doc", e.doc());
      m.put("position", e.position());
      m.put("context", e.context());
      m.put("next", e.next());
      m.put("final_top1", e.finalTop1());
      Map<String, String> lens = new LinkedHashMap<>();
      for (int i = 0; i < layers.size(); i++) {
        lens.put(layers.get(i).input(), e.lensTop1().get(i));
      }
      m.put("lens_top1", lens);
      ex.add(m);
    }
    out.put("examples", ex);
    return out;
  }
}
