package dev.loupe.core.plugin;

import java.util.List;

/**
 * A job or command named an analysis method no loaded plugin provides. When some plugins failed
 * to load, the message lists them with their reasons: the method asked for is often in one of
 * them (a plugin built for another SDK version, say), and the reason is what the user can fix.
 */
public class UnknownMethodException extends IllegalArgumentException {
  private static final int LISTED_FAILURES = 5;

  private final String methodId;

  public UnknownMethodException(String methodId, List<String> known) {
    this(methodId, known, List.of());
  }

  /**
   * @param failures the plugins that could not be used, each as one line (plugin, path, reason)
   */
  public UnknownMethodException(String methodId, List<String> known, List<?> failures) {
    super("unknown method '" + methodId + "'; known methods: " + (known.isEmpty() ? "(none: no plugin loaded)" : known)
        + failed(failures) + " (run `loupe plugins` to see every method and any plugin that failed to load)");
    this.methodId = methodId;
  }

  private static String failed(List<?> failures) {
    if (failures.isEmpty()) {
      return "";
    }
    StringBuilder s = new StringBuilder("; ").append(failures.size())
        .append(failures.size() == 1 ? " plugin" : " plugins").append(" failed to load: ");
    for (int i = 0; i < Math.min(LISTED_FAILURES, failures.size()); i++) {
      s.append(i == 0 ? "" : "; ").append(failures.get(i));
    }
    if (failures.size() > LISTED_FAILURES) {
      s.append("; and ").append(failures.size() - LISTED_FAILURES).append(" more");
    }
    return s.toString();
  }

  public String methodId() {
    return methodId;
  }
}
