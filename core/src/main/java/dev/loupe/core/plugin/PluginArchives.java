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
    // <zip name>-<hash of its path>-<hash of path, size and time>: the first two parts identify
    // the zip, the last one its build, so stale builds of this zip (and only of this zip) can go.
    Path abs = zip.toAbsolutePath().normalize();
    String name = zip.getFileName().toString().replaceFirst("(?i)\\.zip$", "") + "-" + hash(abs.toString(), 4);
    Path target = cacheDir.resolve(name + "-" + hash(abs + "|" + Files.size(zip) + "|"
        + Files.getLastModifiedTime(zip).toMillis(), 6));
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
    removeStaleCopies(name, target);
    return target;
  }

  /**
   * Deletes earlier expansions of the same zip (each rebuild changes its key), so the cache does
   * not grow with every build. A JVM still using one keeps working: its jars stay open.
   */
  private void removeStaleCopies(String name, Path current) {
    java.util.regex.Pattern stale = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(name) + "-[0-9a-f]{12}");
    try (Stream<Path> s = Files.list(cacheDir)) {
      for (Path p : s.filter(p -> !p.equals(current) && stale.matcher(p.getFileName().toString()).matches()).toList()) {
        deleteTree(p);
      }
    } catch (IOException e) {
      // Only disk space is at stake; the next expansion tries again.
    }
  }

  private static String hash(String text, int bytes) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(h, 0, bytes);
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
