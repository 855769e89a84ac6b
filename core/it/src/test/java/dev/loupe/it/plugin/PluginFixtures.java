package dev.loupe.it.plugin;

import dev.loupe.sdk.method.AnalysisMethod;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.pf4j.Plugin;

/**
 * Plugins for the integration tests: the activation-stats zip the build put in
 * {@code <repo>/target/plugins}, and small broken plugins made at test time (compiled with the
 * system Java compiler against the SDK and PF4J) to check that one bad plugin never hides the
 * others.
 */
public final class PluginFixtures {
  private PluginFixtures() {}

  /** The repository root (the tests run in core/it). */
  public static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isDirectory(p.resolve(".mvn"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("cannot find the repository root (a directory with .mvn) above "
          + Path.of("").toAbsolutePath());
    }
    return p;
  }

  /** {@code <repo>/target/plugins}, where the build puts plugin zips. */
  public static Path builtPluginsDir() {
    return repoRoot().resolve("target/plugins");
  }

  /** The activation-stats zip built by {@code mvn install}. */
  static Path activationStatsZip() throws IOException {
    Path dir = builtPluginsDir();
    if (Files.isDirectory(dir)) {
      try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "activation-stats-*.zip")) {
        for (Path p : s) {
          return p;
        }
      }
    }
    throw new IllegalStateException("no activation-stats-*.zip in " + dir
        + "; build first: mvn -B -o install -DskipTests");
  }

  /** A copy of {@code zip} whose plugin.properties has {@code plugin.id} replaced. */
  static Path withPluginId(Path zip, String newId, Path target) throws IOException {
    try (InputStream raw = Files.newInputStream(zip); ZipInputStream in = new ZipInputStream(raw);
        OutputStream o = Files.newOutputStream(target); ZipOutputStream out = new ZipOutputStream(o)) {
      ZipEntry e;
      while ((e = in.getNextEntry()) != null) {
        byte[] bytes = in.readAllBytes();
        if (e.getName().equals("plugin.properties")) {
          bytes = new String(bytes, StandardCharsets.UTF_8).replaceAll("(?m)^plugin\\.id=.*$", "plugin.id=" + newId)
              .getBytes(StandardCharsets.UTF_8);
        }
        out.putNextEntry(new ZipEntry(e.getName()));
        out.write(bytes);
        out.closeEntry();
      }
    }
    return target;
  }

  /** A zip holding only a MANIFEST.MF that is not a manifest. */
  static Path garbageManifestZip(Path target) throws IOException {
    try (OutputStream o = Files.newOutputStream(target); ZipOutputStream out = new ZipOutputStream(o)) {
      out.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
      out.write("\u0000\u0001 not a manifest\n:::\n".getBytes(StandardCharsets.UTF_8));
      out.closeEntry();
    }
    return target;
  }

  /**
   * Compiles {@code sources} (fully qualified class name to source text) and packs them with a
   * plugin.properties made of {@code descriptor} into a plugin jar.
   */
  static Path pluginJar(Path target, Map<String, String> descriptor, Map<String, String> sources) throws IOException {
    Path work = Files.createTempDirectory(target.getParent(), ".src");
    Path classes = work.resolve("classes");
    Files.createDirectories(classes);
    List<String> files = new ArrayList<>();
    for (Map.Entry<String, String> s : sources.entrySet()) {
      Path f = work.resolve(s.getKey().replace('.', '/') + ".java");
      Files.createDirectories(f.getParent());
      Files.writeString(f, s.getValue());
      files.add(f.toString());
    }
    if (!files.isEmpty()) {
      JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
      if (javac == null) {
        throw new IllegalStateException("no system Java compiler: run the tests on a JDK");
      }
      List<String> args = new ArrayList<>(List.of("-proc:none", "--release", "17", "-d", classes.toString(),
          "-classpath", classpathOf(Plugin.class, AnalysisMethod.class, org.slf4j.Logger.class)));
      args.addAll(files);
      ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
      int rc = javac.run(null, diagnostics, diagnostics, args.toArray(String[]::new));
      if (rc != 0) {
        throw new IllegalStateException("test plugin did not compile:\n" + diagnostics);
      }
    }
    try (OutputStream o = Files.newOutputStream(target); JarOutputStream jar = new JarOutputStream(o)) {
      StringBuilder props = new StringBuilder();
      descriptor.forEach((k, v) -> props.append(k).append('=').append(v).append('\n'));
      jar.putNextEntry(new ZipEntry("plugin.properties"));
      jar.write(props.toString().getBytes(StandardCharsets.UTF_8));
      jar.closeEntry();
      try (Stream<Path> walk = Files.walk(classes)) {
        for (Path p : walk.filter(Files::isRegularFile).toList()) {
          jar.putNextEntry(new ZipEntry(classes.relativize(p).toString().replace('\\', '/')));
          jar.write(Files.readAllBytes(p));
          jar.closeEntry();
        }
      }
    }
    return target;
  }

  /** The jars or directories the given classes were loaded from, as a class path. */
  private static String classpathOf(Class<?>... types) {
    List<String> parts = new ArrayList<>();
    for (Class<?> t : types) {
      try {
        parts.add(Path.of(t.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
      } catch (URISyntaxException e) {
        throw new IllegalStateException(e);
      }
    }
    return String.join(java.io.File.pathSeparator, parts);
  }

  static Map<String, String> descriptor(String id, String pluginClass, String requires) {
    Map<String, String> d = new java.util.LinkedHashMap<>();
    d.put("plugin.id", id);
    d.put("plugin.version", "1.0.0");
    if (pluginClass != null) {
      d.put("plugin.class", pluginClass);
    }
    d.put("plugin.provider", "Loupe tests");
    d.put("plugin.requires", requires);
    return d;
  }

  /** A plugin whose start() throws. */
  static Path throwingPlugin(Path target) throws IOException {
    return pluginJar(target, descriptor("boom", "test.boom.BoomPlugin", "0.1.0"), Map.of("test.boom.BoomPlugin", """
        package test.boom;
        public class BoomPlugin extends org.pf4j.Plugin {
          @Override
          public void start() {
            throw new IllegalStateException("cannot reach the licence server");
          }
        }
        """));
  }

  /** A plugin that starts but contributes no analysis method. */
  static Path emptyPlugin(Path target) throws IOException {
    return pluginJar(target, descriptor("hollow", "test.hollow.HollowPlugin", "0.1.0"), Map.of("test.hollow.HollowPlugin", """
        package test.hollow;
        public class HollowPlugin extends org.pf4j.Plugin {
        }
        """));
  }

  /**
   * A plugin that bundles its own copy of the SDK classes, so its extension implements a different
   * {@code AnalysisMethod} than the host's: the mistake that makes zero extensions load.
   */
  static Path bundlingPlugin(Path target) throws IOException {
    Path jar = pluginJar(target, descriptor("bundler", "test.bundler.BundlerPlugin", "0.1.0"), Map.of(
        "test.bundler.BundlerPlugin", """
            package test.bundler;
            public class BundlerPlugin extends org.pf4j.Plugin {
            }
            """,
        "test.bundler.Method", """
            package test.bundler;
            public class Method implements dev.loupe.sdk.method.AnalysisMethod {
              public dev.loupe.sdk.method.MethodInfo info() {
                return dev.loupe.sdk.method.MethodInfo.of("bundled", "never visible", null);
              }
              public void run(dev.loupe.sdk.method.JobContext ctx) {
              }
            }
            """));
    // Re-pack with the SDK's classes and an extension index, as a fat plugin jar would have them.
    Path fat = target.resolveSibling(target.getFileName() + ".fat");
    Path sdk;
    try {
      sdk = Path.of(AnalysisMethod.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
    try (OutputStream o = Files.newOutputStream(fat); JarOutputStream out = new JarOutputStream(o)) {
      copyEntries(jar, out);
      if (Files.isDirectory(sdk)) {
        try (Stream<Path> walk = Files.walk(sdk)) {
          for (Path p : walk.filter(p -> p.toString().endsWith(".class")).toList()) {
            out.putNextEntry(new ZipEntry(sdk.relativize(p).toString().replace('\\', '/')));
            out.write(Files.readAllBytes(p));
            out.closeEntry();
          }
        }
      } else {
        copyEntries(sdk, out);
      }
      out.putNextEntry(new ZipEntry("META-INF/extensions.idx"));
      out.write("test.bundler.Method\n".getBytes(StandardCharsets.UTF_8));
      out.closeEntry();
    }
    Files.move(fat, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return target;
  }

  private static void copyEntries(Path zip, ZipOutputStream out) throws IOException {
    try (InputStream raw = Files.newInputStream(zip); ZipInputStream in = new ZipInputStream(raw)) {
      ZipEntry e;
      while ((e = in.getNextEntry()) != null) {
        if (e.isDirectory() || e.getName().startsWith("META-INF/")) {
          continue;
        }
        out.putNextEntry(new ZipEntry(e.getName()));
        out.write(in.readAllBytes());
        out.closeEntry();
      }
    }
  }

  /** A plugin that asks for an SDK from the future. */
  static Path futurePlugin(Path target) throws IOException {
    return pluginJar(target, descriptor("future", "test.future.FuturePlugin", ">=99.0.0"), Map.of("test.future.FuturePlugin", """
        package test.future;
        public class FuturePlugin extends org.pf4j.Plugin {
        }
        """));
  }
}
