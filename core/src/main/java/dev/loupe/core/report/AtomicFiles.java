package dev.loupe.core.report;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Writes report files (charts, model cards) so that a reader sees either the old file or the
 * complete new one, never a half-written file.
 */
public final class AtomicFiles {
  private AtomicFiles() {
  }

  /**
   * Writes {@code content} to {@code target}: first to a temporary file in the same directory,
   * then renamed over the target in one atomic step. Creates missing parent directories.
   *
   * @throws IOException if writing fails or the file system cannot rename atomically; the
   *     temporary file is removed and an existing target is left as it was
   */
  public static Path write(Path target, byte[] content) throws IOException {
    if (target == null || content == null) {
      throw new IllegalArgumentException("target and content must not be null");
    }
    Path absolute = target.toAbsolutePath();
    Path dir = absolute.getParent();
    Files.createDirectories(dir);
    // Same directory as the target: a rename across file systems could not be atomic.
    // Not Files.createTempFile: that makes the file owner-only (0600), and reports are meant to
    // be read by others; a fresh random name with CREATE_NEW keeps the usual umask permissions.
    Path tmp = dir.resolve("." + absolute.getFileName() + "." + UUID.randomUUID() + ".tmp");
    boolean moved = false;
    try {
      Files.write(tmp, content, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      try {
        Files.move(tmp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot atomically rename " + tmp + " to " + absolute, e);
      }
      moved = true;
    } finally {
      if (!moved) {
        Files.deleteIfExists(tmp);
      }
    }
    return target;
  }
}
