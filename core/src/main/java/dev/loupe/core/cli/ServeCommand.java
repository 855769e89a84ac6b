package dev.loupe.core.cli;

import dev.loupe.core.cluster.ClusterOptions;
import dev.loupe.core.config.LoupeConfig;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.plugin.PluginHost;
import dev.loupe.core.server.HttpApi;
import dev.loupe.core.server.ServerOptions;
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

  @Option(names = "--token", paramLabel = "TOKEN", description = "access token every HTTP request and WebSocket must "
      + "carry (Authorization: Bearer TOKEN or ?token=TOKEN), at least 16 characters (default: server.token; when "
      + "binding a non-loopback address without one, a random token is generated and printed)")
  String token;

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
    // Checked before anything starts, so a refused address or token costs no plugin loading or model.
    String bindHost = host != null ? host : cfg.serverHost();
    boolean loopback = isLoopback(bindHost);
    String accessToken = token != null ? token : cfg.serverToken();
    if (accessToken == null && !loopback) {
      // Like Jupyter: anything reachable from other machines needs a secret; make one and print it.
      accessToken = HttpApi.newToken();
    }
    int bindPort = port != null ? port : cfg.serverPort();
    ServerOptions serverOptions = new ServerOptions().setHost(bindHost).setPort(bindPort).setToken(accessToken)
        .setModelsDir(cfg.home().resolve("models"));
    try {
      serverOptions.validate();
    } catch (IllegalArgumentException e) {
      String field = e.getMessage().startsWith("token") ? "--token" : "--" + e.getMessage().split(":")[0];
      throw new LoupeCli.CliException(LoupeCli.USAGE, field + e.getMessage().substring(e.getMessage().indexOf(':')));
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
      HttpServer http = HttpApi.listen(node, serverOptions).toCompletionStage().toCompletableFuture().join();
      String url = "http://" + browsableHost(bindHost) + ":" + http.actualPort();
      String withToken = accessToken == null ? url + "/" : url + "/?token=" + accessToken;
      if (json) {
        out.println(new JsonObject().put("event", "ready").put("node", id).put("clustered", cluster).put("http", url)
            .put("token", accessToken).put("url", withToken)
            .put("sessions", new JsonObject(new LinkedHashMap<>(sessions))).encode());
      } else {
        out.println("Loupe node " + id + (cluster ? " (cluster '" + clusterName + "')" : "") + " serving " + url + "/api");
        out.println("  web UI: " + withToken);
        if (accessToken != null) {
          out.println("  every request needs the access token; open or use:");
          out.println("    " + withToken);
          out.println("    curl -H 'Authorization: Bearer " + accessToken + "' " + url + "/api/health");
        }
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
      return HttpApi.isLoopback(host);
    } catch (IllegalArgumentException e) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--host " + host + ": unknown host");
    }
  }

  /** A name a browser can use: the machine's host name for a wildcard bind, else the address bound. */
  private static String browsableHost(String bindHost) {
    try {
      java.net.InetAddress a = java.net.InetAddress.getByName(bindHost);
      if (a.isAnyLocalAddress()) {
        return java.net.InetAddress.getLocalHost().getHostName();
      }
    } catch (java.net.UnknownHostException e) {
      // keep what was bound
    }
    return bindHost.contains(":") && !bindHost.startsWith("[") ? "[" + bindHost + "]" : bindHost;
  }
}
