package dev.loupe.core.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Starts clustered Vert.x instances (Hazelcast cluster manager) that find each other only through
 * the members they are given: multicast and cloud auto-detection are switched off, because
 * multicast leaves loopback and makes unrelated JVMs on a network join each other.
 */
public final class ClusterNodes {
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private ClusterNodes() {
  }

  /**
   * Starts a clustered Vert.x instance that joins (or founds) the cluster described by {@code options}.
   *
   * @return a future completing with the running instance once it has joined and its event bus
   *     listens; failed if Hazelcast or the event bus cannot bind
   */
  public static Future<Vertx> start(ClusterOptions options) {
    Objects.requireNonNull(options, "options");
    HazelcastClusterManager clusterManager = new HazelcastClusterManager(hazelcastConfig(options));
    return Vertx.builder()
        .with(vertxOptions(options))
        .withClusterManager(clusterManager)
        .buildClustered();
  }

  /** The Vert.x options of a node: event bus bound to the node's host with tuned TCP settings. */
  public static VertxOptions vertxOptions(ClusterOptions options) {
    EventBusOptions eventBus = new EventBusOptions()
        .setHost(options.getHost())
        .setPort(options.getEventBusPort())
        .setClusterPublicHost(options.getHost())
        .setSendBufferSize(options.getSocketBufferBytes())
        .setReceiveBufferSize(options.getSocketBufferBytes())
        .setTcpNoDelay(options.isTcpNoDelay());
    return new VertxOptions().setEventBusOptions(eventBus);
  }

  /**
   * The Hazelcast configuration of a node: Vert.x's default map settings, TCP-IP join on the given
   * members only, bound to the node's host, with short join waits so a test cluster forms in seconds.
   */
  public static Config hazelcastConfig(ClusterOptions options) {
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(options.getClusterName());
    config.setProperty("hazelcast.logging.type", "slf4j");
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    config.setProperty("hazelcast.socket.bind.any", "false");
    config.setProperty("hazelcast.wait.seconds.before.join", "1");
    config.setProperty("hazelcast.max.wait.seconds.before.join", "3");
    // Two nodes that started apart merge quickly instead of after the default five minutes.
    config.setProperty("hazelcast.merge.first.run.delay.seconds", "5");
    config.setProperty("hazelcast.merge.next.run.delay.seconds", "5");
    config.setProperty("hazelcast.graceful.shutdown.max.wait", "20");

    NetworkConfig network = config.getNetworkConfig();
    network.setPort(options.getHazelcastPort()).setPortAutoIncrement(false);
    network.setPublicAddress(options.getHost() + ":" + options.getHazelcastPort());
    if (IPV4.matcher(options.getHost()).matches()) {
      // Hazelcast's interface filter takes addresses only; a host name binds through the public address.
      network.getInterfaces().setEnabled(true).setInterfaces(List.of(options.getHost()));
    }
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getAwsConfig().setEnabled(false);
    join.getKubernetesConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true)
        .setConnectionTimeoutSeconds(options.getJoinTimeoutSeconds())
        .setMembers(options.getMembers());
    return config;
  }
}
