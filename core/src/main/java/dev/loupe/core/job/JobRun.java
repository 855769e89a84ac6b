package dev.loupe.core.job;

import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.model.ModelSession;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.BufferedWriter;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One job: its state machine, its artifact files, its event fan-out and the context it runs with. */
final class JobRun implements JobHandle {
  private static final Logger LOG = LoggerFactory.getLogger(JobRun.class);
  private static final long PROGRESS_INTERVAL_NANOS = 100_000_000L;
  private static final Pattern RESULT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  private final String id;
  private final MethodEntry entry;
  private final JobConfig config;
  private final Map<String, ActivationSource> inputs;
  private final Map<String, ModelSession> models;
  private final Path dir;
  private final Path checkpointDir;
  private final boolean resuming;
  private final Vertx vertx;
  private final List<JobListener> listeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<JobStatus> completion = new CompletableFuture<>();
  private final JobLogger jobLog;
  private final BufferedWriter metricsOut;
  private final Instant created = Instant.now();
  private final Context context = new Context();

  private volatile boolean cancelled;
  private volatile Progress lastProgress;
  private JobState state = JobState.PENDING;
  private final dev.loupe.core.dataset.DatasetRegistry datasets;
  private String message;
  private Instant started;
  private Instant finished;
  private Thread thread;
  // Event-bus progress coalescing: guarded by 'this'.
  private long lastProgressPublish;
  private Progress unpublishedProgress;

  JobRun(String id, MethodEntry entry, JobConfig config, JobRequest request, Path dir, Vertx vertx,
      List<JobListener> globalListeners, dev.loupe.core.dataset.DatasetRegistry datasets) throws IOException {
    this.id = id;
    this.datasets = datasets;
    this.entry = entry;
    this.config = config;
    this.inputs = request.inputs();
    this.models = request.models();
    this.dir = dir;
    this.vertx = vertx;
    this.checkpointDir = dir.resolve("checkpoints");
    this.resuming = Files.isDirectory(checkpointDir) && hasFiles(checkpointDir);
    Files.createDirectories(checkpointDir);
    Files.createDirectories(dir.resolve("results"));
    this.listeners.addAll(globalListeners);
    this.listeners.addAll(request.listeners());
    this.jobLog = new JobLogger(id, entry.id(), dir.resolve("job.log"));
    // A FileOutputStream, not a FileChannel: cancelling interrupts the job's thread, and an
    // interrupt closes a channel for good, losing every later metrics row.
    this.metricsOut = new BufferedWriter(new OutputStreamWriter(
        new FileOutputStream(dir.resolve("metrics.jsonl").toFile(), resuming), StandardCharsets.UTF_8));
    writeConfig(request);
  }

  private static boolean hasFiles(Path d) throws IOException {
    try (var s = Files.list(d)) {
      return s.findAny().isPresent();
    }
  }

  private void writeConfig(JobRequest request) throws IOException {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("jobId", id);
    doc.put("method", entry.id());
    doc.put("plugin", Map.of("id", entry.pluginId(), "version", entry.pluginVersion()));
    doc.put("created", created.toString());
    doc.put("config", config.asMap());
    Map<String, Object> ins = new LinkedHashMap<>();
    for (Map.Entry<String, ActivationSource> e : inputs.entrySet()) {
      Map<String, Object> d = new LinkedHashMap<>();
      ActivationSource s = e.getValue();
      d.put("hook", s.hookName());
      d.put("width", s.width());
      d.put("totalRows", s.totalRows());
      Object spec = request.inputDescriptions().get(e.getKey());
      if (spec != null) {
        d.put("spec", spec);
      }
      ins.put(e.getKey(), d);
    }
    doc.put("inputs", ins);
    ArtifactFiles.writeJsonAtomically(dir.resolve("config.json"), doc);
  }

  JobContext context() {
    return context;
  }

  MethodEntry entry() {
    return entry;
  }

  void addListener(JobListener l) {
    listeners.add(l);
  }

  // ---- JobHandle ----

  @Override
  public String id() {
    return id;
  }

  @Override
  public String method() {
    return entry.id();
  }

  @Override
  public synchronized JobState state() {
    return state;
  }

  @Override
  public synchronized JobStatus status() {
    return new JobStatus(id, entry.id(), entry.pluginId(), state, message, created, started, finished, lastProgress, dir);
  }

