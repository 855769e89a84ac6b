package dev.loupe.core.pipeline;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.coder.CoderEvaluation;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobState;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.node.Harvest;
import dev.loupe.core.node.HarvestRequest;
import dev.loupe.core.node.HarvestService;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.node.NodeServices;
import dev.loupe.core.node.StreamToStore;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.core.store.StoreOptions;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.io.AtomicFiles;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * Runs a validated {@link Pipeline} step after step in its directory: harvests go to
 * {@code DIR/ID/<hook>} stores, jobs to {@code DIR/jobs/ID}, evaluations to {@code DIR/ID.json},
 * reports to {@code DIR/report.html}. After each step its outputs and a hash of its resolved
 * definition are written to {@code DIR/pipeline-state.json} (atomically), so {@code --resume}
 * skips the steps that completed with the same definition and reruns the first changed or failed
 * one and everything after it. A failed step stops the pipeline; what earlier steps made stays.
 */
public final class PipelineRunner {
  /** The file that records completed steps. */
  public static final String STATE = "pipeline-state.json";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** What a runner tells its caller as steps start and end. */
  public interface Events {
    /** A step started, was skipped ({@code --resume}), succeeded or failed. */
    void step(int index, int count, String id, String kind, String state, Map<String, Object> outputs, String message);

    /** Follows a running harvest (a progress bar or lines); returns when it has ended. */
    default void followHarvest(Harvest harvest, String label) throws InterruptedException, ExecutionException {
      harvest.completion().get();
    }
  }

  /** A step that did not complete; the pipeline stops there. */
  public static final class StepFailedException extends RuntimeException {
    private final String stepId;

    StepFailedException(String stepId, String message, Throwable cause) {
      super(message, cause);
      this.stepId = stepId;
    }

    public String stepId() {
      return stepId;
    }
  }

  private final Pipeline pipeline;
  private final Path dir;
  private final Supplier<LoupeNode> node;
  private final Events events;
  private final PrintWriter progress;
  private final Map<String, Map<String, Object>> outputs = new LinkedHashMap<>();
  private final Map<String, Object> state = new LinkedHashMap<>();

  /**
   * @param node the node jobs and harvests run on (asked for only when a step needs it; its jobs
   *     write under {@code dir/jobs})
   * @param progress where harvest and evaluation progress lines go
   */
  public PipelineRunner(Pipeline pipeline, Path dir, Supplier<LoupeNode> node, Events events, PrintWriter progress) {
    this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
    this.dir = dir.toAbsolutePath();
    this.node = node;
    this.events = events;
    this.progress = progress;
  }

  /** Whether {@code dir} holds the state of an earlier run. */
  public static boolean hasState(Path dir) {
    return Files.isRegularFile(dir.resolve(STATE));
  }

  /**
   * Runs every step (with {@code resume}, skipping those an earlier run completed unchanged).
   *
   * @return each step's outputs by id
   * @throws StepFailedException naming the step when one fails
   */
  @SuppressWarnings("unchecked")
  public Map<String, Map<String, Object>> run(boolean resume) throws IOException {
    Files.createDirectories(dir);
    Map<String, Object> previous = Map.of();
    if (resume && hasState(dir)) {
      previous = (Map<String, Object>) JSON.readValue(dir.resolve(STATE).toFile(), Map.class).getOrDefault("steps",
          Map.of());
    }
    state.put("pipeline", pipeline.name);
    state.put("file", pipeline.file.file.toAbsolutePath().toString());
    Map<String, Object> done = new LinkedHashMap<>();
    state.put("steps", done);
    boolean changed = false;
    int count = pipeline.steps.size();
    for (Pipeline.Step s : pipeline.steps) {
      Map<String, Object> body = Pipeline.substitute(s.body(), s.path(), pipeline.vars, outputs, false);
      String hash = hash(s.kind(), body);
      Map<String, Object> before = (Map<String, Object>) previous.get(s.id());
      if (!changed && before != null && hash.equals(before.get("hash")) && "done".equals(before.get("state"))) {
        Map<String, Object> out = (Map<String, Object>) before.get("outputs");
        outputs.put(s.id(), out);
        done.put(s.id(), before);
        events.step(s.index(), count, s.id(), s.kind(), "skipped", out, "completed in an earlier run");
        continue;
      }
      changed = true;
      events.step(s.index(), count, s.id(), s.kind(), "started", Map.of(), "");
      long t0 = System.nanoTime();
      Map<String, Object> out;
      try {
        out = switch (s.kind()) {
          case "harvest" -> harvest(s, body);
          case "job" -> job(s, body);
          case "eval" -> eval(s, body);
          default -> report(s, body);
        };
      } catch (StepFailedException e) {
        record(done, s, hash, "failed", Map.of(), e.getMessage());
        events.step(s.index(), count, s.id(), s.kind(), "failed", Map.of(), e.getMessage());
        throw e;
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        record(done, s, hash, "failed", Map.of(), msg);
        events.step(s.index(), count, s.id(), s.kind(), "failed", Map.of(), msg);
        throw new StepFailedException(s.id(), "step " + s.id() + " (" + s.kind() + ") failed: " + msg, e);
      }
      outputs.put(s.id(), out);
      record(done, s, hash, "done", out, String.format(Locale.ROOT, "%.1f s", (System.nanoTime() - t0) / 1e9));
      events.step(s.index(), count, s.id(), s.kind(), "done", out,
          String.format(Locale.ROOT, "%.1f s", (System.nanoTime() - t0) / 1e9));
    }
    return outputs;
  }

