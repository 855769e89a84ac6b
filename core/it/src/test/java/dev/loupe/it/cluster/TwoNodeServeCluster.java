package dev.loupe.it.cluster;

import dev.loupe.core.cli.LoupeCli;
import dev.loupe.core.cluster.ClusterOptions;
import dev.loupe.core.node.Harvest;
import dev.loupe.core.node.HarvestRequest;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.node.NodeAddresses;
import dev.loupe.core.plugin.PluginHost;
import dev.loupe.it.plugin.PluginFixtures;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A Loupe cluster of two JVMs as a user would run it: node {@code a} is {@code loupe serve --cluster
 * --open tiny} in a child JVM (started through {@link LoupeCli}'s main, like the shipped command),
 * node {@code b} a {@link LoupeNode} in this JVM with the plugins the build packaged, joined to it
 * over Hazelcast on loopback under a cluster name of its own.
 */
final class TwoNodeServeCluster implements AutoCloseable {
  static final String MODEL = "tiny";

  private final ChildJvm serve;
  private final LoupeNode nodeB;
  private final String sessionId;
  private final URI http;

  private TwoNodeServeCluster(ChildJvm serve, LoupeNode nodeB, String sessionId, URI http) {
    this.serve = serve;
    this.nodeB = nodeB;
    this.sessionId = sessionId;
    this.http = http;
  }

  /**
   * Starts {@code loupe serve} in a child JVM, waits for its JSON ready line, then joins node b.
   *
   * @param workDir gets the serve node's home ({@code a/}) and node b's plugin copies and job runs
   */
  static TwoNodeServeCluster start(Path workDir) throws Exception {
    String clusterName = "loupe-serve-it-" + UUID.randomUUID();
    int portA = ChildJvm.freePort();
    int portB = ChildJvm.freePort();
    String members = "127.0.0.1:" + portA + ",127.0.0.1:" + portB;
    Path homeA = Files.createDirectories(workDir.resolve("a"));
    ChildJvm serve = ChildJvm.start(LoupeCli.class.getName(), List.of(
        "--home", homeA.toString(), "--plugins-dir", PluginFixtures.builtPluginsDir().toString(),
        "serve", "--cluster", "--cluster-name", clusterName, "--cluster-host", "127.0.0.1",
        "--cluster-port", Integer.toString(portA), "--members", members,
        "--node-id", "a", "--open", MODEL, "--port", "0", "--json"));
    try {
      // Joining only once the serve node's cluster exists keeps the two from each founding one.
      JsonObject ready = new JsonObject(serve.awaitLine("{\"event\":\"ready\"", 60, TimeUnit.SECONDS));
      String sessionId = ready.getJsonObject("sessions").getString(MODEL);
      if (sessionId == null || !ready.getBoolean("clustered", false)) {
        throw new AssertionError("serve printed an unexpected ready line: " + ready.encode() + "\n" + serve.log());
      }
      URI http = URI.create(ready.getString("http"));
      PluginHost plugins = PluginHost.builder().pluginDir(PluginFixtures.builtPluginsDir())
          .extractDir(workDir.resolve("b-plugins")).build();
      LoupeNode nodeB;
      try {
        nodeB = LoupeNode.start("b", new ClusterOptions().setClusterName(clusterName).setHost("127.0.0.1")
            .setHazelcastPort(portB).setMembers(members), plugins, workDir.resolve("b-runs"), 2);
      } catch (RuntimeException e) {
        plugins.close();
        throw e;
      }
      return new TwoNodeServeCluster(serve, nodeB, sessionId, http);
    } catch (Throwable t) {
      serve.close();
      throw t;
    }
  }

  /** The serve JVM. */
  ChildJvm serve() {
    return serve;
  }

  LoupeNode nodeB() {
    return nodeB;
  }

  /** The id of the tiny session that serve opened, as its ready line printed it. */
  String sessionId() {
    return sessionId;
  }

  /** The serve node's HTTP base address, as its ready line printed it. */
  URI http() {
    return http;
  }

  /**
   * Asks the serve node, over the cluster event bus from node b, to harvest its session.
   *
   * @return the harvest's JSON ({@link Harvest#toJson()}): its id, state and stream id per hook
   */
  JsonObject requestHarvest(HarvestRequest request) throws Exception {
    return nodeB.vertx().eventBus()
        .<JsonObject>request(NodeAddresses.harvest(sessionId), request.toJson(), new DeliveryOptions().setSendTimeout(30_000))
        .await(40, TimeUnit.SECONDS).body();
  }

  /** Leaves the cluster with node b first, then kills the serve JVM. */
  @Override
  public void close() {
    try {
      nodeB.close();
    } finally {
      serve.close();
    }
  }
}
