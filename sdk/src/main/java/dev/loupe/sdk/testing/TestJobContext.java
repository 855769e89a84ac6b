package dev.loupe.sdk.testing;

import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.model.ModelSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-memory {@link JobContext} for testing an {@link AnalysisMethod} without a Loupe host: the
 * config is validated against the method's schema as the host would, inputs are the sources you
 * give, metrics and published results are kept for assertions, and a stop can be simulated by
 * turning cancelled once progress reaches a given count.
 *
 * <pre>{@code
 * TestJobContext ctx = TestJobContext.builder(new MyMethod(), tempDir)
 *     .config(Map.of("bins", 10)).input("main", source).build();
 * new MyMethod().run(ctx);
 * assertThat(ctx.result("summary")).containsKey("mean");
 * }</pre>
 *
 * <p>Thread-safe for what a job does with it (methods may report from helper threads).
 */
public final class TestJobContext implements JobContext {
  private final JobConfig config;
  private final Map<String, ActivationSource> inputs;
  private final Map<String, ModelSession> models;
  private final Map<String, TokenDataset> datasets;
  private final Path artifactDir;
  private final Path checkpointDir;
  private final boolean resuming;
  private final long cancelAt;
  private final List<Long> metricSteps = new ArrayList<>();
  private final List<Map<String, Double>> metricRows = new ArrayList<>();
  private final Map<String, Object> published = new LinkedHashMap<>();
  private volatile boolean cancelled;

  private TestJobContext(Builder b) {
    this.config = b.method.info().config().validate(b.config);
    this.inputs = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.inputs));
    this.models = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.models));
    this.datasets = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(b.datasets));
    this.artifactDir = b.dir.resolve("artifacts");
    this.checkpointDir = b.dir.resolve("checkpoints");
    this.resuming = b.resuming;
    this.cancelAt = b.cancelAt;
  }

  /**
   * A builder for a job of {@code method} whose artifact and checkpoint directories go under
   * {@code dir} (reuse the same dir with {@link Builder#resuming} to resume a run).
   */
  public static Builder builder(AnalysisMethod method, Path dir) {
    return new Builder(method, dir);
  }

  /** Builds a {@link TestJobContext}. */
  public static final class Builder {
    private final AnalysisMethod method;
    private final Path dir;
    private Map<String, ?> config = Map.of();
    private final Map<String, ActivationSource> inputs = new LinkedHashMap<>();
    private final Map<String, ModelSession> models = new LinkedHashMap<>();
    private final Map<String, TokenDataset> datasets = new LinkedHashMap<>();
    private boolean resuming;
    private long cancelAt = Long.MAX_VALUE;

    private Builder(AnalysisMethod method, Path dir) {
      this.method = Objects.requireNonNull(method, "method");
      this.dir = Objects.requireNonNull(dir, "dir");
    }

    /** The raw config (validated against the method's schema on {@link #build()}). */
    public Builder config(Map<String, ?> config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /** An input by name. */
    public Builder input(String name, ActivationSource source) {
      inputs.put(name, Objects.requireNonNull(source, "source"));
      return this;
    }

    /** The model session an input comes from (for splicing and logit effects). */
    public Builder model(String inputName, ModelSession session) {
      models.put(inputName, Objects.requireNonNull(session, "session"));
      return this;
    }

    /** A labelled token dataset the job can ask for by its {@link TokenDataset#name()}. */
    public Builder dataset(TokenDataset dataset) {
      Objects.requireNonNull(dataset, "dataset");
      datasets.put(dataset.name(), dataset);
      return this;
    }

    /** Whether the job resumes (checkpoints of an earlier run in the same dir are used). */
    public Builder resuming(boolean resuming) {
      this.resuming = resuming;
      return this;
    }

    /** Turn cancelled once {@link JobContext#progress} reports at least {@code done} units. */
    public Builder cancelAt(long done) {
      this.cancelAt = done;
      return this;
    }

    /**
     * @throws dev.loupe.sdk.config.ConfigException naming the key when the config does not fit the schema
     * @throws java.io.UncheckedIOException when the directories cannot be created
     */
    public TestJobContext build() {
      TestJobContext c = new TestJobContext(this);
      try {
        Files.createDirectories(c.artifactDir);
        Files.createDirectories(c.checkpointDir);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return c;
    }
  }

  /** A published result, or null. */
  public synchronized Object result(String name) {
    return published.get(name);
  }

  /** A published result that is a JSON object. */
  @SuppressWarnings("unchecked")
  public synchronized Map<String, Object> resultMap(String name) {
    return (Map<String, Object>) published.get(name);
  }

  /** A published result that is a JSON array of objects. */
  @SuppressWarnings("unchecked")
  public synchronized List<Map<String, Object>> resultList(String name) {
    return (List<Map<String, Object>>) published.get(name);
  }

  /** Every metrics row recorded, in order, with its step. */
  public synchronized List<Map.Entry<Long, Map<String, Double>>> metricRows() {
    List<Map.Entry<Long, Map<String, Double>>> out = new ArrayList<>();
    for (int i = 0; i < metricRows.size(); i++) {
      out.add(Map.entry(metricSteps.get(i), metricRows.get(i)));
    }
    return out;
  }

  /**
   * The last recorded value of a metric.
   *
   * @throws AssertionError when it was never recorded
   */
  public synchronized double lastMetric(String name) {
    for (int i = metricRows.size() - 1; i >= 0; i--) {
      if (metricRows.get(i).containsKey(name)) {
        return metricRows.get(i).get(name);
      }
    }
    throw new AssertionError("no metric " + name + " was recorded");
  }

  @Override
  public String jobId() {
    return "test-job";
  }

  @Override
  public JobConfig config() {
    return config;
  }

  /** The input names in the order they were added. */
  @Override
  public Set<String> inputNames() {
    return inputs.keySet();
  }

  @Override
  public ActivationSource input(String name) {
    ActivationSource s = inputs.get(name);
    if (s == null) {
      throw new IllegalArgumentException("no input named '" + name + "'; this job has " + inputs.keySet());
    }
    return s;
  }

  @Override
  public Optional<ModelSession> model(String inputName) {
    return Optional.ofNullable(models.get(inputName));
  }

  /** The datasets given to the builder, in the order given. */
  @Override
  public List<String> datasetNames() {
    return List.copyOf(datasets.keySet());
  }

  @Override
  public TokenDataset dataset(String name) {
    TokenDataset d = datasets.get(name);
    if (d == null) {
      throw new IllegalArgumentException("no dataset named '" + name + "'; this job has " + datasets.keySet());
    }
    return d;
  }

  @Override
  public Path artifactDir() {
    return artifactDir;
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
    if (done >= cancelAt) {
      cancelled = true;
    }
  }

  @Override
  public synchronized void metrics(long step, Map<String, Double> values) {
    metricSteps.add(step);
    metricRows.add(Map.copyOf(values));
  }

  @Override
  public synchronized void publish(String name, Object result) {
    published.put(name, result);
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public Logger log() {
    return LoggerFactory.getLogger("loupe.test-job");
  }
}