  @Override
  public Progress lastProgress() {
    return lastProgress;
  }

  @Override
  public Path artifactDir() {
    return dir;
  }

  @Override
  public CompletableFuture<JobStatus> completion() {
    return completion;
  }

  @Override
  public boolean cancel() {
    boolean finishNow;
    synchronized (this) {
      if (state.isFinal() || cancelled) {
        return false;
      }
      cancelled = true;
      finishNow = state == JobState.PENDING;
      if (thread != null) {
        thread.interrupt();
      }
    }
    jobLog.info("cancel requested");
    closeInputs();
    if (finishNow) {
      finish(JobState.CANCELLED, "cancelled before it started");
    }
    return true;
  }

  // ---- running ----

  /** Runs the method on the calling (worker) thread; never throws. */
  void runOnWorker() {
    synchronized (this) {
      if (state != JobState.PENDING || cancelled) {
        return; // cancelled while queued (cancel() finishes the job itself)
      }
      thread = Thread.currentThread();
      state = JobState.RUNNING;
      started = Instant.now();
    }
    publishStatus();
    ClassLoader previous = Thread.currentThread().getContextClassLoader();
    Thread.currentThread().setContextClassLoader(entry.classLoader());
    JobState end;
    String msg = null;
    try {
      jobLog.info("running {} (plugin {} {}) with config {}", entry.id(), entry.pluginId(), entry.pluginVersion(),
          config.asMap());
      entry.method().run(context);
      end = cancelled ? JobState.CANCELLED : JobState.SUCCEEDED;
      if (cancelled) {
        msg = "cancelled";
      }
    } catch (Throwable t) {
      if (cancelled || t instanceof CancellationException || t instanceof InterruptedException) {
        end = JobState.CANCELLED;
        msg = "cancelled";
        jobLog.info("stopped after cancellation ({})", t.toString());
      } else {
        end = JobState.FAILED;
        msg = t.getMessage() == null || t.getMessage().isBlank() ? t.getClass().getName() : t.getMessage();
        jobLog.error("failed: {}", msg, t);
      }
      if (t instanceof VirtualMachineError vme && !(t instanceof OutOfMemoryError)) {
        throw vme;
      }
    } finally {
      Thread.currentThread().setContextClassLoader(previous);
      synchronized (this) {
        thread = null;
      }
      // Clear an interrupt aimed at the method so it does not leak into the next job on this thread.
      Thread.interrupted();
    }
    closeInputs();
    finish(end, msg);
  }

  private void finish(JobState end, String msg) {
    synchronized (this) {
      if (state.isFinal()) {
        return;
      }
      state = end;
      message = msg;
      finished = Instant.now();
    }
    flushProgress();
    jobLog.info("{}{}", end, msg == null ? "" : ": " + msg);
    try {
      synchronized (metricsOut) {
        metricsOut.close();
      }
    } catch (IOException e) {
      LOG.debug("closing metrics of {} failed", id, e);
    }
    publishStatus();
    jobLog.close();
    completion.complete(status());
  }

  private void closeInputs() {
    for (ActivationSource s : inputs.values()) {
      try {
        s.close();
      } catch (RuntimeException e) {
        LOG.debug("closing input of job {} failed", id, e);
      }
    }
  }

  private void publishStatus() {
    JobStatus s = status();
    try {
      ArtifactFiles.writeJsonAtomically(dir.resolve("status.json"), s.toDoc());
    } catch (IOException e) {
      LOG.warn("job {}: cannot write status.json: {}", id, e.getMessage());
    }
    for (JobListener l : listeners) {
      try {
        l.onStatus(this, s);
      } catch (RuntimeException e) {
        LOG.warn("job listener failed on status", e);
      }
    }
    if (vertx != null) {
      JsonObject msg = new JsonObject(s.toDoc());
      vertx.eventBus().publish(JobAddresses.status(id), msg);
      vertx.eventBus().publish(JobAddresses.ALL_STATUS, msg);
    }
  }

  private void flushProgress() {
    Progress p;
    synchronized (this) {
      p = unpublishedProgress;
      unpublishedProgress = null;
    }
    if (p != null && vertx != null) {
      vertx.eventBus().publish(JobAddresses.progress(id), new JsonObject(p.toDoc(id)));
    }
  }

