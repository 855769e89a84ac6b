package dev.loupe.core.plugin;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Expands plugin zips into a cache directory, once per zip content version.
 *
 * <p>Why not PF4J's expand-next-to-the-zip: plugin directories may be read-only or shared by
 * several JVMs (a cluster test starts two), and a half-expanded directory would load as a broken
 * plugin. Here each zip is expanded into a fresh temporary directory and atomically renamed to a
 * name derived from the zip's path, size and modification time; a directory of that name is
 * complete by construction and is reused.
 */
final class PluginArchives {
  private final Path cacheDir;

  PluginArchives(Path cacheDir) {
    this.cacheDir = cacheDir;
  }

  /**
   * The expanded directory of {@code zip}.
   *
   * @throws IOException if the zip cannot be read or an entry would escape the target directory
   */
  Path expand(Path zip) throws IOException {
    Files.createDirectories(cacheDir);
    String name = zip.getFileName().toString().replaceFirst("(?i)\\.zip$", "");
    Path target = cacheDir.resolve(name + "-" + key(zip));
    if (Files.isDirectory(target)) {
      return target;
    }
    Path tmp = Files.createTempDirectory(cacheDir, ".expand-");
    try {
      unzip(zip, tmp);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
        // Another JVM expanded the same zip first: its copy is just as good.
        if (!Files.isDirectory(target)) {
          throw e;
        }
      }
    } finally {
      deleteTree(tmp);
    }
    return target;
  }

  private static String key(Path zip) throws IOException {
    String id = zip.toAbsolutePath().normalize() + "|" + Files.size(zip) + "|" + Files.getLastModifiedTime(zip).toMillis();
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(h, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void unzip(Path zip, Path dest) throws IOException {
    int entries = 0;
    try (InputStream raw = Files.newInputStream(zip); ZipInputStream in = new ZipInputStream(raw)) {
      ZipEntry e;
      while ((e = in.getNextEntry()) != null) {
        entries++;
        Path out = dest.resolve(e.getName()).normalize();
        if (!out.startsWith(dest)) {
          throw new IOException("zip entry '" + e.getName() + "' points outside the plugin directory");
        }
        if (e.isDirectory()) {
          Files.createDirectories(out);
        } else {
          Files.createDirectories(out.getParent());
          Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    if (entries == 0) {
      throw new IOException("not a zip archive, or an empty one");
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
