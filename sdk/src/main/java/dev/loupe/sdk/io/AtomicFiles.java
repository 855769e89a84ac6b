package dev.loupe.sdk.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that readers see either the old content or the complete new one, never a
 * half-written file: the bytes go to a temp file in the same directory, are fsynced, and the temp
 * file is atomically renamed over the target. A crash leaves at most a stray
 * {@code .NAME.*.tmp} file, which readers ignore.
 */
public final class AtomicFiles {
  private AtomicFiles() {
  }

  /** Fills an open channel positioned at 0; called once per write. */
  @FunctionalInterface
  public interface Body {
    void writeTo(FileChannel channel) throws IOException;
  }

  /** Whether a file name is one of the temp names {@link #write} uses (so stores can report strays). */
  public static boolean isTempName(String fileName) {
    return fileName.startsWith(".") && fileName.endsWith(".tmp");
  }

  /**
   * Writes {@code target} atomically.
   *
   * @throws IOException from the body or the file system; the temp file is deleted and the target
   *     is left untouched
   */
  public static void write(Path target, Body body) throws IOException {
    try (Pending p = begin(target)) {
      body.writeTo(p.channel());
      p.commit();
    }
  }

  /** Writes {@code bytes} to {@code target} atomically (see {@link #write(Path, Body)}). */
  public static void write(Path target, byte[] bytes) throws IOException {
    write(target, ch -> {
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
    });
  }

  /** Starts an atomic write whose bytes the caller streams into {@link Pending#channel()}. */
  public static Pending begin(Path target) throws IOException {
    return new Pending(target);
  }

  /**
   * An atomic write in progress: {@link #commit()} publishes it; {@link #close()} without commit
   * deletes the temp file and leaves the target untouched. Not thread-safe.
   */
  public static final class Pending implements AutoCloseable {
    private final Path target;
    private final Path tmp;
    private final FileChannel channel;
    private boolean finished;

    private Pending(Path target) throws IOException {
      this.target = target.toAbsolutePath();
      Path dir = this.target.getParent();
      Files.createDirectories(dir);
      this.tmp = Files.createTempFile(dir, "." + this.target.getFileName() + ".", ".tmp");
      try {
        publishable(tmp, dir);
        this.channel = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
      } catch (IOException e) {
        Files.deleteIfExists(tmp);
        throw e;
      }
    }

    /** The temp file's channel; write the whole content here. */
    public FileChannel channel() {
      return channel;
    }

    /** The file being written. */
    public Path target() {
      return target;
    }

    /** Fsyncs the temp file and renames it over the target. */
    public void commit() throws IOException {
      if (finished) {
        throw new IllegalStateException("atomic write of " + target + " already finished");
      }
      finished = true;
      boolean moved = false;
      try {
        channel.force(true);
        channel.close();
        try {
          Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          throw new IOException("cannot atomically rename " + tmp + " to " + target
              + ": the file system does not support atomic moves", e);
        }
        moved = true;
        syncDirectory(target.getParent());
      } finally {
        if (!moved) {
          channel.close();
          Files.deleteIfExists(tmp);
        }
      }
    }

    /** Abandons the write unless committed: deletes the temp file. Idempotent. */
    @Override
    public void close() throws IOException {
      if (!finished) {
        finished = true;
        channel.close();
        Files.deleteIfExists(tmp);
      }
    }
  }

  /** Makes the rename itself durable; best effort, since not every platform can fsync a directory. */
  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException ignored) {
      // Windows cannot open a directory as a channel; the rename is still atomic there.
    }
  }

  /**
   * createTempFile makes owner-only files; a published file (a store shard, a model, a report) is
   * meant to be shared, so it gets its directory's permissions (which follow the umask) without
   * the execute bits.
   */
  private static void publishable(Path file, Path dir) throws IOException {
    java.util.Set<java.nio.file.attribute.PosixFilePermission> perms;
    try {
      perms = java.util.EnumSet.copyOf(Files.getPosixFilePermissions(dir));
    } catch (UnsupportedOperationException e) {
      return;
    }
    perms.removeAll(java.util.EnumSet.of(java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE,
        java.nio.file.attribute.PosixFilePermission.GROUP_EXECUTE, java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE));
    perms.add(java.nio.file.attribute.PosixFilePermission.OWNER_READ);
    perms.add(java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    Files.setPosixFilePermissions(file, perms);
  }
}
