package dev.loupe.core.plugin;

import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.MethodInfo;
import java.nio.file.Path;
import java.util.Objects;

/**
 * One analysis method the host can run, with the plugin it came from.
 *
 * @param info the method's id, description, inputs and config schema (read once at load time)
 * @param method the extension instance; stateless between runs by the SDK contract
 * @param pluginId the contributing plugin's id, or {@code builtin} for methods registered in code
 * @param pluginVersion the contributing plugin's version
 * @param pluginPath where the plugin was loaded from (null for methods registered in code)
 */
public record MethodEntry(MethodInfo info, AnalysisMethod method, String pluginId, String pluginVersion,
    Path pluginPath) {

  public MethodEntry {
    Objects.requireNonNull(info, "info");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(pluginId, "pluginId");
    Objects.requireNonNull(pluginVersion, "pluginVersion");
  }

  /** A method registered in code rather than loaded from a plugin (tests, embedding). */
  public static MethodEntry builtin(AnalysisMethod method) {
    return new MethodEntry(method.info(), method, "builtin", "0", null);
  }

  public String id() {
    return info.id();
  }

  /** The class loader to make current while the method runs (the plugin's own). */
  public ClassLoader classLoader() {
    return method.getClass().getClassLoader();
  }
}