  private void record(Map<String, Object> done, Pipeline.Step s, String hash, String st, Map<String, Object> out,
      String message) throws IOException {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("kind", s.kind());
    entry.put("state", st);
    entry.put("hash", hash);
    entry.put("outputs", out);
    entry.put("message", message);
    done.put(s.id(), entry);
    AtomicFiles.write(dir.resolve(STATE), JSON.writeValueAsBytes(state));
  }

  private static String hash(String kind, Map<String, Object> body) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(kind.getBytes(StandardCharsets.UTF_8));
      d.update(new ObjectMapper().writeValueAsBytes(body));
      return HexFormat.of().formatHex(d.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private Map<String, Object> harvest(Pipeline.Step s, Map<String, Object> body) throws Exception {
    JobConfig c = Pipeline.HARVEST.validate(body);
    Path out = dir.resolve(s.id());
    // a rerun starts the stores over: an interrupted harvest leaves nothing to resume
    deleteTree(out);
    NodeServices services = node.get().services();
    String model = c.getString("model");
    String sessionId = services.sessionFor(model);
    ModelInfo info = services.session(sessionId).orElseThrow().info();
    List<String> hooks = c.getStringList("hooks");
    Harvest h = services.harvest(sessionId, new HarvestRequest(c.getString("corpus"), hooks, c.getLong("tokens"),
        c.getInt("ctx"), 1024, 8, 1, 60));
    StoreOptions opts = StoreOptions.defaults().dtype(switch (c.getString("dtype")) {
      case "f16" -> DType.F16;
      case "bf16" -> DType.BF16;
      default -> DType.F32;
    });
    Map<String, CompletableFuture<Long>> writers = new LinkedHashMap<>();
    for (String hook : hooks) {
      int width = HarvestService.rowWidth(services.session(sessionId).orElseThrow(), hook);
      writers.put(hook, StreamToStore.start(node.get().vertx(), h.streams().get(hook), out.resolve(hook), info.id(),
          hook, width, opts));
    }
    events.followHarvest(h, s.id());
    Map<String, Object> rows = new LinkedHashMap<>();
    for (Map.Entry<String, CompletableFuture<Long>> w : writers.entrySet()) {
      rows.put(w.getKey(), w.getValue().get());
    }
    Harvest end = h.completion().get();
    if (end.state() != Harvest.State.DONE) {
      throw new StepFailedException(s.id(), "harvest " + end.state() + ": " + end.message(), null);
    }
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("dir", out.toString());
    o.put("tokens", end.tokensDone());
    o.put("rows", rows);
    return o;
  }

  private Map<String, Object> job(Pipeline.Step s, Map<String, Object> body) throws Exception {
    String method = (String) body.get("method");
    JobHandle job = node.get().startJob(method, Pipeline.asMap(body.get("config")), Pipeline.asMap(body.get("inputs")),
        s.id());
    JobStatus end = job.completion().get();
    if (end.state() != JobState.SUCCEEDED) {
      throw new StepFailedException(s.id(), "step " + s.id() + " (job " + method + ") " + end.state().name()
          .toLowerCase(Locale.ROOT) + ": " + end.message() + " (log: " + end.artifactDir().resolve("job.log") + ")", null);
    }
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("dir", end.artifactDir().toString());
    o.put("id", end.jobId());
    o.put("method", method);
    return o;
  }

  private Map<String, Object> eval(Pipeline.Step s, Map<String, Object> body) throws IOException {
    JobConfig c = Pipeline.EVAL.validate(body);
    Path coder = Path.of(c.getString("coder"));
    Map<String, Object> result;
    try (NDManager m = NDManager.newBaseManager(); LocalModelSession session = LocalModelSession.open(c.getString("model"))) {
      SparseCoderFiles.Loaded loaded;
      try {
        loaded = SparseCoderFiles.load(m, coder);
      } catch (IOException e) {
        throw new StepFailedException(s.id(), "step " + s.id() + " (eval): coder " + coder + ": " + e.getMessage(), e);
      }
      result = CoderEvaluation.evaluate(loaded, coder.toString(), session, c.getString("model"), c.getString("hook"),
          c.getString("hook_out"), c.getString("corpus"), c.getLong("tokens"), 0, c.getInt("splice_windows"), progress);
    }
    Path file = dir.resolve(s.id() + ".json");
    AtomicFiles.write(file, JSON.writeValueAsBytes(result));
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("file", file.toString());
    for (String k : List.of("fve", "l0", "loss_recovered")) {
      if (result.containsKey(k)) {
        o.put(k, result.get(k));
      }
    }
    return o;
  }

  private Map<String, Object> report(Pipeline.Step s, Map<String, Object> body) throws IOException {
    JobConfig c = Pipeline.REPORT.validate(body);
    String title = c.getString("title").isEmpty() ? pipeline.name : c.getString("title");
    Path file = PipelineReport.write(dir, title, pipeline, outputs);
    return Map.of("file", file.toString());
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var s = Files.walk(p)) {
      for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }
}
