package dev.loupe.core.plugin;

import java.util.List;

/** A job or command named an analysis method no loaded plugin provides. */
public class UnknownMethodException extends IllegalArgumentException {
  private final String methodId;

  public UnknownMethodException(String methodId, List<String> known) {
    super("unknown method '" + methodId + "'; known methods: " + (known.isEmpty() ? "(none: no plugin loaded)" : known)
        + " (run `loupe plugins` to see every method and any plugin that failed to load)");
    this.methodId = methodId;
  }

  public String methodId() {
    return methodId;
  }
}
