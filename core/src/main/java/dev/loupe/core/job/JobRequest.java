package dev.loupe.core.job;

import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.model.ModelSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What to run: a method id, its raw (unvalidated) config document and the activation inputs
 * wired to it. Built with {@link #builder(String)}; the job manager validates it before anything
 * starts. The job takes ownership of the inputs: they are closed when the job ends.
 */
public final class JobRequest {
  private final String method;
  private final Map<String, Object> config;
  private final Map<String, ActivationSource> inputs;
  private final Map<String, ModelSession> models;
  private final Map<String, Object> inputDescriptions;
  private final String jobId;
  private final Path runDir;
  private final List<JobListener> listeners;
  private final boolean live;

  private JobRequest(Builder b) {
    this.method = b.method;
    this.config = Collections.unmodifiableMap(new LinkedHashMap<>(b.config));
    this.inputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.inputs));
    this.models = Collections.unmodifiableMap(new LinkedHashMap<>(b.models));
    this.inputDescriptions = Collections.unmodifiableMap(new LinkedHashMap<>(b.inputDescriptions));
    this.jobId = b.jobId;
    this.runDir = b.runDir;
    this.listeners = List.copyOf(b.listeners);
    this.live = b.live;
  }

  public static Builder builder(String method) {
    return new Builder(method);
  }

  public String method() { return method; }
  /** The raw config document as given (validated by the manager against the method's schema). */
  public Map<String, Object> config() { return config; }
  public Map<String, ActivationSource> inputs() { return inputs; }
  public Map<String, ModelSession> models() { return models; }
  /** How each input was specified (written to config.json); may be empty. */
  public Map<String, Object> inputDescriptions() { return inputDescriptions; }
  /** The requested job id, or null to have one generated. */
  public String jobId() { return jobId; }
  /** The run directory, or null for the manager's default. */
  public Path runDir() { return runDir; }
  /** Listeners registered before the job starts, so that no event is missed. */
  public List<JobListener> listeners() { return listeners; }

  /**
   * Whether the job reads a live input (a stream): such a job runs on a thread of its own at
   * once instead of waiting for a worker, since a queued reader would hold up its stream for
   * every other reader. Its pace is its stream's, not the worker pool's.
   */
  public boolean live() { return live; }

  /** Fluent builder; {@code null} maps are treated as empty. */
  public static final class Builder {
    private final String method;
    private final Map<String, Object> config = new LinkedHashMap<>();
    private final Map<String, ActivationSource> inputs = new LinkedHashMap<>();
    private final Map<String, ModelSession> models = new LinkedHashMap<>();
    private final Map<String, Object> inputDescriptions = new LinkedHashMap<>();
    private final List<JobListener> listeners = new ArrayList<>();
    private String jobId;
    private Path runDir;
    private boolean live;

    private Builder(String method) {
      if (method == null || method.isBlank()) {
        throw new IllegalArgumentException("method id is empty");
      }
      this.method = method;
    }

    public Builder config(Map<String, ?> raw) {
      config.clear();
      if (raw != null) {
        config.putAll(raw);
      }
      return this;
    }

    public Builder set(String key, Object value) {
      config.put(Objects.requireNonNull(key, "key"), value);
      return this;
    }

    public Builder input(String name, ActivationSource source) {
      inputs.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(source, "source"));
      return this;
    }

    public Builder inputs(Map<String, ActivationSource> sources) {
      if (sources != null) {
        sources.forEach(this::input);
      }
      return this;
    }

    /** The model session an input's activations come from (optional). */
    public Builder model(String inputName, ModelSession session) {
      models.put(Objects.requireNonNull(inputName, "inputName"), Objects.requireNonNull(session, "session"));
      return this;
    }

    public Builder models(Map<String, ModelSession> sessions) {
      if (sessions != null) {
        sessions.forEach(this::model);
      }
      return this;
    }

    /** How an input was specified (e.g. the YAML spec), recorded in config.json. */
    public Builder inputDescription(String name, Object description) {
      inputDescriptions.put(Objects.requireNonNull(name, "name"), description);
      return this;
    }

    public Builder jobId(String id) {
      this.jobId = id;
      return this;
    }

    public Builder runDir(Path dir) {
      this.runDir = dir;
      return this;
    }

    public Builder listener(JobListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /** Marks the job as reading a live input; see {@link JobRequest#live()}. */
    public Builder live(boolean isLive) {
      this.live = isLive;
      return this;
    }

    public JobRequest build() {
      return new JobRequest(this);
    }
  }
}
