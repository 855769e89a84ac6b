package dev.loupe.sdk.activation;

/** An activation source failed: a stream broke, a store shard is corrupt, a file is unreadable. */
public class ActivationSourceException extends RuntimeException {
  public ActivationSourceException(String message) {
    super(message);
  }

  public ActivationSourceException(String message, Throwable cause) {
    super(message, cause);
  }
}