  /** The context handed to the method. */
  private final class Context implements JobContext {

    @Override
    public String jobId() {
      return id;
    }

    @Override
    public JobConfig config() {
      return config;
    }

    @Override
    public Set<String> inputNames() {
      return inputs.keySet();
    }

    @Override
    public List<String> datasetNames() {
      return datasets.names();
    }

    @Override
    public dev.loupe.sdk.dataset.TokenDataset dataset(String name) {
      return datasets.get(name);
    }

    @Override
    public ActivationSource input(String name) {
      ActivationSource s = inputs.get(name);
      if (s == null) {
        throw new IllegalArgumentException("job " + id + " has no input '" + name + "'; its inputs are " + inputs.keySet());
      }
      return s;
    }

    @Override
    public Optional<ModelSession> model(String inputName) {
      return Optional.ofNullable(models.get(inputName));
    }

    @Override
    public Path artifactDir() {
      return dir;
    }

    @Override
    public Path checkpointDir() {
      return checkpointDir;
    }

    @Override
    public boolean resuming() {
      return resuming;
    }

    @Override
    public void progress(long done, long total, String unit) {
      Progress p = new Progress(done, total, unit == null ? "" : unit, System.currentTimeMillis());
      lastProgress = p;
      for (JobListener l : listeners) {
        try {
          l.onProgress(JobRun.this, p);
        } catch (RuntimeException e) {
          LOG.warn("job listener failed on progress", e);
        }
      }
      if (vertx == null) {
        return;
      }
      boolean now;
      synchronized (JobRun.this) {
        long t = System.nanoTime();
        now = t - lastProgressPublish >= PROGRESS_INTERVAL_NANOS || (total > 0 && done >= total);
        if (now) {
          lastProgressPublish = t;
          unpublishedProgress = null;
        } else {
          unpublishedProgress = p;
        }
      }
      if (now) {
        vertx.eventBus().publish(JobAddresses.progress(id), new JsonObject(p.toDoc(id)));
      }
    }

    @Override
    public void metrics(long step, Map<String, Double> values) {
      Map<String, Double> clean = new LinkedHashMap<>();
      for (Map.Entry<String, Double> e : values.entrySet()) {
        Double v = e.getValue();
        clean.put(e.getKey(), v == null || v.isNaN() || v.isInfinite() ? null : v);
      }
      long time = System.currentTimeMillis();
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("step", step);
      row.put("time", time);
      row.putAll(clean);
      try {
        String line = ArtifactFiles.COMPACT.writeValueAsString(row);
        synchronized (metricsOut) {
          metricsOut.write(line);
          metricsOut.write('\n');
          metricsOut.flush();
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("job " + id + ": cannot append to metrics.jsonl", e);
      }
      for (JobListener l : listeners) {
        try {
          l.onMetrics(JobRun.this, step, clean);
        } catch (RuntimeException e) {
          LOG.warn("job listener failed on metrics", e);
        }
      }
      if (vertx != null) {
        Map<String, Object> msg = new LinkedHashMap<>();
        msg.put("jobId", id);
        msg.put("step", step);
        msg.put("time", time);
        msg.put("values", clean);
        vertx.eventBus().publish(JobAddresses.metrics(id), new JsonObject(msg));
      }
    }

    @Override
    public void publish(String name, Object result) {
      if (name == null || !RESULT_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("result name '" + name + "' must match " + RESULT_NAME.pattern()
            + " (it becomes results/NAME.json)");
      }
      byte[] json;
      try {
        json = ArtifactFiles.PRETTY.writeValueAsBytes(result);
        ArtifactFiles.writeAtomically(dir.resolve("results").resolve(name + ".json"), json);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("job " + id + ": cannot write results/" + name + ".json", e);
      }
      for (JobListener l : listeners) {
        try {
          l.onResult(JobRun.this, name, result);
        } catch (RuntimeException e) {
          LOG.warn("job listener failed on result", e);
        }
      }
      if (vertx != null) {
        JsonObject msg = new JsonObject().put("jobId", id).put("name", name)
            .put("result", io.vertx.core.json.Json.decodeValue(io.vertx.core.buffer.Buffer.buffer(json)));
        vertx.eventBus().publish(JobAddresses.results(id), msg);
      }
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public Logger log() {
      return jobLog;
    }
  }
}
