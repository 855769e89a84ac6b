package dev.loupe.core.session;

/**
 * Event-bus addresses of a model session served by a {@link SessionVerticle}:
 * {@code loupe.session.<sessionId>.<verb>}.
 */
public final class SessionAddresses {
  /** Common prefix of every session address. */
  public static final String PREFIX = "loupe.session.";

  private SessionAddresses() {
  }

  /** Replies with the session's ModelInfo as JSON. */
  public static String info(String sessionId) {
    return PREFIX + check(sessionId) + ".info";
  }

  /** Runs a prompt: {@code {text | tokens, hooks, topK}} to tokens, top-k next tokens and activations. */
  public static String run(String sessionId) {
    return PREFIX + check(sessionId) + ".run";
  }

  /**
   * Interactive queries, {@code {op: "run" | "lens", ...}} (see {@link SessionQueries}); the reply
   * is the answer's JSON encoded as a {@link io.vertx.core.buffer.Buffer}, so the caller can pass
   * it on without encoding it again on an event loop.
   */
  public static String query(String sessionId) {
    return PREFIX + check(sessionId) + ".query";
  }

  private static String check(String sessionId) {
    if (sessionId == null || sessionId.isEmpty() || !sessionId.matches("[A-Za-z0-9_:\\-./]+")) {
      throw new IllegalArgumentException("session id '" + sessionId
          + "' must be non-empty and made of letters, digits and _ : - . /");
    }
    return sessionId;
  }
}
