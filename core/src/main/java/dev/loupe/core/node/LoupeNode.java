package dev.loupe.core.node;

import dev.loupe.core.cluster.ClusterNodes;
import dev.loupe.core.cluster.ClusterOptions;
import dev.loupe.core.job.InputResolvers;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobManager;
import dev.loupe.core.job.JobRequest;
import dev.loupe.core.job.ResolvedInput;
import dev.loupe.core.plugin.MethodCatalog;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One running Loupe core: a Vert.x instance (local or clustered), the model sessions and harvests
 * it hosts, the plugins it has loaded and the jobs it runs. {@code loupe serve} and
 * {@code loupe demo} each run one; in cluster mode several JVMs each run one and share the event
 * bus, so a job on one node reads a stream harvested on another.
 */
public final class LoupeNode implements AutoCloseable {
  private final Vertx vertx;
  private final boolean clustered;
  private final NodeServices services;
  private final MethodCatalog plugins;
  private final JobManager jobs;
  private final InputResolvers inputs;
  /** Live-input jobs between their worker check and their start; guarded by {@code this}. */

  private LoupeNode(Vertx vertx, boolean clustered, String nodeId, MethodCatalog plugins, Path runDir, int workers) {
    this.vertx = vertx;
    this.clustered = clustered;
    this.services = new NodeServices(vertx, nodeId);
    this.plugins = plugins;
    this.jobs = new JobManager(plugins, runDir, workers, vertx);
    this.inputs = NodeInputResolvers.register(InputResolvers.withDefaults(), () -> services);
  }

  /**
   * Starts a node; blocks until its Vert.x instance is up (for a cluster: joined).
   *
   * @param cluster cluster settings, or null for a local node
   * @param plugins where jobs look methods up: a {@link dev.loupe.core.plugin.PluginHost}, or a
   *     fixed {@link MethodCatalog} of methods registered in code; one that is {@link AutoCloseable}
   *     (a plugin host) is closed with the node, also when the node fails to start
   */
  public static LoupeNode start(String nodeId, ClusterOptions cluster, MethodCatalog plugins, Path runDir, int workers) {
    Objects.requireNonNull(plugins, "plugins");
    Vertx vertx = null;
    try {
      vertx = cluster == null ? Vertx.vertx()
          : ClusterNodes.start(cluster).toCompletionStage().toCompletableFuture().join();
      return new LoupeNode(vertx, cluster != null, nodeId, plugins, runDir, workers);
    } catch (RuntimeException e) {
      if (vertx != null) {
        vertx.close();
      }
      closePlugins(plugins);
      throw e;
    }
  }

  private static void closePlugins(MethodCatalog plugins) {
    if (plugins instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        throw new IllegalStateException("closing the plugins failed: " + e.getMessage(), e);
      }
    }
  }

  public Vertx vertx() { return vertx; }
  public boolean clustered() { return clustered; }
  public String nodeId() { return services.nodeId(); }
  public NodeServices services() { return services; }
  public MethodCatalog plugins() { return plugins; }
  public JobManager jobs() { return jobs; }
  public InputResolvers inputs() { return inputs; }

  /**
   * Starts a job: validates the config against the method before opening any input, resolves the
   * inputs (a {@code stream} input subscribes at once), then runs it on a worker.
   *
   * @param method a method id from the loaded plugins
   * @param config the method's options
   * @param inputSpecs input name to input spec ({@code {stream: {id}}}, {@code {model: {...}}}, ...)
   * @param jobId the job id, or null for a generated one
   * @throws dev.loupe.sdk.config.ConfigException naming the field on a bad config or input spec
   *     A job reading a stream or model input runs at once on a thread of its own (queued behind
   *     busy workers it would stall the harvest for all its readers); others wait for a worker.
   */
  public JobHandle startJob(String method, Map<String, Object> config, Map<String, Object> inputSpecs, String jobId) {
    plugins.method(method).info().config().validate(config);
    boolean live = inputSpecs.values().stream()
        .anyMatch(v -> v instanceof Map<?, ?> m && (m.containsKey("stream") || m.containsKey("model")));
    return resolveAndStart(method, config, inputSpecs, jobId, live);
  }

  private JobHandle resolveAndStart(String method, Map<String, Object> config, Map<String, Object> inputSpecs,
      String jobId, boolean live) {
    JobRequest.Builder req = JobRequest.builder(method).config(config).jobId(jobId).live(live);
    Map<String, ResolvedInput> opened = inputs.resolveAll(inputSpecs);
    try {
      for (Map.Entry<String, ResolvedInput> in : opened.entrySet()) {
        ResolvedInput r = in.getValue();
        req.input(in.getKey(), r.source()).inputDescription(in.getKey(), inputSpecs.get(in.getKey()));
        if (r.model() != null) {
          req.model(in.getKey(), r.model());
        }
      }
      return jobs.start(req.build());
    } catch (RuntimeException e) {
      opened.values().forEach(r -> r.source().close());
      throw e;
    }
  }

  @Override
  public void close() {
    try {
      jobs.close();
    } finally {
      try {
        services.close();
      } finally {
        try {
          closePlugins(plugins);
        } finally {
          vertx.close().toCompletionStage().toCompletableFuture().join();
        }
      }
    }
  }
}
