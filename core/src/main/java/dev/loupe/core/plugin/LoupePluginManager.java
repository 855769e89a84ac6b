package dev.loupe.core.plugin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.pf4j.BasePluginLoader;
import org.pf4j.CompoundPluginDescriptorFinder;
import org.pf4j.CompoundPluginLoader;
import org.pf4j.DefaultPluginLoader;
import org.pf4j.DefaultPluginManager;
import org.pf4j.DevelopmentPluginClasspath;
import org.pf4j.JarPluginLoader;
import org.pf4j.ManifestPluginDescriptorFinder;
import org.pf4j.PluginDescriptorFinder;
import org.pf4j.PluginLoader;
import org.pf4j.PluginWrapper;
import org.pf4j.PropertiesPluginDescriptorFinder;

/**
 * PF4J's manager, set up for Loupe: plugins are handed to it one path at a time (so one broken
 * plugin cannot hide the others), and a Maven module directory ({@code target/classes} with a
 * {@code plugin.properties}) loads as a development plugin next to zips, jars and expanded zips.
 */
final class LoupePluginManager extends DefaultPluginManager {

  LoupePluginManager(String systemVersion) {
    super(List.of());
    setSystemVersion(systemVersion);
    // A plugin whose dependencies do not resolve is left out instead of failing every plugin.
    setResolveRecoveryStrategy(ResolveRecoveryStrategy.IGNORE_PLUGIN_AND_CONTINUE);
  }

  /** Reads the descriptor and creates the class loader; no resolving, no starting. */
  PluginWrapper loadOne(Path path) {
    return loadPluginFromPath(path);
  }

  /** Resolves dependencies and versions of everything loaded so far. */
  void resolveAll() {
    resolvePlugins();
  }

  static boolean isDevelopmentModule(Path path) {
    return Files.isDirectory(path.resolve("target").resolve("classes"));
  }

  @Override
  protected PluginDescriptorFinder createPluginDescriptorFinder() {
    return new CompoundPluginDescriptorFinder()
        .add(new ModulePropertiesFinder())
        .add(new ModuleManifestFinder());
  }

  @Override
  protected PluginLoader createPluginLoader() {
    PluginLoader development = new BasePluginLoader(this, DevelopmentPluginClasspath.MAVEN) {
      @Override
      public boolean isApplicable(Path pluginPath) {
        return isDevelopmentModule(pluginPath);
      }
    };
    return new CompoundPluginLoader()
        .add(development)
        .add(new JarPluginLoader(this))
        .add(new DefaultPluginLoader(this));
  }

  /** A MANIFEST.MF with Plugin-Id in a jar, a zip, or a development module's target/classes. */
  private static final class ModuleManifestFinder extends ManifestPluginDescriptorFinder {
    @Override
    protected java.util.jar.Manifest readManifestFromDirectory(Path pluginPath) {
      Path dev = pluginPath.resolve("target").resolve("classes").resolve("META-INF").resolve("MANIFEST.MF");
      if (Files.isRegularFile(dev)) {
        try (java.io.InputStream in = Files.newInputStream(dev)) {
          return new java.util.jar.Manifest(in);
        } catch (java.io.IOException e) {
          throw new org.pf4j.PluginRuntimeException(e, "Cannot read manifest from {}", dev);
        }
      }
      return super.readManifestFromDirectory(pluginPath);
    }
  }

  /** {@code plugin.properties} at the top of a zip/jar/directory, or in a module's target/classes. */
  private static final class ModulePropertiesFinder extends PropertiesPluginDescriptorFinder {
    @Override
    protected Path getPropertiesPath(Path pluginPath, String propertiesFileName) {
      if (Files.isDirectory(pluginPath) && !Files.exists(pluginPath.resolve(propertiesFileName))
          && isDevelopmentModule(pluginPath)) {
        return pluginPath.resolve("target").resolve("classes").resolve(propertiesFileName);
      }
      return super.getPropertiesPath(pluginPath, propertiesFileName);
    }
  }
}
