package dev.loupe.core.plugin;

import java.nio.file.Path;

/**
 * A plugin (or one of its methods) the host could not use, and why.
 *
 * @param path the zip, jar or directory it came from
 * @param pluginId its id when the descriptor could be read, otherwise null
 * @param reason one line for users: what is wrong and, where known, how to fix it
 */
public record PluginFailure(Path path, String pluginId, String reason) {

  @Override
  public String toString() {
    return (pluginId == null ? "" : pluginId + " ") + "(" + path + "): " + reason;
  }
}
