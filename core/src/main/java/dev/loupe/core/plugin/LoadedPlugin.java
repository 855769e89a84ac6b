package dev.loupe.core.plugin;

import java.nio.file.Path;
import java.util.List;

/**
 * A plugin that loaded and started.
 *
 * @param id the plugin id ({@code Plugin-Id})
 * @param version the plugin version
 * @param provider who made it (may be empty)
 * @param requires the SDK versions it accepts ({@code Plugin-Requires}; {@code *} when absent)
 * @param path the zip, jar or directory it came from
 * @param methodIds the ids of the analysis methods it contributes
 */
public record LoadedPlugin(String id, String version, String provider, String requires, Path path,
    List<String> methodIds) {

  public LoadedPlugin {
    methodIds = List.copyOf(methodIds);
  }
}
