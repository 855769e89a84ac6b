package dev.loupe.core.plugin;

import dev.loupe.sdk.LoupeSdk;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.MethodInfo;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.pf4j.PluginDescriptor;
import org.pf4j.PluginState;
import org.pf4j.PluginWrapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads Loupe plugins with PF4J and lists the analysis methods they contribute.
 *
 * <p>Plugins come from plugin directories (each {@code *.zip}, {@code *.jar} and sub-directory in
 * them is one plugin) and from development module directories (a Maven module with
 * {@code target/classes/plugin.properties}). Every plugin is loaded on its own: one that cannot
 * be read, requires another SDK version, throws from {@code start()} or contributes no methods is
 * recorded in {@link #failures()} with the reason and the others load regardless. Plugins declare
 * the SDK versions they accept in {@code Plugin-Requires}; the host's version is
 * {@link LoupeSdk#VERSION}.
 *
 * <p>PF4J is not thread-safe and its lifecycle calls must stay on one thread, so loading and
 * {@link #close()} run on a dedicated thread; the method list is immutable once built and may be
 * read from any thread.
 */
public final class PluginHost implements MethodCatalog, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PluginHost.class);

  private final ExecutorService lifecycle = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "loupe-plugin-host");
    t.setDaemon(true);
    return t;
  });
  private final LoupePluginManager manager;
  private final PluginArchives archives;
  private final List<MethodEntry> methods = new ArrayList<>();
  private final List<PluginFailure> failures = new ArrayList<>();
  private final List<LoadedPlugin> plugins = new ArrayList<>();
  private boolean closed;

  private PluginHost(Builder b) {
    this.archives = new PluginArchives(b.extractDir);
    this.manager = onLifecycleThread(() -> new LoupePluginManager(b.systemVersion));
    onLifecycleThread(() -> {
      loadAll(b);
      return null;
    });
    methods.sort(Comparator.comparing(MethodEntry::id));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The SDK version plugins are checked against. */
  public String systemVersion() {
    return manager.getSystemVersion();
  }

  @Override
  public List<MethodEntry> methods() {
    return Collections.unmodifiableList(methods);
  }

  @Override
  public MethodEntry method(String id) {
    for (MethodEntry e : methods) {
      if (e.id().equals(id)) {
        return e;
      }
    }
    // The method may belong to a plugin that failed to load: its reason is the useful part.
    throw new UnknownMethodException(id, methods.stream().map(MethodEntry::id).toList(), failures);
  }

  /** Plugins and methods that could not be used, in the order they were met. */
  public List<PluginFailure> failures() {
    return Collections.unmodifiableList(failures);
  }

  /** Plugins that loaded and started. */
  public List<LoadedPlugin> plugins() {
    return Collections.unmodifiableList(plugins);
  }

  private void loadAll(Builder b) {
    List<Path> candidates = new ArrayList<>();
    for (Path dir : b.pluginDirs) {
      if (!Files.isDirectory(dir)) {
        if (Files.exists(dir)) {
          failures.add(new PluginFailure(dir, null, "plugin directory is not a directory"));
        } else {
          LOG.debug("plugin directory {} does not exist; skipped", dir);
        }
        continue;
      }
      try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
        List<Path> found = new ArrayList<>();
        for (Path p : s) {
          String name = p.getFileName().toString();
          if (name.startsWith(".")) {
            continue;
          }
          String lower = name.toLowerCase();
          if (Files.isDirectory(p) || lower.endsWith(".zip") || lower.endsWith(".jar")) {
            found.add(p);
          }
        }
        found.sort(Comparator.comparing(Path::toString));
        candidates.addAll(found);
      } catch (IOException e) {
        failures.add(new PluginFailure(dir, null, "cannot list plugin directory: " + e.getMessage()));
      }
    }
    for (Path dev : b.devPlugins) {
      if (!LoupePluginManager.isDevelopmentModule(dev)) {
        failures.add(new PluginFailure(dev, null, "not a built plugin module: " + dev.resolve("target/classes")
            + " is missing (build it with mvn compile)"));
        continue;
      }
      candidates.add(dev);
    }

    Map<String, Path> loaded = new LinkedHashMap<>();
    for (Path candidate : candidates) {
      PluginWrapper w = loadCandidate(candidate);
      if (w != null) {
        loaded.put(w.getPluginId(), candidate);
      }
    }
    try {
      manager.resolveAll();
    } catch (RuntimeException e) {
      LOG.warn("resolving plugins failed", e);
      failures.add(new PluginFailure(null, null, "resolving plugin dependencies failed: " + message(e)));
    }
    for (Map.Entry<String, Path> e : loaded.entrySet()) {
      startAndCollect(e.getKey(), e.getValue());
    }
  }

  private PluginWrapper loadCandidate(Path candidate) {
    Path path = candidate;
    try {
      if (Files.isRegularFile(candidate) && candidate.getFileName().toString().toLowerCase().endsWith(".zip")) {
        path = archives.expand(candidate);
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot expand plugin zip {}", candidate, e);
      failures.add(new PluginFailure(candidate, null, "cannot read plugin zip: " + message(e)));
      return null;
    }
    try {
      return manager.loadOne(path);
    } catch (org.pf4j.PluginAlreadyLoadedException e) {
      PluginWrapper other = manager.getPlugin(e.getPluginId());
      failures.add(new PluginFailure(candidate, e.getPluginId(), "a plugin with id '" + e.getPluginId()
          + "' is already loaded" + (other == null ? "" : " from " + other.getPluginPath()) + "; remove one of them"));
    } catch (RuntimeException | LinkageError e) {
      LOG.warn("cannot load plugin {}", candidate, e);
      failures.add(new PluginFailure(candidate, null, "invalid plugin descriptor: " + descriptorProblem(e)));
    }
    return null;
  }

  private void startAndCollect(String pluginId, Path source) {
    PluginWrapper w = manager.getPlugin(pluginId);
    if (w == null) {
      failures.add(new PluginFailure(source, pluginId, "left out while resolving plugin dependencies"));
      return;
    }
    PluginDescriptor d = w.getDescriptor();
    String requires = d.getRequires() == null || d.getRequires().isBlank() ? "*" : d.getRequires().trim();
    if (w.getPluginState() == PluginState.DISABLED) {
      failures.add(new PluginFailure(source, pluginId, "requires Loupe SDK " + requires + " but this Loupe has SDK "
          + manager.getSystemVersion() + "; use a plugin release built for SDK " + manager.getSystemVersion()));
      unload(pluginId);
      return;
    }
    if (!manager.getResolvedPlugins().contains(w)) {
      failures.add(new PluginFailure(source, pluginId, "unresolved plugin dependencies "
          + d.getDependencies().stream().map(dep -> dep.getPluginId() + "@" + dep.getPluginVersionSupport()).toList()));
      unload(pluginId);
      return;
    }
    try {
      if (w.getPlugin() == null) {
        throw new IllegalStateException("Plugin-Class '" + d.getPluginClass()
            + "' could not be loaded or instantiated (a public class extending org.pf4j.Plugin with a public no-arg constructor)");
      }
      manager.startPlugin(pluginId);
    } catch (RuntimeException | LinkageError e) {
      LOG.warn("plugin {} failed to start", pluginId, e);
      w.setPluginState(PluginState.FAILED);
      w.setFailedException(e);
      failures.add(new PluginFailure(source, pluginId, "failed to start: " + message(e)));
      return;
    }
    if (w.getPluginState() != PluginState.STARTED) {
      failures.add(new PluginFailure(source, pluginId, "did not start (state " + w.getPluginState() + ")"));
      return;
    }

    List<AnalysisMethod> extensions;
    try {
      extensions = manager.getExtensions(AnalysisMethod.class, pluginId);
    } catch (RuntimeException | LinkageError e) {
      LOG.warn("plugin {}: extensions failed to load", pluginId, e);
      failures.add(new PluginFailure(source, pluginId, "its analysis methods could not be created: " + message(e)));
      return;
    }
    List<String> ids = new ArrayList<>();
    for (AnalysisMethod m : extensions) {
      MethodInfo info;
      try {
        info = Objects.requireNonNull(m.info(), "info() returned null");
      } catch (RuntimeException | LinkageError e) {
        failures.add(new PluginFailure(source, pluginId, "method " + m.getClass().getName() + ": info() failed: " + message(e)));
        continue;
      }
      MethodEntry existing = methods.stream().filter(x -> x.id().equals(info.id())).findFirst().orElse(null);
      if (existing != null) {
        failures.add(new PluginFailure(source, pluginId, "method id '" + info.id() + "' is already provided by plugin '"
            + existing.pluginId() + "'; this one (" + m.getClass().getName() + ") is ignored"));
        continue;
      }
      methods.add(new MethodEntry(info, m, pluginId, d.getVersion(), source));
      ids.add(info.id());
    }
    if (extensions.isEmpty()) {
      failures.add(new PluginFailure(source, pluginId, noExtensionsReason(w)));
    }
    plugins.add(new LoadedPlugin(pluginId, d.getVersion(), d.getProvider() == null ? "" : d.getProvider(), requires,
        source, ids));
  }

  /** PF4J's descriptor errors, in the words of someone writing a plugin. */
  private static String descriptorProblem(Throwable e) {
    String m = message(e);
    if (m.startsWith("No PluginDescriptorFinder")) {
      return "found neither a plugin.properties (plugin.id, plugin.version, plugin.class) nor a MANIFEST.MF "
          + "with Plugin-Id, Plugin-Version, Plugin-Class";
    }
    if (m.startsWith("Field 'id'")) {
      return "plugin.id / Plugin-Id is missing or empty";
    }
    if (m.startsWith("Field 'version'")) {
      return "plugin.version / Plugin-Version is missing or empty";
    }
    return m;
  }

  private static String noExtensionsReason(PluginWrapper w) {
    try {
      Class<?> seen = w.getPluginClassLoader().loadClass(AnalysisMethod.class.getName());
      if (seen != AnalysisMethod.class) {
        return "contributes no analysis methods because it bundles its own copy of the Loupe SDK; declare "
            + "loupe-sdk (and pf4j, DJL, Vert.x) with <scope>provided</scope> so the host's classes are used";
      }
    } catch (ClassNotFoundException | LinkageError e) {
      return "contributes no analysis methods: " + AnalysisMethod.class.getName() + " is not visible to it (" + message(e) + ")";
    }
    return "loaded but contributes no analysis methods: annotate AnalysisMethod implementations with "
        + "@org.pf4j.Extension and compile with pf4j as annotation processor (META-INF/extensions.idx)";
  }

  private void unload(String pluginId) {
    try {
      manager.unloadPlugin(pluginId);
    } catch (RuntimeException e) {
      LOG.debug("unloading {} failed", pluginId, e);
    }
  }

  private static String message(Throwable e) {
    Throwable t = e;
    // PF4J wraps the real cause; the innermost message is the one users can act on.
    while (t.getCause() != null && t.getCause() != t && (t.getMessage() == null || t instanceof org.pf4j.PluginRuntimeException)) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.getClass().getSimpleName() : m.replace('\n', ' ');
  }

  private <T> T onLifecycleThread(java.util.concurrent.Callable<T> task) {
    Future<T> f = lifecycle.submit(task);
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while loading plugins", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  /** Stops and unloads every plugin; idempotent. Methods must not be run afterwards. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      onLifecycleThread(() -> {
        manager.stopPlugins();
        manager.unloadPlugins();
        return null;
      });
    } catch (RuntimeException e) {
      LOG.warn("stopping plugins failed", e);
    } finally {
      lifecycle.shutdown();
      try {
        lifecycle.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Which directories to load from; {@link #build()} loads and starts the plugins. */
  public static final class Builder {
    private final List<Path> pluginDirs = new ArrayList<>();
    private final List<Path> devPlugins = new ArrayList<>();
    private Path extractDir = Path.of(System.getProperty("java.io.tmpdir"),
        "loupe-plugins-" + System.getProperty("user.name", "user"));
    private String systemVersion = LoupeSdk.VERSION;

    /** A directory of plugin zips, jars and expanded plugin directories; missing ones are skipped. */
    public Builder pluginDir(Path dir) {
      pluginDirs.add(Objects.requireNonNull(dir, "dir").toAbsolutePath().normalize());
      return this;
    }

    public Builder pluginDirs(List<Path> dirs) {
      dirs.forEach(this::pluginDir);
      return this;
    }

    /** A plugin's Maven module directory, loaded from target/classes (development mode). */
    public Builder developmentPlugin(Path moduleDir) {
      devPlugins.add(Objects.requireNonNull(moduleDir, "moduleDir").toAbsolutePath().normalize());
      return this;
    }

    public Builder developmentPlugins(List<Path> dirs) {
      dirs.forEach(this::developmentPlugin);
      return this;
    }

    /** Where zips are expanded (default: a per-user directory under java.io.tmpdir). */
    public Builder extractDir(Path dir) {
      this.extractDir = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** The SDK version plugins are checked against; {@link LoupeSdk#VERSION} unless testing. */
    public Builder systemVersion(String version) {
      this.systemVersion = Objects.requireNonNull(version, "version");
      return this;
    }

    /** Loads and starts every plugin found; failures are recorded, not thrown. */
    public PluginHost build() {
      return new PluginHost(this);
    }
  }
}
