package dev.loupe.core.stream;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one side of an activation stream: how far a consumer may run ahead, how big a
 * message on the wire may be, how long to wait for the other side, and (optionally) what the
 * stream carries. Fluent setters validate eagerly; round-trips to JSON.
 */
public final class StreamOptions {

  public static final int DEFAULT_CREDITS = 8;
  public static final int DEFAULT_MAX_CHUNK_BYTES = 4 * 1024 * 1024;
  public static final Duration DEFAULT_SUBSCRIBE_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_LIVENESS_INTERVAL = Duration.ofSeconds(2);
  public static final Duration DEFAULT_LIVENESS_TIMEOUT = Duration.ofSeconds(10);

  private int credits = DEFAULT_CREDITS;
  private int maxChunkBytes = DEFAULT_MAX_CHUNK_BYTES;
  private Duration subscribeTimeout = DEFAULT_SUBSCRIBE_TIMEOUT;
  private Duration livenessInterval = DEFAULT_LIVENESS_INTERVAL;
  private Duration livenessTimeout = DEFAULT_LIVENESS_TIMEOUT;
  private String hookName;
  private int width;
  private long expectedRows;

  public StreamOptions() {
  }

  /** A copy of {@code other}. */
  public StreamOptions(StreamOptions other) {
    this.credits = other.credits;
    this.maxChunkBytes = other.maxChunkBytes;
    this.subscribeTimeout = other.subscribeTimeout;
    this.livenessInterval = other.livenessInterval;
    this.livenessTimeout = other.livenessTimeout;
    this.hookName = other.hookName;
    this.expectedRows = other.expectedRows;
    this.width = other.width;
  }

  /**
   * Reads options from JSON; absent fields keep their defaults. Durations are milliseconds.
   *
   * @throws IllegalArgumentException naming the field whose value is out of range or of the wrong type
   */
  public static StreamOptions fromJson(JsonObject json) {
    StreamOptions o = new StreamOptions();
    try {
      if (json.containsKey("credits")) {
        o.setCredits(json.getInteger("credits"));
      }
      if (json.containsKey("maxChunkBytes")) {
        o.setMaxChunkBytes(json.getInteger("maxChunkBytes"));
      }
      if (json.containsKey("subscribeTimeoutMs")) {
        o.setSubscribeTimeout(Duration.ofMillis(json.getLong("subscribeTimeoutMs")));
      }
      if (json.containsKey("livenessIntervalMs")) {
        o.setLivenessInterval(Duration.ofMillis(json.getLong("livenessIntervalMs")));
      }
      if (json.containsKey("livenessTimeoutMs")) {
        o.setLivenessTimeout(Duration.ofMillis(json.getLong("livenessTimeoutMs")));
      }
      if (json.containsKey("hookName")) {
        o.setHookName(json.getString("hookName"));
      }
      if (json.containsKey("width")) {
        o.setWidth(json.getInteger("width"));
      }
      if (json.containsKey("expectedRows")) {
        o.setExpectedRows(json.getLong("expectedRows"));
      }
    } catch (ClassCastException e) {
      throw new IllegalArgumentException("stream options: a field has the wrong type (numbers expected for credits, "
          + "maxChunkBytes, *Ms and width; a string for hookName): " + json.encode(), e);
    }
    return o;
  }

