package dev.loupe.sdk.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * A read-only memory mapping of a byte range of a file of any size: Java maps at most 2 GB at a
 * time, so the range is mapped lazily in chunks of {@link #CHUNK} bytes. Thread-safe.
 */
final class MappedRegion {
  static final long CHUNK = 1L << 30;

  private final Path file;
  private final FileChannel channel;
  private final long start;
  private final long length;
  private final MappedByteBuffer[] chunks;
  private final long chunk;

  MappedRegion(Path file, FileChannel channel, long start, long length) {
    this(file, channel, start, length, CHUNK);
  }

  /** With a given chunk size, so tests can exercise reads that straddle chunks without 2 GB files. */
  MappedRegion(Path file, FileChannel channel, long start, long length, long chunk) {
    this.chunk = chunk;
    this.file = file;
    this.channel = channel;
    this.start = start;
    this.length = length;
    this.chunks = new MappedByteBuffer[(int) ((length + chunk - 1) / chunk)];
  }

  long length() {
    return length;
  }

  private synchronized MappedByteBuffer chunk(int i) {
    if (chunks[i] == null) {
      long off = i * chunk;
      long len = Math.min(chunk, length - off);
      try {
        chunks[i] = channel.map(FileChannel.MapMode.READ_ONLY, start + off, len);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot map " + file + " bytes [" + (start + off) + ", "
            + (start + off + len) + "): " + e.getMessage(), e);
      }
    }
    return chunks[i];
  }

  /**
   * The bytes [pos, pos+len) of the region as a little-endian buffer positioned at 0: a view of the
   * mapping when they lie in one chunk, else a heap copy.
   */
  ByteBuffer slice(long pos, int len) {
    if (pos < 0 || len < 0 || pos + len > length) {
      throw new IndexOutOfBoundsException("bytes [" + pos + ", " + (pos + len) + ") outside a region of " + length + " bytes of " + file);
    }
    if (len == 0) {
      return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
    }
    int first = (int) (pos / chunk);
    int last = (int) ((pos + len - 1) / chunk);
    if (first == last) {
      ByteBuffer b = chunk(first).duplicate();
      int p = (int) (pos - first * chunk);
      b.position(p).limit(p + len);
      return b.slice().order(ByteOrder.LITTLE_ENDIAN);
    }
    ByteBuffer out = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
    long at = pos;
    while (out.hasRemaining()) {
      int c = (int) (at / chunk);
      ByteBuffer b = chunk(c).duplicate();
      int p = (int) (at - c * chunk);
      int n = (int) Math.min(out.remaining(), b.capacity() - p);
      b.position(p).limit(p + n);
      out.put(b);
      at += n;
    }
    return out.flip();
  }
}
