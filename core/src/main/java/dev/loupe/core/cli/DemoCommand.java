package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.config.LoupeConfig;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobState;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.node.Harvest;
import dev.loupe.core.node.HarvestRequest;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.node.StreamToStore;
import dev.loupe.core.store.StoreOptions;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.ModelInfo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe demo}: the platform end to end on one machine, with no input: a model session
 * reads the built-in Europarl corpus once, and the residual stream of every layer goes out on
 * live streams to two consumers each at the same time (an analysis job from a plugin, and an
 * on-disk activation store); then a self-contained HTML report. As analysis plugins land, the
 * demo grows to cover them.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the demo: harvest a model's activations on Europarl, analyse them with plugins, write a report.")
final class DemoCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @ParentCommand
  LoupeCli parent;

  @Option(names = "--model", paramLabel = "MODEL", description = "model reference (default: ${DEFAULT-VALUE})")
  String model = "demo";

  @Option(names = "--tokens", paramLabel = "N", description = "tokens to read from the corpus (default: ${DEFAULT-VALUE})")
  long tokens = 200_000;

  @Option(names = "--out", paramLabel = "DIR", description = "run directory (default: RUN_DIR/demo-DATE-TIME)")
  Path out;

  @Option(names = "--no-sae", description = "skip training the sparse autoencoder (when the sae plugin is installed)")
  boolean noSae;

  @Option(names = "--no-crosscoder",
      description = "skip the crosscoder between demo and its French fine-tune demo-ft (when the crosscoder plugin is installed)")
  boolean noCrosscoder;

  @Option(names = "--no-neurons",
      description = "skip looking for language neurons in the MLPs (when the neurons plugin is installed)")
  boolean noNeurons;

  @Option(names = "--serve", description = "after the demo, serve the web UI on its results and its model session "
      + "(on 127.0.0.1) until Ctrl-C")
  boolean serve;

  @Option(names = "--port", paramLabel = "PORT", description = "HTTP port for --serve, 0 for any free one "
      + "(default: server.port, 7070)")
  Integer port;

  @Option(names = "--method", paramLabel = "ID", description = "analysis method run on every hook (default: ${DEFAULT-VALUE})")
  String method = "activation-stats";

  @Override
  public Integer call() throws Exception {
    try {
      return runDemo();
    } finally {
      if (closeSignal != null) {
        closeSignal.countDown();
      }
    }
  }

  private Integer runDemo() throws Exception {
    PrintWriter o = parent.spec.commandLine().getOut();
    PrintWriter err = parent.spec.commandLine().getErr();
    if (tokens <= 0) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--tokens must be > 0, got " + tokens);
    }
    if (port != null && !serve) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--port is the port of --serve; add --serve or leave it out");
    }
    if (port != null && (port < 0 || port > 65535)) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--port must be 0..65535, got " + port);
    }
    LoupeConfig cfg = parent.config();
    Path runDir = (out != null ? out : cfg.runDir().resolve("demo-"
        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))).toAbsolutePath();
    long t0 = System.nanoTime();
    // One job per layer, all reading one harvest at once: a job left queued for want of a worker
    // would stall the harvest for all of them, so the node gets a worker for every layer it may meet.
    dev.loupe.core.dataset.DatasetRegistry datasets = dev.loupe.core.dataset.DatasetRegistry.load(cfg.datasetDirs());
    try (LoupeNode node = LoupeNode.start("demo", null, parent.pluginHost(cfg), runDir.resolve("jobs"), cfg.workers())) {
      node.jobs().useDatasets(datasets);
      node.plugins().method(method); // fail now, naming the method, if its plugin is missing
      Files.createDirectories(runDir); // only now, so a refused demo leaves no empty run directory
      String sessionId = node.services().open(model);
      ModelInfo info = node.services().session(sessionId).orElseThrow().info();
      List<String> hooks = new ArrayList<>();
      for (int l = 0; l < info.nLayers(); l++) {
        hooks.add(HookPoint.residPost(l));
      }
      err.println("demo: model " + model + " (" + info.architecture() + ", " + info.nLayers() + " layers, d_model "
          + info.dModel() + "), corpus europarl, " + tokens + " tokens, hooks " + hooks);
      HarvestRequest req = new HarvestRequest("europarl", hooks, tokens, Math.min(128, info.maxContext()), 1024, 8, 2, 60);
      Harvest harvest = node.services().harvest(sessionId, req);

      Map<String, JobHandle> jobs = new LinkedHashMap<>();
      Map<String, CompletableFuture<Long>> stores = new LinkedHashMap<>();
      for (String hook : hooks) {
        String streamId = harvest.streams().get(hook);
        jobs.put(hook, node.startJob(method, Map.of("bins", 40, "top_dims", 5),
            Map.of("main", Map.of("stream", Map.of("id", streamId))), method + "-" + hook.replace('.', '-')));
        stores.put(hook, StreamToStore.start(node.vertx(), streamId, runDir.resolve("stores").resolve(hook), info.id(),
            hook, info.hookWidth(hook), StoreOptions.defaults()));
      }
      HarvestProgress.follow(harvest, err, "demo");
      Harvest done = harvest.completion().get();
      Map<String, JobStatus> ends = new LinkedHashMap<>();
      for (Map.Entry<String, JobHandle> j : jobs.entrySet()) {
        ends.put(j.getKey(), j.getValue().completion().get(5, TimeUnit.MINUTES));
      }
      Map<String, Long> storedRows = new LinkedHashMap<>();
      for (Map.Entry<String, CompletableFuture<Long>> s : stores.entrySet()) {
        storedRows.put(s.getKey(), s.getValue().get(5, TimeUnit.MINUTES));
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (done.state() != Harvest.State.DONE) {
        throw new LoupeCli.CliException(LoupeCli.JOB_FAILED, "harvest " + done.state() + ": " + done.message());
      }
      Map<String, Object> sae = trainSae(node, runDir, hooks, storedRows, err);
      Map<String, Object> neurons = languageNeurons(node, datasets, runDir, info, err);
      Map<String, Object> diff = diffWithFineTune(node, runDir, hooks.get(hooks.size() / 2), err);
      Map<String, Map<String, Object>> stats = new LinkedHashMap<>();
      for (Map.Entry<String, JobStatus> e : ends.entrySet()) {
        JobStatus s = e.getValue();
        if (s.state() != JobState.SUCCEEDED) {
          throw new LoupeCli.CliException(LoupeCli.JOB_FAILED, "job " + s.jobId() + " " + s.state() + ": " + s.message());
        }
        stats.put(e.getKey(), readResult(s.artifactDir().resolve("results").resolve("stats.json")));
      }
      Path report = DemoReport.write(runDir, info, model, done, seconds, stats, storedRows, ends, sae, neurons,
          diff);
      o.println();
      o.printf("Loupe demo: %s on %,d Europarl tokens in %.1f s (%,.0f tokens/s), %d hooks x 2 consumers%n",
          model, done.tokensDone(), seconds, done.tokensDone() / seconds, hooks.size());
      o.printf("%-28s %10s %12s %s%n", "hook", "rows", "mean |x|", "highest-variance dims");
      for (String hook : hooks) {
        Map<String, Object> s = stats.get(hook);
        o.printf("%-28s %,10d %12.3f %s%n", hook, ((Number) s.get("rows")).longValue(),
            ((Number) s.get("mean_norm")).doubleValue(), DemoReport.topDims(s));
      }
      if (sae != null) {
        o.printf("sparse autoencoder on %s: TopK k=%s, %s latents, %,d steps; held-out FVE %.3f, L0 %.1f, "
            + "never fired on held-out rows %.1f%%%n", sae.get("hook"), sae.get("k"), sae.get("d_sae"),
            ((Number) sae.get("steps")).longValue(), ((Number) sae.get("eval_fve")).doubleValue(),
            ((Number) sae.get("eval_l0")).doubleValue(), 100 * ((Number) sae.get("eval_dead_fraction")).doubleValue());
      }
      if (neurons != null) {
        o.printf("language neurons in the MLPs (%s neurons, %,d tokens; F1 on held-out documents, balanced classes):%n",
            neurons.get("neurons"), ((Number) neurons.get("tokens")).longValue());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) neurons.get("families");
        for (Map<String, Object> r : rows) {
          o.printf("  %-9s best neuron %-8s F1 %.3f AUC %.3f%s%s; probe of %s neurons F1 %.3f%n", r.get("family"),
              r.get("neuron"), ((Number) r.get("f1")).doubleValue(), ((Number) r.get("auc")).doubleValue(),
              "against".equals(r.get("sign")) ? " (quieter on " + r.get("family") + ")" : "",
              Boolean.TRUE.equals(r.get("dedicated")) ? " (dedicated)" : "", r.get("k_max"),
              ((Number) r.get("f1_k_max")).doubleValue());
        }
        if (!((List<?>) neurons.get("skipped")).isEmpty()) {
          o.printf("  too few rows for %s at this many tokens%n", String.join(", ",
              ((List<?>) neurons.get("skipped")).stream().map(String::valueOf).toList()));
        }
      }
      if (diff != null) {
        @SuppressWarnings("unchecked")
        Map<String, Object> counts = (Map<String, Object>) diff.get("counts");
        o.printf("crosscoder demo vs demo-ft on %s: %s latents, FVE %.3f; %s demo-only, %s shared, %s demo-ft-only, "
            + "%s mixed (relative decoder norm)%n", diff.get("hook"), diff.get("d_sae"),
            ((Number) diff.get("eval_fve")).doubleValue(), counts.get("a_only"), counts.get("shared"),
            counts.get("b_only"), counts.get("mixed"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> examples = (List<Map<String, Object>>) diff.get("exclusive_examples");
        for (Map<String, Object> e : examples) {
          o.printf("  %-12s latent %4s (density %.3f): %s%n", e.get("side"), e.get("latent"),
              ((Number) e.get("density")).doubleValue(), e.get("example"));
        }
      }
      o.println("report: " + report);
      o.flush();
      if (serve) {
        serveResults(node, cfg, sessionId, sae != null, neurons != null, diff != null, o);
      }
      return LoupeCli.OK;
    }
  }

  /**
   * {@code --serve}: the HTTP API and web UI on the node that ran the demo, so its jobs, coders and
   * model session are there to browse; blocks until the JVM is asked to stop (Ctrl-C), then lets the
   * caller close the node.
   */
  private void serveResults(LoupeNode node, LoupeConfig cfg, String sessionId, boolean sae, boolean neurons,
      boolean diff, PrintWriter o) throws InterruptedException {
    int bindPort = port != null ? port : cfg.serverPort();
    io.vertx.core.http.HttpServer http;
    try {
      http = dev.loupe.core.server.HttpApi.listen(node, new dev.loupe.core.server.ServerOptions().setHost("127.0.0.1")
          .setPort(bindPort).setToken(cfg.serverToken()).setModelsDir(cfg.home().resolve("models")))
          .toCompletionStage().toCompletableFuture().join();
    } catch (java.util.concurrent.CompletionException e) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--port " + bindPort + ": cannot serve there ("
          + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + "); the report is written");
    }
    String url = "http://127.0.0.1:" + http.actualPort() + "/";
    String query = cfg.serverToken() == null ? "" : "?token=" + cfg.serverToken();
    o.println();
    o.println("web UI on the demo's results: " + url + query);
    url = url + query;
    o.println("  model session:     " + url + "#/sessions/" + sessionId);
    o.println("  jobs:              " + url + "#/jobs");
    if (sae) {
      o.println("  SAE features:      " + url + "#/coders");
    }
    if (neurons) {
      o.println("  language neurons:  " + url + "#/jobs/neurons-languages");
    }
    if (diff) {
      o.println("  model diff:        " + url + "#/jobs/crosscoder-demo-vs-demo-ft/diff");
    }
    o.println("Ctrl-C stops.");
    o.flush();
    java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    Thread hook = new Thread(() -> {
      stop.countDown();
      try {
        closed.await(30, TimeUnit.SECONDS); // the main thread closes the node; let it finish
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "loupe-demo-serve-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      stop.await();
      http.close().toCompletionStage().toCompletableFuture().join();
    } finally {
      closeSignal = closed;
    }
  }

  /** Counted down once the node is closed after {@code --serve}, so the shutdown hook can return. */
  private java.util.concurrent.CountDownLatch closeSignal;

  /**
   * Trains a TopK sparse autoencoder (the {@code sae} plugin, when installed) on the middle layer's
   * stored activations: one pass, the first tenth held out. Returns its summary, or null when the
   * plugin is absent or there are too few rows.
   */
  private Map<String, Object> trainSae(LoupeNode node, Path runDir, List<String> hooks, Map<String, Long> storedRows,
      PrintWriter err) throws Exception {
    if (noSae || node.plugins().methods().stream().noneMatch(m -> m.id().equals("sae"))) {
      return null;
    }
    String hook = hooks.get(hooks.size() / 2);
    long rows = storedRows.get(hook);
    int evalRows = (int) Math.min(4096, rows / 10);
    if (evalRows < 64) {
      err.println("demo: too few rows (" + rows + ") to train a sparse autoencoder; skipped");
      return null;
    }
    err.println("demo: training a TopK sparse autoencoder on " + hook + " (" + String.format("%,d", rows)
        + " stored rows, " + evalRows + " held out)");
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("activation", "topk");
    config.put("k", 16);
    config.put("expansion", 4);
    config.put("batch_size", 1024);
    config.put("lr", 0.001);
    config.put("eval_rows", evalRows);
    config.put("eval_every", 50L);
    config.put("top_examples", 10);
    JobHandle job = node.startJob("sae", config,
        Map.of("main", Map.of("store", Map.of("path", runDir.resolve("stores").resolve(hook).toString()))),
        "sae-" + hook.replace('.', '-'));
    JobStatus end = job.completion().get(10, TimeUnit.MINUTES);
    if (end.state() != JobState.SUCCEEDED) {
      throw new LoupeCli.CliException(LoupeCli.JOB_FAILED, "job " + end.jobId() + " " + end.state() + ": " + end.message());
    }
    Map<String, Object> summary = readResult(end.artifactDir().resolve("results").resolve("summary.json"));
    summary.put("artifacts", runDir.relativize(end.artifactDir()).toString());
    return summary;
  }

  /**
   * Trains a crosscoder (the {@code crosscoder} plugin, when installed) on the demo model and its
   * French fine-tune demo-ft at {@code hook}, on shuffled Europarl so every language is held out,
   * and returns its diff summary with the most frequent robust exclusive latents of each side and
   * an example context of each; null when skipped.
   */
  /** The languages the demo asks about, one against the rest each (config/datasets/europarl.yaml). */
  static final List<String> LANGUAGES = List.of("french", "german", "english", "greek", "spanish");

  /**
   * Looks for language neurons (the {@code neurons} plugin, when installed, and when the datasets
   * are defined): every MLP neuron of every layer against each language of {@link #LANGUAGES}
   * versus the rest, on shuffled Europarl. Returns one row per language (best neuron, F1, AUC,
   * dedicated or not, the largest probe's F1), or null when skipped.
   */
  private Map<String, Object> languageNeurons(LoupeNode node, dev.loupe.core.dataset.DatasetRegistry datasets,
      Path runDir, ModelInfo info, PrintWriter err) throws Exception {
    if (noNeurons || node.plugins().methods().stream().noneMatch(m -> m.id().equals("neurons"))) {
      return null;
    }
    if (!datasets.names().containsAll(LANGUAGES)) {
      err.println("demo: the language datasets " + LANGUAGES + " are not all defined (config/datasets); "
          + "language neurons skipped");
      return null;
    }
    err.println("demo: looking for language neurons among the " + info.nLayers() + " x " + info.dMlp()
        + " MLP neurons over " + String.format("%,d", tokens) + " shuffled Europarl tokens");
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("datasets", LANGUAGES);
    config.put("max_per_class", 500);
    config.put("min_per_class", 10);
    config.put("ks", List.of(1, 2, 4, 8, 16));
    config.put("top_examples", 5);
    config.put("context_tokens", 16);
    config.put("dashboard_neurons", 4);
    Map<String, Object> inputs = new LinkedHashMap<>();
    for (int l = 0; l < info.nLayers(); l++) {
      inputs.put("l" + l, Map.of("model", Map.of("model", model, "corpus", "europarl:shuffled",
          "hook", "blocks." + l + ".mlp.hook_post", "tokens", tokens, "ctx", Math.min(256, info.maxContext()))));
    }
    JobHandle job = node.startJob("neurons", config, inputs, "neurons-languages");
    JobStatus end = job.completion().get(15, TimeUnit.MINUTES);
    if (end.state() != JobState.SUCCEEDED) {
      // too few tokens for any language is not the demo's failure: say so and go on
      String why = String.valueOf(end.message());
      err.println("demo: language neurons skipped: " + (why.contains("no family could be scored")
          ? "too few tokens (" + String.format("%,d", tokens) + ") for any language to have rows in training and "
              + "held-out documents; run with more --tokens"
          : end.state().name().toLowerCase(java.util.Locale.ROOT) + ": " + why));
      return null;
    }
    List<Map<String, Object>> families = JSON.readValue(end.artifactDir().resolve("results/families.json").toFile(),
        new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, Object>>>() { });
    Map<String, Object> summary = readResult(end.artifactDir().resolve("results/summary.json"));
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Map<String, Object> f : families) {
      @SuppressWarnings("unchecked")
      Map<String, Object> best = (Map<String, Object>) f.get("best");
      if (best == null) {
        continue;
      }
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("family", f.get("family"));
      r.put("neuron", best.get("neuron"));
      r.put("f1", best.get("f1"));
      r.put("auc", best.get("auc"));
      r.put("sign", best.get("sign"));
      r.put("dedicated", f.get("dedicated"));
      r.put("dedicated_neurons", f.get("dedicated_neurons") instanceof List<?> l ? l.size() : f.get("dedicated_neurons"));
      r.put("k_needed", f.get("k_needed"));
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> curve = (List<Map<String, Object>>) f.get("curve");
      Map<String, Object> lastPoint = curve == null || curve.isEmpty() ? Map.of() : curve.get(curve.size() - 1);
      r.put("k_max", lastPoint.getOrDefault("k", "-"));
      r.put("f1_k_max", lastPoint.getOrDefault("f1", Double.NaN));
      rows.add(r);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("families", rows);
    out.put("tokens", summary.getOrDefault("tokens", tokens));
    out.put("neurons", summary.get("neurons"));
    out.put("skipped", summary.get("families_skipped") instanceof Map<?, ?> m ? new ArrayList<>(m.keySet()) : List.of());
    out.put("artifacts", runDir.relativize(end.artifactDir()).toString());
    return out;
  }

  private Map<String, Object> diffWithFineTune(LoupeNode node, Path runDir, String hook, PrintWriter err)
      throws Exception {
    if (noCrosscoder || !model.equals("demo")
        || node.plugins().methods().stream().noneMatch(m -> m.id().equals("crosscoder"))) {
      return null;
    }
    int evalRows = (int) Math.min(16_384, tokens / 10);
    if (evalRows < 64) {
      err.println("demo: too few tokens (" + tokens + ") to train a crosscoder; skipped");
      return null;
    }
    err.println("demo: training a crosscoder on demo and demo-ft (fine-tuned on French) at " + hook + " over "
        + String.format("%,d", tokens) + " shuffled Europarl tokens");
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("activation", "relu");
    config.put("l1", 2.0);
    config.put("l1_warmup_steps", 300L);
    config.put("expansion", 4);
    config.put("batch_size", 1024);
    config.put("epochs", 4);
    config.put("lr", 0.001);
    config.put("eval_rows", evalRows);
    config.put("eval_every", 0L);
    config.put("checkpoint_every", 0L);
    config.put("top_examples", 5);
    config.put("context_tokens", 16);
    Map<String, Object> inputs = new LinkedHashMap<>();
    for (String[] src : new String[][] {{"demo", "demo"}, {"demo-ft", "demo-ft"}}) {
      inputs.put(src[0], Map.of("model", Map.of("model", src[1], "corpus", "europarl:shuffled", "hook", hook,
          "tokens", tokens, "ctx", 256)));
    }
    JobHandle job = node.startJob("crosscoder", config, inputs, "crosscoder-demo-vs-demo-ft");
    JobStatus end = job.completion().get(15, TimeUnit.MINUTES);
    if (end.state() != JobState.SUCCEEDED) {
      throw new LoupeCli.CliException(LoupeCli.JOB_FAILED, "job " + end.jobId() + " " + end.state() + ": " + end.message());
    }
    Path results = end.artifactDir().resolve("results");
    Map<String, Object> summary = readResult(results.resolve("summary.json"));
    @SuppressWarnings("unchecked")
    Map<String, Object> diff = (Map<String, Object>) summary.get("diff");
    Map<String, Object> out = new LinkedHashMap<>(diff);
    out.put("hook", hook);
    out.put("d_sae", summary.get("d_sae"));
    out.put("eval_fve", summary.get("eval_fve"));
    out.put("artifacts", runDir.relativize(end.artifactDir()).toString());
    List<Map<String, Object>> latents = JSON.readValue(results.resolve("latents.json").toFile(),
        new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, Object>>>() { });
    List<Map<String, Object>> features = JSON.readValue(results.resolve("features.json").toFile(),
        new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, Object>>>() { });
    dev.loupe.sdk.model.ModelSession tokenizer = node.services().session(node.services().sessionFor("demo"))
        .orElseThrow();
    List<Map<String, Object>> examples = new ArrayList<>();
    for (String side : List.of("a_only", "b_only")) {
      latents.stream()
          .filter(l -> side.equals(l.get("category")) && !Boolean.TRUE.equals(l.get("flagged")))
          .sorted((x, y) -> Double.compare(((Number) y.get("density")).doubleValue(),
              ((Number) x.get("density")).doubleValue()))
          .limit(3)
          .forEach(l -> {
            int j = ((Number) l.get("latent")).intValue();
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("side", side.equals("a_only") ? "demo-only" : "demo-ft-only");
            e.put("latent", j);
            e.put("density", l.get("density"));
            e.put("example", exampleText(features.get(j), tokenizer));
            examples.add(e);
          });
    }
    out.put("exclusive_examples", examples);
    return out;
  }

  /** A latent's top example as text: its window with the example token in brackets. */
  @SuppressWarnings("unchecked")
  private static String exampleText(Map<String, Object> feature, dev.loupe.sdk.model.ModelSession tokenizer) {
    List<Map<String, Object>> top = (List<Map<String, Object>>) feature.get("top");
    if (top == null || top.isEmpty() || !(top.get(0).get("window") instanceof Map<?, ?> w)) {
      return "(no held-out example)";
    }
    List<Number> toks = (List<Number>) w.get("tokens");
    int focus = ((Number) w.get("focus")).intValue();
    int[] before = toks.subList(0, focus).stream().mapToInt(Number::intValue).toArray();
    int[] at = {toks.get(focus).intValue()};
    int[] after = toks.subList(focus + 1, toks.size()).stream().mapToInt(Number::intValue).toArray();
    return (tokenizer.decode(before) + "[" + tokenizer.decode(at) + "]" + tokenizer.decode(after))
        .replace('\n', ' ');
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> readResult(Path file) throws java.io.IOException {
    return JSON.readValue(file.toFile(), Map.class);
  }
}
