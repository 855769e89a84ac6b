package dev.loupe.core.server;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How the HTTP/WebSocket server runs: where it binds, the access token it requires (if any), where
 * model directories are listed from, and the limits that keep one client from growing the
 * server's memory. Fluent setters; {@link #validate()} names a bad field.
 */
public final class ServerOptions {
  /** Largest request body (and WebSocket message) accepted, in bytes. */
  public static final int DEFAULT_MAX_BODY_BYTES = 1 << 20;
  /** Shortest access token accepted. */
  public static final int MIN_TOKEN_LENGTH = 16;

  private String host = "127.0.0.1";
  private int port = 7070;
  private String token;
  private Path modelsDir;
  private int maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
  private int wsWriteQueueMaxBytes = 1 << 20;
  private int wsMaxInFlight = 4;
  private long queryTimeoutMillis = 120_000;

  public String host() { return host; }
  public int port() { return port; }
  /** The access token every request must carry, or null when none is required. */
  public String token() { return token; }
  /** Where {@code GET /api/models} lists Hugging Face model directories ({@code <home>/models}); may be null. */
  public Path modelsDir() { return modelsDir; }
  public int maxBodyBytes() { return maxBodyBytes; }
  /** Bytes a WebSocket may hold unsent before the server coalesces or holds back frames for it. */
  public int wsWriteQueueMaxBytes() { return wsWriteQueueMaxBytes; }
  /** Session commands (run, lens) one WebSocket may have unanswered at once. */
  public int wsMaxInFlight() { return wsMaxInFlight; }
  /** How long a run or lens may wait for its session (queue and forward pass). */
  public long queryTimeoutMillis() { return queryTimeoutMillis; }

  public ServerOptions setHost(String host) {
    this.host = Objects.requireNonNull(host, "host");
    return this;
  }

  public ServerOptions setPort(int port) {
    this.port = port;
    return this;
  }

  public ServerOptions setToken(String token) {
    this.token = token == null || token.isEmpty() ? null : token;
    return this;
  }

  public ServerOptions setModelsDir(Path dir) {
    this.modelsDir = dir;
    return this;
  }

  public ServerOptions setMaxBodyBytes(int bytes) {
    this.maxBodyBytes = bytes;
    return this;
  }

  public ServerOptions setWsWriteQueueMaxBytes(int bytes) {
    this.wsWriteQueueMaxBytes = bytes;
    return this;
  }

  public ServerOptions setWsMaxInFlight(int n) {
    this.wsMaxInFlight = n;
    return this;
  }

  public ServerOptions setQueryTimeoutMillis(long millis) {
    this.queryTimeoutMillis = millis;
    return this;
  }

  /**
   * Checks the options.
   *
   * @throws IllegalArgumentException naming the field: a port outside [0, 65535], a token shorter
   *     than {@value #MIN_TOKEN_LENGTH} characters or with characters other than printable ASCII,
   *     non-positive limits
   */
  public ServerOptions validate() {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " is outside [0, 65535]");
    }
    if (token != null) {
      if (token.length() < MIN_TOKEN_LENGTH) {
        throw new IllegalArgumentException("token: at least " + MIN_TOKEN_LENGTH + " characters, got " + token.length());
      }
      if (!token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw new IllegalArgumentException("token: printable ASCII without spaces only");
      }
    }
    if (maxBodyBytes < 1024) {
      throw new IllegalArgumentException("maxBodyBytes: at least 1024, got " + maxBodyBytes);
    }
    if (wsWriteQueueMaxBytes < 1) {
      throw new IllegalArgumentException("wsWriteQueueMaxBytes: must be positive, got " + wsWriteQueueMaxBytes);
    }
    if (wsMaxInFlight < 1) {
      throw new IllegalArgumentException("wsMaxInFlight: must be positive, got " + wsMaxInFlight);
    }
    if (queryTimeoutMillis < 1) {
      throw new IllegalArgumentException("queryTimeoutMillis: must be positive, got " + queryTimeoutMillis);
    }
    return this;
  }
}
