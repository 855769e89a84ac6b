package dev.loupe.plugins.sae;

import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import dev.loupe.sdk.model.ModelSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-memory {@link JobContext} over one activation source: records metrics and results, and
 * can simulate a stop by turning cancelled once progress reaches a given step.
 */
final class FakeJobContext implements JobContext {
  final JobConfig config;
  final ActivationSource source;
  final Path artifactDir;
  final Path checkpointDir;
  final boolean resuming;
  final List<Long> metricSteps = new ArrayList<>();
  final List<Map<String, Double>> metricRows = new ArrayList<>();
  final Map<String, Object> published = new LinkedHashMap<>();
  long cancelAtStep = Long.MAX_VALUE;
  private volatile boolean cancelled;

  FakeJobContext(Map<String, ?> config, ActivationSource source, Path artifactDir, Path checkpointDir,
      boolean resuming) {
    this.config = new SaeMethod().info().config().validate(config);
    this.source = source;
    this.artifactDir = artifactDir;
    this.checkpointDir = checkpointDir;
    this.resuming = resuming;
  }

  @SuppressWarnings("unchecked")
  Map<String, Object> summary() {
    return (Map<String, Object>) published.get("summary");
  }

  @SuppressWarnings("unchecked")
  List<Map<String, Object>> features() {
    return (List<Map<String, Object>>) published.get("features");
  }

  /** The last recorded value of a metric. */
  double lastMetric(String name) {
    for (int i = metricRows.size() - 1; i >= 0; i--) {
      if (metricRows.get(i).containsKey(name)) {
        return metricRows.get(i).get(name);
      }
    }
    throw new AssertionError("no metric " + name);
  }

  @Override
  public String jobId() {
    return "test-job";
  }

  @Override
  public JobConfig config() {
    return config;
  }

  @Override
  public Set<String> inputNames() {
    return Set.of(MethodInfo.MAIN_INPUT);
  }

  @Override
  public ActivationSource input(String name) {
    if (!name.equals(MethodInfo.MAIN_INPUT)) {
      throw new IllegalArgumentException("no input " + name);
    }
    return source;
  }

  @Override
  public Optional<ModelSession> model(String inputName) {
    return Optional.empty();
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
    if (done >= cancelAtStep) {
      cancelled = true;
    }
  }

  @Override
  public void metrics(long step, Map<String, Double> values) {
    metricSteps.add(step);
    metricRows.add(Map.copyOf(values));
  }

  @Override
  public void publish(String name, Object result) {
    published.put(name, result);
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public Logger log() {
    return LoggerFactory.getLogger("sae-test");
  }
}
