package dev.loupe.core.node;

/**
 * Event-bus addresses of a node's services (all carry JSON and answer with a reply, or
 * {@code fail(400, why)} for bad requests and {@code fail(500, why)} for failures):
 * <ul>
 *   <li>{@code loupe.node.NODE.sessions.open} {@code {model}} → {@code {id, node, model, info}}</li>
 *   <li>{@code loupe.node.NODE.sessions} (any body) → array of open sessions</li>
 *   <li>{@code loupe.session.SESSION.harvest} {@link HarvestRequest} JSON → harvest with its stream ids</li>
 * </ul>
 * Session info and prompt runs live at {@link dev.loupe.core.session.SessionAddresses}; streams at
 * {@link dev.loupe.core.stream.StreamAddresses}; jobs at {@link dev.loupe.core.job.JobAddresses}.
 */
public final class NodeAddresses {
  private NodeAddresses() {}

  public static String openSession(String nodeId) {
    return "loupe.node." + nodeId + ".sessions.open";
  }

  public static String sessions(String nodeId) {
    return "loupe.node." + nodeId + ".sessions";
  }

  public static String harvest(String sessionId) {
    return "loupe.session." + sessionId + ".harvest";
  }
}
