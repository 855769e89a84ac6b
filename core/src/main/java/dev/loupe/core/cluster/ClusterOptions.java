package dev.loupe.core.cluster;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How one Loupe JVM joins a cluster: the cluster's name, the address this node binds to, the
 * Hazelcast members it knows (TCP-IP join; multicast and auto-detection are always off) and the
 * event-bus transport's TCP settings. Setters validate eagerly; round-trips to JSON.
 */
public final class ClusterOptions {
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_HAZELCAST_PORT = 5701;
  /** Socket buffers for the event-bus transport: big enough to keep a few MB chunks moving on loopback. */
  public static final int DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.\\-]{1,100}");
  private static final Pattern MEMBER = Pattern.compile("[A-Za-z0-9_.\\-]+(:\\d{1,5})?");

  private String clusterName = "loupe";
  private String host = DEFAULT_HOST;
  private int hazelcastPort = DEFAULT_HAZELCAST_PORT;
  private List<String> members = new ArrayList<>(List.of(DEFAULT_HOST + ":" + DEFAULT_HAZELCAST_PORT));
  private int eventBusPort;
  private int socketBufferBytes = DEFAULT_SOCKET_BUFFER_BYTES;
  private boolean tcpNoDelay = true;
  private int joinTimeoutSeconds = 2;

  public ClusterOptions() {
  }

  /**
   * Reads options from JSON; absent fields keep their defaults.
   *
   * @throws IllegalArgumentException naming the field that is invalid or of the wrong type
   */
  public static ClusterOptions fromJson(JsonObject json) {
    ClusterOptions o = new ClusterOptions();
    try {
      if (json.containsKey("clusterName")) {
        o.setClusterName(json.getString("clusterName"));
      }
      if (json.containsKey("host")) {
        o.setHost(json.getString("host"));
      }
      if (json.containsKey("hazelcastPort")) {
        o.setHazelcastPort(json.getInteger("hazelcastPort"));
      }
      if (json.containsKey("members")) {
        List<String> members = new ArrayList<>();
        for (Object m : json.getJsonArray("members")) {
          members.add((String) m);
        }
        o.setMembers(members);
      }
      if (json.containsKey("eventBusPort")) {
        o.setEventBusPort(json.getInteger("eventBusPort"));
      }
      if (json.containsKey("socketBufferBytes")) {
        o.setSocketBufferBytes(json.getInteger("socketBufferBytes"));
      }
      if (json.containsKey("tcpNoDelay")) {
        o.setTcpNoDelay(json.getBoolean("tcpNoDelay"));
      }
      if (json.containsKey("joinTimeoutSeconds")) {
        o.setJoinTimeoutSeconds(json.getInteger("joinTimeoutSeconds"));
      }
    } catch (ClassCastException e) {
      throw new IllegalArgumentException("cluster options: a field has the wrong type: " + json.encode(), e);
    }
    return o;
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("clusterName", clusterName)
        .put("host", host)
        .put("hazelcastPort", hazelcastPort)
        .put("members", new JsonArray(new ArrayList<>(members)))
        .put("eventBusPort", eventBusPort)
        .put("socketBufferBytes", socketBufferBytes)
        .put("tcpNoDelay", tcpNoDelay)
        .put("joinTimeoutSeconds", joinTimeoutSeconds);
  }

  /** Only nodes with the same cluster name join each other; tests use a unique one. Default "loupe". */
  public String getClusterName() {
    return clusterName;
  }

  public ClusterOptions setClusterName(String clusterName) {
    if (clusterName == null || !NAME.matcher(clusterName).matches()) {
      throw new IllegalArgumentException("clusterName must be 1-100 letters, digits, '.', '_' or '-', got "
          + (clusterName == null ? "null" : "'" + clusterName + "'"));
    }
    this.clusterName = clusterName;
    return this;
  }

  /** The interface address Hazelcast and the event bus bind to and announce. Default 127.0.0.1. */
  public String getHost() {
    return host;
  }

  public ClusterOptions setHost(String host) {
    if (host == null || host.isBlank() || host.contains(":")) {
      throw new IllegalArgumentException("host must be an IPv4 address or host name without port, got "
          + (host == null ? "null" : "'" + host + "'"));
    }
    this.host = host;
    return this;
  }

  /** The port Hazelcast's member protocol listens on (no auto-increment). Default 5701. */
  public int getHazelcastPort() {
    return hazelcastPort;
  }

  public ClusterOptions setHazelcastPort(int hazelcastPort) {
    this.hazelcastPort = port("hazelcastPort", hazelcastPort, false);
    return this;
  }

  /** Hazelcast members to join, "host:port" or "host" (port 5701); this node may be among them. */
  public List<String> getMembers() {
    return List.copyOf(members);
  }

  public ClusterOptions setMembers(List<String> members) {
    Objects.requireNonNull(members, "members");
    if (members.isEmpty()) {
      throw new IllegalArgumentException("members must name at least one host:port to join");
    }
    for (String m : members) {
      if (m == null || !MEMBER.matcher(m).matches()) {
        throw new IllegalArgumentException("members entries must be host or host:port, got "
            + (m == null ? "null" : "'" + m + "'"));
      }
      int colon = m.indexOf(':');
      if (colon > 0) {
        port("members port of '" + m + "'", Integer.parseInt(m.substring(colon + 1)), false);
      }
    }
    this.members = new ArrayList<>(members);
    return this;
  }

  /** Parses a comma-separated member list such as {@code 127.0.0.1:5701,127.0.0.1:5702}. */
  public ClusterOptions setMembers(String commaSeparated) {
    Objects.requireNonNull(commaSeparated, "members");
    List<String> list = new ArrayList<>();
    for (String m : commaSeparated.split(",")) {
      if (!m.isBlank()) {
        list.add(m.trim());
      }
    }
    return setMembers(list);
  }

  /** The event-bus TCP port; 0 (default) picks a free one, announced through the cluster. */
  public int getEventBusPort() {
    return eventBusPort;
  }

  public ClusterOptions setEventBusPort(int eventBusPort) {
    this.eventBusPort = port("eventBusPort", eventBusPort, true);
    return this;
  }

  /** SO_SNDBUF / SO_RCVBUF of event-bus connections. Default 4 MiB. */
  public int getSocketBufferBytes() {
    return socketBufferBytes;
  }

  public ClusterOptions setSocketBufferBytes(int socketBufferBytes) {
    if (socketBufferBytes < 8192) {
      throw new IllegalArgumentException("socketBufferBytes must be >= 8192, got " + socketBufferBytes);
    }
    this.socketBufferBytes = socketBufferBytes;
    return this;
  }

  /** TCP_NODELAY on event-bus connections; default true (small credit messages must not wait). */
  public boolean isTcpNoDelay() {
    return tcpNoDelay;
  }

  public ClusterOptions setTcpNoDelay(boolean tcpNoDelay) {
    this.tcpNoDelay = tcpNoDelay;
    return this;
  }

  /** How long Hazelcast tries to reach listed members before forming a cluster of its own. Default 2 s. */
  public int getJoinTimeoutSeconds() {
    return joinTimeoutSeconds;
  }

  public ClusterOptions setJoinTimeoutSeconds(int joinTimeoutSeconds) {
    if (joinTimeoutSeconds < 1 || joinTimeoutSeconds > 300) {
      throw new IllegalArgumentException("joinTimeoutSeconds must be between 1 and 300, got " + joinTimeoutSeconds);
    }
    this.joinTimeoutSeconds = joinTimeoutSeconds;
    return this;
  }

  private static int port(String field, int port, boolean zeroAllowed) {
    if (port < (zeroAllowed ? 0 : 1) || port > 65535) {
      throw new IllegalArgumentException(field + " must be between " + (zeroAllowed ? 0 : 1) + " and 65535, got " + port);
    }
    return port;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClusterOptions other && toJson().equals(other.toJson());
  }

  @Override
  public int hashCode() {
    return toJson().hashCode();
  }

  @Override
  public String toString() {
    return "ClusterOptions" + toJson().encode();
  }
}
