package dev.loupe.core.cli;

import dev.loupe.core.cluster.ClusterOptions;
import dev.loupe.core.config.LoupeConfig;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.plugin.PluginHost;
import dev.loupe.core.server.HttpApi;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe serve}: runs a Loupe node with its HTTP API until interrupted; with
 * {@code --cluster}, joins other nodes (Vert.x + Hazelcast, TCP-IP join) so sessions on one node
 * stream to jobs on another.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the Loupe core: model sessions, harvests, jobs, the HTTP API and the web UI (Ctrl-C stops it).")
final class ServeCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Option(names = "--host", paramLabel = "ADDR", description = "HTTP bind address (default: server.host, 127.0.0.1)")
  String host;

  @Option(names = "--port", paramLabel = "PORT", description = "HTTP port, 0 for any free one (default: server.port, 7070)")
  Integer port;

  @Option(names = "--node-id", paramLabel = "ID", description = "this node's id (default: random)")
  String nodeId;

  @Option(names = "--open", paramLabel = "MODEL", description = "open a model session at start (repeatable): tiny, "
      + "random-gpt2:<layers>x<d_model> or a Hugging Face model directory")
  List<String> open = new ArrayList<>();

  @Option(names = "--cluster", description = "join a cluster of Loupe nodes")
  boolean cluster;

  @Option(names = "--cluster-name", paramLabel = "NAME", description = "cluster name; nodes join only their own (default: loupe)")
  String clusterName = "loupe";

  @Option(names = "--cluster-host", paramLabel = "ADDR",
      description = "address this node's cluster and event-bus sockets bind to (default: 127.0.0.1)")
  String clusterHost = ClusterOptions.DEFAULT_HOST;

  @Option(names = "--cluster-port", paramLabel = "PORT", description = "Hazelcast port of this node (default: 5701)")
  int clusterPort = ClusterOptions.DEFAULT_HAZELCAST_PORT;

  @Option(names = "--members", paramLabel = "HOST:PORT,...",
      description = "cluster members to join over TCP-IP, e.g. 127.0.0.1:5701,127.0.0.1:5702 (default: this node)")
  String members;

  @Option(names = "--json", description = "print the ready line and events as JSON")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = parent.spec.commandLine().getOut();
    LoupeConfig cfg = parent.config();
    String id = nodeId != null ? nodeId : "n" + UUID.randomUUID().toString().substring(0, 8);
    ClusterOptions co = null;
    if (cluster) {
      co = new ClusterOptions().setClusterName(clusterName).setHost(clusterHost).setHazelcastPort(clusterPort)
          .setMembers(members != null ? members : clusterHost + ":" + clusterPort);
    }
    // Checked before anything starts, so a refused address costs no plugin loading or model.
    String bindHost = host != null ? host : cfg.serverHost();
    if (!isLoopback(bindHost)) {
      // Access tokens and Origin checks come with the web API; until then only loopback is safe.
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--host " + bindHost
          + ": the HTTP API has no access control yet, so it binds loopback addresses only (127.0.0.1)");
    }
    // read before anything starts, so a bad definition stops nothing half-started
    dev.loupe.core.dataset.DatasetRegistry datasets = dev.loupe.core.dataset.DatasetRegistry.load(cfg.datasetDirs());
    PluginHost plugins = parent.pluginHost(cfg);
    LoupeNode node = LoupeNode.start(id, co, plugins, cfg.runDir(), cfg.workers());
    node.jobs().useDatasets(datasets);
    CountDownLatch stopped = new CountDownLatch(1);
    Thread shutdown = new Thread(() -> {
      try {
        node.close();
      } finally {
        stopped.countDown();
      }
    }, "loupe-serve-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdown);
    try {
      Map<String, String> sessions = new LinkedHashMap<>();
      for (String m : open) {
        sessions.put(m, node.services().open(m));
      }
      int bindPort = port != null ? port : cfg.serverPort();
      HttpServer http = HttpApi.listen(node, bindHost, bindPort).toCompletionStage().toCompletableFuture().join();
      String url = "http://" + bindHost + ":" + http.actualPort();
      if (json) {
        out.println(new JsonObject().put("event", "ready").put("node", id).put("clustered", cluster).put("http", url).put("ui", url + "/")
            .put("sessions", new JsonObject(new LinkedHashMap<>(sessions))).encode());
      } else {
        out.println("Loupe node " + id + (cluster ? " (cluster '" + clusterName + "')" : "") + " serving " + url + "/api");
        out.println("  web UI: " + url + "/");
        sessions.forEach((m, s) -> out.println("  session " + s + ": " + m));
        out.println("  " + plugins.methods().size() + " analysis methods; " + plugins.failures().size() + " plugin problems"
            + " (see `loupe plugins`). Ctrl-C stops.");
      }
      out.flush();
    } catch (RuntimeException e) {
      Runtime.getRuntime().removeShutdownHook(shutdown);
      node.close();
      throw e;
    }
    stopped.await();
    return LoupeCli.OK;
  }

  private static boolean isLoopback(String host) {
    try {
      return java.net.InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--host " + host + ": unknown host");
    }
  }
}
