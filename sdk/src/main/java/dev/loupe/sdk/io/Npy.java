package dev.loupe.sdk.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads and writes NumPy {@code .npy} arrays: read any of {@code <f4 <f2 <f8 <i4 <i8} (C order) as
 * float32, write float32 atomically. For lazy or partial reads use {@link NpyFile}. Thread-safe.
 */
public final class Npy {
  private Npy() {
  }

  /** A whole array read into memory; the arrays belong to the caller (not copied). */
  public record Array(float[] values, long[] shape) {
  }

  /** Opens a file for lazy reads (see {@link NpyFile#open}). */
  public static NpyFile open(Path file) throws IOException {
    return NpyFile.open(file);
  }

  /**
   * Reads a whole array as float32.
   *
   * @throws TensorFileException naming the file and field when it is malformed or unsupported
   */
  public static Array read(Path file) throws IOException {
    try (NpyFile f = NpyFile.open(file)) {
      return new Array(f.readFloats(), f.shape());
    }
  }

  /**
   * Writes {@code values} as a C-order little-endian float32 array of {@code shape}, atomically.
   * Uses format 1.0 unless the header needs more than 64 KB (then 2.0).
   *
   * @throws IllegalArgumentException when the shape's product differs from values.length
   */
  public static void writeFloats(Path file, float[] values, long... shape) throws IOException {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a negative dimension");
      }
      n = Math.multiplyExact(n, d);
    }
    if (n != values.length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, got " + values.length);
    }
    StringBuilder dict = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < shape.length; i++) {
      dict.append(shape[i]).append(shape.length == 1 ? "," : (i + 1 < shape.length ? ", " : ""));
    }
    dict.append("), }");
    byte[] body = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
    // NumPy pads preamble + header + '\n' to a multiple of 64 bytes so the data is aligned.
    int version = body.length + 1 + 10 > 65535 ? 2 : 1;
    int pre = version == 1 ? 10 : 12;
    int total = (pre + body.length + 1 + 63) / 64 * 64;
    int headerLen = total - pre;
    ByteBuffer head = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
    head.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) version).put((byte) 0);
    if (version == 1) {
      head.putShort((short) headerLen);
    } else {
      head.putInt(headerLen);
    }
    head.put(body);
    while (head.remaining() > 1) {
      head.put((byte) ' ');
    }
    head.put((byte) '\n').flip();
    AtomicFiles.write(file, ch -> {
      while (head.hasRemaining()) {
        ch.write(head);
      }
      int chunk = 1 << 20;
      ByteBuffer b = ByteBuffer.allocate(4 * chunk).order(ByteOrder.LITTLE_ENDIAN);
      for (int off = 0; off < values.length; off += chunk) {
        int c = Math.min(chunk, values.length - off);
        b.clear();
        b.asFloatBuffer().put(values, off, c);
        b.limit(4 * c);
        while (b.hasRemaining()) {
          ch.write(b);
        }
      }
    });
  }
}
