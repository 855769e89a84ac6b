package dev.loupe.core.job;

import dev.loupe.core.plugin.MethodCatalog;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.method.MethodInfo;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * Starts analysis-method jobs, runs each on a worker thread of its own and keeps track of them.
 *
 * <p>{@link #start(JobRequest)} validates the whole request first (method id, config against the
 * method's schema, inputs against the method's declared inputs) and throws before anything is
 * created, so a bad request leaves no job and no directory behind. A job that throws fails on its
 * own: its status says why, its {@code job.log} has the stack trace and other jobs go on.
 *
 * <p>Each job writes {@code <runDir>/<jobId>/}: {@code config.json}, {@code status.json},
 * {@code metrics.jsonl}, {@code results/NAME.json}, {@code job.log} and {@code checkpoints/}.
 * Events go to in-process {@link JobListener}s and, when a Vert.x instance is given, to the event
 * bus at the {@link JobAddresses}. Thread-safe.
 */
public final class JobManager implements AutoCloseable {
  private static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private final MethodCatalog catalog;
  private final Path defaultRunDir;
  private final Vertx vertx;
  private final ExecutorService workers;
  private final ExecutorService liveThreads;
  private final Map<String, JobRun> jobs = new ConcurrentHashMap<>();
  private final List<JobListener> listeners = new CopyOnWriteArrayList<>();
  private volatile dev.loupe.core.dataset.DatasetRegistry datasets = dev.loupe.core.dataset.DatasetRegistry.empty();
  private volatile boolean closed;

  /**
   * @param catalog where method ids are looked up
   * @param defaultRunDir where job directories go when a request names none
   * @param workerThreads how many jobs may run at once; later ones wait as PENDING
   * @param vertx the event bus to publish job events on, or null for none
   */
  public JobManager(MethodCatalog catalog, Path defaultRunDir, int workerThreads, Vertx vertx) {
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    this.defaultRunDir = Objects.requireNonNull(defaultRunDir, "defaultRunDir");
    if (workerThreads < 1) {
      throw new IllegalArgumentException("workerThreads must be >= 1, got " + workerThreads);
    }
    this.vertx = vertx;
    AtomicInteger n = new AtomicInteger();
    this.workers = Executors.newFixedThreadPool(workerThreads, r -> {
      Thread t = new Thread(r, "loupe-job-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    AtomicInteger live = new AtomicInteger();
    this.liveThreads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "loupe-live-job-" + live.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** A manager without an event bus. */
  public JobManager(MethodCatalog catalog, Path defaultRunDir, int workerThreads) {
    this(catalog, defaultRunDir, workerThreads, null);
  }

  /** Where job directories go when a request names none (absolute). */
  public Path runDir() {
    return defaultRunDir.toAbsolutePath().normalize();
  }

  /** The labelled token datasets offered to jobs started afterwards ({@code JobContext.dataset}). */
  public void useDatasets(dev.loupe.core.dataset.DatasetRegistry registry) {
    this.datasets = Objects.requireNonNull(registry, "registry");
  }

  /** Registers a listener for the events of every job started afterwards. */
  public void addListener(JobListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /**
   * Validates the request and starts the job.
   *
   * @throws dev.loupe.core.plugin.UnknownMethodException if no method has that id
   * @throws dev.loupe.sdk.config.ConfigException naming the offending config key
   * @throws IllegalArgumentException naming a missing or unexpected input, or a bad job id
   * @throws IllegalStateException if a job with that id is still active, or the manager is closed
   * @throws UncheckedIOException if the job directory cannot be created
   */
  public JobHandle start(JobRequest request) {
    Objects.requireNonNull(request, "request");
    if (closed) {
      throw new IllegalStateException("job manager is closed");
    }
    MethodEntry entry = catalog.method(request.method());
    MethodInfo info = entry.info();
    JobConfig config = info.config().validate(request.config());
    checkInputs(info, request.inputs());
    String id = request.jobId() == null ? newJobId(info.id()) : request.jobId();
    if (!JOB_ID.matcher(id).matches()) {
      throw new IllegalArgumentException("job id '" + id + "' must match " + JOB_ID.pattern());
    }
    Path runDir = request.runDir() == null ? defaultRunDir : request.runDir();
    JobRun run;
    synchronized (jobs) {
      JobRun existing = jobs.get(id);
      if (existing != null && !existing.state().isFinal()) {
        throw new IllegalStateException("job '" + id + "' is still " + existing.state());
      }
      try {
        run = new JobRun(id, entry, config, request, runDir.resolve(id).toAbsolutePath(), vertx, listeners, datasets);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create the directory of job '" + id + "' under " + runDir + ": "
            + e.getMessage(), e);
      }
      jobs.put(id, run);
    }
    (request.live() ? liveThreads : workers).execute(run::runOnWorker);
    return run;
  }

  private static void checkInputs(MethodInfo info, Map<String, ActivationSource> given) {
    if (info.anyInputs()) {
      if (given.isEmpty()) {
        throw new IllegalArgumentException("method '" + info.id() + "' needs at least one input (any names)");
      }
      return;
    }
    List<String> missing = new ArrayList<>();
    for (String name : info.inputs()) {
      if (!given.containsKey(name)) {
        missing.add(name);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("method '" + info.id() + "' needs input" + (missing.size() > 1 ? "s " : " ")
          + missing + " (it reads " + info.inputs() + "); given " + given.keySet());
    }
    for (String name : given.keySet()) {
      if (!info.inputs().contains(name)) {
        throw new IllegalArgumentException("input '" + name + "' is not read by method '" + info.id() + "'; it reads "
            + info.inputs());
      }
    }
  }

  private static String newJobId(String method) {
    return method + "-" + LocalDateTime.now().format(STAMP) + "-"
        + Integer.toHexString(0x1000 + ThreadLocalRandom.current().nextInt(0xf000));
  }

  /** The job with that id (any state, while this manager lives). */
  public Optional<JobHandle> job(String jobId) {
    return Optional.ofNullable(jobs.get(jobId));
  }

  /** Every job this manager started. */
  public Collection<JobHandle> jobs() {
    return List.copyOf(jobs.values());
  }

  /**
   * Cancels a job: marks it cancelled, interrupts its thread and closes its inputs (which wakes a
   * method blocked on {@code next()}); the job ends CANCELLED once the method returns. A job still
   * waiting for a worker ends at once. Other jobs are unaffected.
   *
   * @return true if the job was active and is now being cancelled
   * @throws IllegalArgumentException if there is no such job
   */
  public boolean cancel(String jobId) {
    JobRun run = jobs.get(jobId);
    if (run == null) {
      throw new IllegalArgumentException("no job '" + jobId + "'; jobs: " + jobs.keySet());
    }
    return run.cancel();
  }

  /** Adds a listener to a running job (events already past are not replayed). */
  public void addListener(String jobId, JobListener listener) {
    JobRun run = jobs.get(jobId);
    if (run == null) {
      throw new IllegalArgumentException("no job '" + jobId + "'");
    }
    run.addListener(listener);
  }

  /** Cancels every active job and stops the workers, waiting up to 10 s for methods to return. */
  @Override
  public void close() {
    closed = true;
    for (JobRun run : jobs.values()) {
      run.cancel();
    }
    workers.shutdown();
    liveThreads.shutdown();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      workers.awaitTermination(10, TimeUnit.SECONDS);
      liveThreads.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