  /** JSON form; durations in milliseconds; hookName and width only when declared. */
  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("credits", credits)
        .put("maxChunkBytes", maxChunkBytes)
        .put("subscribeTimeoutMs", subscribeTimeout.toMillis())
        .put("livenessIntervalMs", livenessInterval.toMillis())
        .put("livenessTimeoutMs", livenessTimeout.toMillis());
    if (hookName != null) {
      json.put("hookName", hookName);
    }
    if (width > 0) {
      json.put("width", width);
    }
    if (expectedRows > 0) {
      json.put("expectedRows", expectedRows);
    }
    return json;
  }

  /** Messages a consumer lets the producer send ahead of its reader (its prefetch); default 8. */
  public int getCredits() {
    return credits;
  }

  /** @throws IllegalArgumentException unless 1 &lt;= credits &lt;= 1024 */
  public StreamOptions setCredits(int credits) {
    if (credits < 1 || credits > 1024) {
      throw new IllegalArgumentException("credits must be between 1 and 1024, got " + credits);
    }
    this.credits = credits;
    return this;
  }

  /**
   * Largest batch payload sent to a consumer on another node as one message; bigger batches go
   * as row slices and are put back together by the consumer. Default 4 MiB.
   */
  public int getMaxChunkBytes() {
    return maxChunkBytes;
  }

  /** @throws IllegalArgumentException unless 4 KiB &lt;= maxChunkBytes &lt;= 256 MiB */
  public StreamOptions setMaxChunkBytes(int maxChunkBytes) {
    if (maxChunkBytes < 4096 || maxChunkBytes > 256 * 1024 * 1024) {
      throw new IllegalArgumentException("maxChunkBytes must be between 4096 and 268435456, got " + maxChunkBytes);
    }
    this.maxChunkBytes = maxChunkBytes;
    return this;
  }

  /** How long a consumer keeps trying to reach a producer that is not (yet) there; default 30 s. */
  public Duration getSubscribeTimeout() {
    return subscribeTimeout;
  }

  public StreamOptions setSubscribeTimeout(Duration subscribeTimeout) {
    this.subscribeTimeout = positive("subscribeTimeout", subscribeTimeout);
    return this;
  }

  /** After this long without progress, a waiting side checks that the other side is still there; default 2 s. */
  public Duration getLivenessInterval() {
    return livenessInterval;
  }

  public StreamOptions setLivenessInterval(Duration livenessInterval) {
    this.livenessInterval = positive("livenessInterval", livenessInterval);
    return this;
  }

  /** How long a liveness check may go unanswered before the other side counts as gone; default 10 s. */
  public Duration getLivenessTimeout() {
    return livenessTimeout;
  }

  public StreamOptions setLivenessTimeout(Duration livenessTimeout) {
    this.livenessTimeout = positive("livenessTimeout", livenessTimeout);
    return this;
  }

  /** The hook point the stream carries, when declared; null when unknown. */
  public String getHookName() {
    return hookName;
  }

  /** Declares the hook point; a producer then rejects other batches, a consumer checks the producer agrees. */
  public StreamOptions setHookName(String hookName) {
    if (hookName != null && hookName.isBlank()) {
      throw new IllegalArgumentException("hookName must be null (unknown) or a hook name, got a blank string");
    }
    this.hookName = hookName;
    return this;
  }

  /** The width of every batch, when declared; 0 when unknown. */
  public int getWidth() {
    return width;
  }

  /** Declares the width (0 = unknown); a producer then rejects batches of another width. */
  public StreamOptions setWidth(int width) {
    if (width < 0) {
      throw new IllegalArgumentException("width must be 0 (unknown) or positive, got " + width);
    }
    this.width = width;
    return this;
  }

  /** Rows the producer expects to send in all, when declared; 0 when unknown. */
  public long getExpectedRows() {
    return expectedRows;
  }

  /**
   * Declares how many rows the producer expects to send (0 = unknown); consumers report it as
   * their {@code totalRows()} so progress has a total. A harvest declares its token limit: exact
   * unless the corpus runs out first.
   */
  public StreamOptions setExpectedRows(long rows) {
    if (rows < 0) {
      throw new IllegalArgumentException("expectedRows must be 0 (unknown) or positive, got " + rows);
    }
    this.expectedRows = rows;
    return this;
  }

  private static Duration positive(String field, Duration d) {
    Objects.requireNonNull(d, field);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(field + " must be positive, got " + d);
    }
    return d;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StreamOptions other && toJson().equals(other.toJson());
  }

  @Override
  public int hashCode() {
    return toJson().hashCode();
  }

  @Override
  public String toString() {
    return "StreamOptions" + toJson().encode();
  }
}
