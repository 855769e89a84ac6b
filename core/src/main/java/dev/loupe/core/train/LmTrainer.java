package dev.loupe.core.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.Document;
import dev.loupe.core.corpus.Split;
import dev.loupe.core.model.ByteTokenizer;
import dev.loupe.core.model.ForwardHooks;
import dev.loupe.core.model.ForwardResult;
import dev.loupe.core.model.Gpt2Config;
import dev.loupe.core.model.Gpt2Model;
import dev.loupe.core.model.HfDirectory;
import dev.loupe.core.model.HookedTransformer;
import dev.loupe.core.model.LoadedModel;
import dev.loupe.core.model.ModelRegistry;
import dev.loupe.core.model.TokenSampler;
import dev.loupe.core.model.Tokenizer;
import dev.loupe.sdk.io.AtomicFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Trains a causal language model with DJL autograd on the PyTorch engine: next-token
 * cross-entropy on random windows of a corpus's training split, AdamW (decoupled weight decay),
 * linear warm-up then cosine decay, global gradient-norm clipping, the recipe of GPT-2 style
 * training (Radford et al. 2019; nanoGPT-like defaults). The forward pass is the model's own
 * {@link HookedTransformer#forward}, the same code that analyses the model afterwards.
 *
 * <p>A run is deterministic given its seed: the model initialisation is seeded, batch {@code s}
 * is drawn from a generator seeded by the step, and checkpoints hold the exact fp32 weights and
 * optimizer moments, so a run resumed from a checkpoint continues exactly as if never stopped (on
 * the same machine and thread count). Validation bits per byte are measured every
 * {@code eval_every} steps on fixed windows spread over the validation split.
 *
 * <p>DJL allows one gradient collector per JVM, so one training runs at a time per process.
 */
public final class LmTrainer {
  /** What a training run tells its caller as it goes. */
  public interface Listener {
    default void message(String text) {}

    default void started(int fromStep, int totalSteps, long parameters) {}

    default void step(StepStats s) {}

    default void evaluated(int step, double valBpb) {}

    default void checkpointed(int step, Path dir) {}
  }

  /** One optimisation step's figures ({@code step} counts completed steps, from 1). */
  public record StepStats(int step, long tokens, double lr, double loss, double gradNorm, double tokensPerSecond,
      double elapsedSeconds) {}

  /** The outcome: where the model is, and its final figures. */
  public record Result(Path out, Path workDir, int steps, long tokens, double elapsedSeconds, double valBpb,
      double finalLoss, long parameters, Map<String, String> samples, TokenData train, TokenData validation) {}

  static final String CHECKPOINTS = "checkpoints";
  static final String LATEST = "LATEST";
  static final String METRICS = "metrics.jsonl";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final double LN2 = Math.log(2);

  private final LmTrainConfig cfg;
  private final ModelRegistry registry;
  private final Listener listener;

  public LmTrainer(LmTrainConfig cfg, ModelRegistry registry, Listener listener) {
    this.cfg = cfg;
    this.registry = registry;
    this.listener = listener;
  }

  /** The step of the latest complete checkpoint in {@code workDir}, or -1 when there is none. */
  public static int latestCheckpoint(Path workDir) {
    Path latest = workDir.resolve(CHECKPOINTS).resolve(LATEST);
    if (!Files.isRegularFile(latest)) {
      return -1;
    }
    try {
      String name = Files.readString(latest).trim();
      return Integer.parseInt(name.substring("step-".length()));
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("checkpoint pointer " + latest + " is unreadable: " + e.getMessage());
    }
  }

  /**
   * Trains. With {@code resume} the run continues from the latest checkpoint in the work
   * directory (or starts afresh when there is none); without it an existing checkpoint is an error
   * unless {@code fresh} asks to discard it.
   *
   * @throws IllegalArgumentException for a bad corpus or model before any training step
   * @throws IllegalStateException when a checkpoint exists and neither resume nor fresh is set
   */
  public Result run(boolean resume, boolean fresh) throws IOException {
    Path work = cfg.workDir();
    int ckpt = latestCheckpoint(work);
    if (ckpt >= 0 && !resume && !fresh) {
      throw new IllegalStateException("work directory " + work + " already holds a checkpoint at step " + ckpt
          + "; pass --resume to continue it or --fresh to start over");
    }
    if (fresh) {
      deleteTree(work.resolve(CHECKPOINTS));
      Files.deleteIfExists(work.resolve(METRICS));
      ckpt = -1;
    }
    checkMemory();
    Files.createDirectories(work);
    try (NDManager root = NDManager.newBaseManager()) {
      LoadedModel start = startingModel(root);
      Tokenizer tokenizer = start.tokenizer();
      HookedTransformer base = start.model();
      if (!(base instanceof Gpt2Model)) {
        // Only the GPT-2 forward is checked to be autograd-safe (no in-place op on a saved tensor).
        base.close();
        throw new IllegalArgumentException("train-lm fine-tunes GPT-2 models; '" + cfg.init() + "' is a "
            + base.architecture() + (base.causal() ? "" : " encoder") + " model");
      }
      if (cfg.context() > base.maxContext()) {
        throw new IllegalArgumentException("context " + cfg.context() + " exceeds the model's maximum context "
            + base.maxContext());
      }
      listener.message("reading corpus '" + cfg.corpus() + "'");
      TokenData train = data(tokenizer, Split.TRAIN);
      TokenData val = data(tokenizer, Split.VALIDATION);
      listener.message(String.format("train split: %,d documents, %,d tokens; validation: %,d documents, %,d tokens",
          train.documents(), train.tokens(), val.documents(), val.tokens()));
      HookedTransformer model = base;
      int done = 0;
      double elapsedBefore = 0;
      long tokensBefore = 0;
      AdamW adam = new AdamW(cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay(), root);
      if (resume && ckpt >= 0) {
        Path dir = work.resolve(CHECKPOINTS).resolve(stepName(ckpt));
        LoadedModel restored = HfDirectory.load(dir, cfg.name(), root);
        model = restored.model();
        base.close();
        adam.load(dir.resolve("optimizer.safetensors"), model.weights());
        ObjectNode state = (ObjectNode) JSON.readTree(dir.resolve("state.json").toFile());
        done = state.get("step").asInt();
        elapsedBefore = state.get("elapsed_s").asDouble();
        tokensBefore = state.get("tokens").asLong();
        truncateMetrics(work.resolve(METRICS), done);
        listener.message("resumed from " + dir + " at step " + done);
      } else {
        Files.deleteIfExists(work.resolve(METRICS));
      }
      for (NDArray w : model.weights().values()) {
        w.setRequiresGradient(true);
      }
      long params = model.parameterCount();
      listener.started(done, cfg.steps(), params);
      int[][] evalWindows = val.evenWindows(cfg.evalWindows(), cfg.context());
      double valBpb = Double.NaN;
      double loss = Double.NaN;
      long tokens = tokensBefore;
      long t0 = System.nanoTime();
      try (BufferedWriter metrics = Files.newBufferedWriter(work.resolve(METRICS), StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
        for (int step = done; step < cfg.steps(); step++) {
          if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException("training interrupted at step " + step);
          }
          long s0 = System.nanoTime();
          int[][] win = train.window(cfg.seed(), step, cfg.batchSize(), cfg.context());
          loss = trainStep(model, win, root);
          double norm = AdamW.clipGradients(model.weights(), cfg.gradClip());
          double lr = cfg.lrAt(step);
          adam.step(model.weights(), lr);
          tokens += (long) cfg.batchSize() * cfg.context();
          double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
          double tps = (double) cfg.batchSize() * cfg.context() / ((System.nanoTime() - s0) / 1e9);
          StepStats st = new StepStats(step + 1, tokens, lr, loss, norm, tps, elapsed);
          ObjectNode line = JSON.createObjectNode();
          line.put("step", step + 1).put("tokens", tokens).put("lr", lr).put("train_loss", loss)
              .put("grad_norm", norm).put("tokens_per_s", tps).put("elapsed_s", elapsed);
          if (!Double.isFinite(loss)) {
            throw new IllegalStateException("training diverged at step " + (step + 1) + " (loss " + loss
                + "); lower 'lr' or raise 'warmup_steps'");
          }
          boolean last = step + 1 == cfg.steps();
          if ((step + 1) % cfg.evalEvery() == 0 || last) {
            valBpb = evaluate(model, evalWindows, root) / val.bytesPerToken();
            line.put("val_bpb", valBpb);
            listener.evaluated(step + 1, valBpb);
          }
          metrics.write(JSON.writeValueAsString(line));
          metrics.newLine();
          metrics.flush();
          listener.step(st);
          if ((step + 1) % cfg.checkpointEvery() == 0 || last) {
            Path dir = checkpoint(model, tokenizer, adam, step + 1, tokens, elapsed);
            listener.checkpointed(step + 1, dir);
          }
        }
      }
      double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
      if (Double.isNaN(valBpb)) {
        // resumed after the last step: measure again so the result is complete
        valBpb = evaluate(model, evalWindows, root) / val.bytesPerToken();
      }
      for (NDArray w : model.weights().values()) {
        w.setRequiresGradient(false);
      }
      HfDirectory.save(model, tokenizer, cfg.out());
      Map<String, String> samples = samples(model, tokenizer, root);
      listener.message("model written to " + cfg.out());
      adam.close();
      model.close();
      return new Result(cfg.out(), work, cfg.steps(), tokens, elapsed, valBpb, loss, params, samples, train, val);
    }
  }

  /**
   * Refuses a fresh model whose weights, gradients and two Adam moments (16 bytes a parameter)
   * would not fit in this machine's memory, before anything is read or allocated.
   */
  private void checkMemory() {
    LmTrainConfig.Shape s = cfg.shape();
    if (s == null) {
      return;
    }
    long d = s.dModel();
    long params = 12L * s.layers() * d * d + (long) (ByteTokenizer.VOCAB_SIZE + s.context()) * d;
    long need = params * 16;
    long have = physicalMemory();
    if (have > 0 && need > have) {
      throw new IllegalArgumentException(String.format("model %d layers x d_model %d has about %,d parameters and needs "
          + "about %.1f GB for weights, gradients and Adam state; this machine has %.1f GB", s.layers(), s.dModel(),
          params, need / 1e9, have / 1e9));
    }
  }

  private static long physicalMemory() {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getTotalMemorySize() : -1;
  }

  private LoadedModel startingModel(NDManager root) {
    if (cfg.init() != null) {
      return registry.load(cfg.init(), root);
    }
    LmTrainConfig.Shape s = cfg.shape();
    Gpt2Config c = Gpt2Config.of(ByteTokenizer.VOCAB_SIZE, s.context(), s.dModel(), s.layers(), s.heads());
    return new LoadedModel(cfg.name(), Gpt2Model.random(c, cfg.seed(), root), ByteTokenizer.instance());
  }

  private TokenData data(Tokenizer tokenizer, Split split) {
    try (Stream<Document> docs = Corpora.open(cfg.corpus())) {
      return TokenData.encode(docs, split::contains, tokenizer, "the " + split.label() + " split of corpus '"
          + cfg.corpus() + "'");
    }
  }

  /** Forward, loss and backward on one batch; leaves the gradients on the weights. Returns the mean loss in nats. */
  static double trainStep(HookedTransformer model, int[][] windows, NDManager root) {
    Batch batch = Batch.of(windows);
    try (NDManager step = root.newSubManager();
        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      ForwardResult r = model.forward(batch.inputs(), ForwardHooks.none(), step);
      NDArray loss = r.logits().logSoftmax(2).gather(batch.targets(step), 2).mean().neg();
      gc.backward(loss);
      return loss.getFloat();
    }
  }

  /** Equal-length windows split into model inputs (all tokens but the last) and next-token targets. */
  private record Batch(int[][] inputs, long[] targetIds, int size, int length) {
    static Batch of(int[][] windows) {
      int b = windows.length;
      int t = windows[0].length - 1;
      int[][] inputs = new int[b][];
      long[] targets = new long[b * t];
      for (int i = 0; i < b; i++) {
        inputs[i] = Arrays.copyOf(windows[i], t);
        for (int j = 0; j < t; j++) {
          targets[i * t + j] = windows[i][j + 1];
        }
      }
      return new Batch(inputs, targets, b, t);
    }

    /** Targets as [batch, length, 1] int64 for gather; duplicated so autograd never reads Java memory. */
    NDArray targets(NDManager m) {
      return m.create(targetIds, new Shape(size, length, 1)).duplicate();
    }
  }

  /** Mean next-token loss in bits over the windows' targets (no gradients). */
  static double evaluate(HookedTransformer model, int[][] windows, NDManager root) {
    double bits = 0;
    long n = 0;
    for (int s = 0; s < windows.length; s += 16) {
      int[][] batch = Arrays.copyOfRange(windows, s, Math.min(windows.length, s + 16));
      for (double b : windowBits(model, batch, root)) {
        bits += b;
      }
      n += (long) batch.length * (batch[0].length - 1);
    }
    return bits / n;
  }

  /**
   * The bits a model spends coding each document: the document is preceded by the newline that
   * separates documents in training (the model's "start of document", as the boundary symbol is
   * for an n-gram model), cut into windows of {@code context} predicted tokens, each window
   * predicted from its own start. For a byte-level tokenizer the result divided by the
   * document's UTF-8 length is its bits per byte.
   */
  public static double[] documentBits(HookedTransformer model, Tokenizer tokenizer, List<String> docs, int context,
      NDManager root) {
    double[] bits = new double[docs.size()];
    List<int[]> windows = new ArrayList<>();
    List<Integer> owner = new ArrayList<>();
    for (int d = 0; d < docs.size(); d++) {
      int[] ids = tokenizer.encode("\n" + docs.get(d));
      for (int o = 0; o + 1 < ids.length; o += context) {
        windows.add(Arrays.copyOfRange(ids, o, Math.min(ids.length, o + context + 1)));
        owner.add(d);
      }
    }
    // Batch windows of equal length together so each batch is rectangular (no padding).
    Integer[] order = new Integer[windows.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingInt(i -> windows.get(i).length));
    for (int s = 0; s < order.length; ) {
      int len = windows.get(order[s]).length;
      int e = s;
      while (e < order.length && windows.get(order[e]).length == len && e - s < 16) {
        e++;
      }
      int[][] batch = new int[e - s][];
      for (int i = s; i < e; i++) {
        batch[i - s] = windows.get(order[i]);
      }
      double[] wb = windowBits(model, batch, root);
      for (int i = s; i < e; i++) {
        bits[owner.get(order[i])] += wb[i - s];
      }
      s = e;
    }
    return bits;
  }

  /** Total bits (-log2 p) of each window's targets (tokens 1..n predicted from the ones before). */
  static double[] windowBits(HookedTransformer model, int[][] windows, NDManager root) {
    Batch batch = Batch.of(windows);
    try (NDManager m = root.newSubManager()) {
      ForwardResult r = model.forward(batch.inputs(), ForwardHooks.none(), m);
      float[] nats = r.logits().logSoftmax(2).gather(batch.targets(m), 2).sum(new int[] {1, 2}).neg().toFloatArray();
      double[] out = new double[nats.length];
      for (int i = 0; i < nats.length; i++) {
        out[i] = nats[i] / LN2;
      }
      return out;
    }
  }

  private Map<String, String> samples(HookedTransformer model, Tokenizer tokenizer, NDManager root) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String prompt : cfg.samples()) {
      TokenSampler sampler = new TokenSampler(0.7, 0, 0.95, cfg.seed());
      int[] p = tokenizer.encode(prompt);
      int[] seq = Arrays.copyOf(p, Math.min(cfg.context(), p.length + cfg.sampleTokens()));
      int len = p.length;
      while (len < seq.length) {
        try (NDManager m = root.newSubManager()) {
          ForwardResult r = model.forward(new int[][] {Arrays.copyOf(seq, len)}, ForwardHooks.none(), m);
          float[] last = r.logits().get(0, len - 1).toFloatArray();
          seq[len++] = sampler.next(last, 0, last.length);
        }
      }
      out.put(prompt, tokenizer.decode(Arrays.copyOfRange(seq, p.length, len)));
    }
    return out;
  }

  private Path checkpoint(HookedTransformer model, Tokenizer tokenizer, AdamW adam, int step, long tokens,
      double elapsed) throws IOException {
    Path dirs = cfg.workDir().resolve(CHECKPOINTS);
    Path dir = dirs.resolve(stepName(step));
    deleteTree(dir);
    HfDirectory.save(model, tokenizer, dir);
    adam.save(dir.resolve("optimizer.safetensors"));
    ObjectNode state = JSON.createObjectNode();
    state.put("step", step).put("tokens", tokens).put("elapsed_s", elapsed).put("seed", cfg.seed());
    AtomicFiles.write(dir.resolve("state.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
    // The pointer is the commit: a checkpoint without it (killed mid-write) is never read.
    AtomicFiles.write(dirs.resolve(LATEST), stepName(step).getBytes(StandardCharsets.UTF_8));
    try (Stream<Path> old = Files.list(dirs)) {
      for (Path p : (Iterable<Path>) old::iterator) {
        String n = p.getFileName().toString();
        if (Files.isDirectory(p) && !n.equals(stepName(step))) {
          deleteTree(p);
        }
      }
    }
    return dir;
  }

  static String stepName(int step) {
    return String.format("step-%08d", step);
  }

  /** Keeps the metrics lines of steps up to {@code step} (a killed run may have written past its checkpoint). */
  private static void truncateMetrics(Path file, int step) throws IOException {
    if (!Files.exists(file)) {
      return;
    }
    StringBuilder kept = new StringBuilder();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      try {
        if (JSON.readTree(line).get("step").asInt() <= step) {
          kept.append(line).append('\n');
        }
      } catch (IOException | RuntimeException e) {
        // a line cut off by the kill: dropped
      }
    }
    AtomicFiles.write(file, kept.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  /** Thrown when the training thread is interrupted (Ctrl-C). */
  public static final class InterruptedIOException extends IOException {
    public InterruptedIOException(String message) {
      super(message);
    }
  }
}
