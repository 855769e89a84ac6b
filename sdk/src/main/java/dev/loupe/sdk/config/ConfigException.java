package dev.loupe.sdk.config;

/** A configuration was rejected; {@link #field()} names the offending key (dotted path). */
public class ConfigException extends IllegalArgumentException {
  private final String field;

  public ConfigException(String field, String message) {
    super(field == null || field.isEmpty() ? message : "'" + field + "': " + message);
    this.field = field;
  }

  /** The key that was wrong, or empty when the problem is the document as a whole. */
  public String field() {
    return field == null ? "" : field;
  }
}
