package dev.loupe.sdk.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open, validated NumPy {@code .npy} file (format versions 1, 2 and 3) of little-endian
 * {@code f4, f2, f8, i4, i8} in C order. The data is memory-mapped lazily, so slices of a huge
 * array can be read without loading it. Thread-safe for reads.
 */
public final class NpyFile implements AutoCloseable {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final long MAX_HEADER = 1L << 20;

  private final Path file;
  private final FileChannel channel;
  private final DType dtype;
  private final long[] shape;
  private final long elements;
  private final MappedRegion data;

  private NpyFile(Path file, FileChannel channel, DType dtype, long[] shape, long elements, long dataStart) {
    this.file = file;
    this.channel = channel;
    this.dtype = dtype;
    this.shape = shape;
    this.elements = elements;
    this.data = new MappedRegion(file, channel, dataStart, elements * dtype.size());
  }

  /**
   * Opens and validates a file.
   *
   * @throws TensorFileException naming the file and the field (magic, version, descr,
   *     fortran_order, shape, data length) when it is not a supported .npy
   */
  public static NpyFile open(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      long size = ch.size();
      if (size < 10) {
        throw new TensorFileException(file, "file is " + size + " bytes, too short for a .npy preamble");
      }
      ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
      pre.limit((int) Math.min(12, size));
      while (pre.hasRemaining() && ch.read(pre, pre.position()) >= 0) {
        // read fully
      }
      for (int i = 0; i < MAGIC.length; i++) {
        if (pre.get(i) != MAGIC[i]) {
          throw new TensorFileException(file, "magic is not \\x93NUMPY: not a .npy file");
        }
      }
      int major = pre.get(6) & 0xff;
      long headerLen;
      int headerStart;
      if (major == 1) {
        headerLen = pre.getShort(8) & 0xffff;
        headerStart = 10;
      } else if (major == 2 || major == 3) {
        if (size < 12) {
          throw new TensorFileException(file, "file is too short for a version " + major + " preamble");
        }
        headerLen = pre.getInt(8) & 0xffffffffL;
        headerStart = 12;
      } else {
        throw new TensorFileException(file, "format version " + major + "." + (pre.get(7) & 0xff)
            + " is not supported (expected 1.0, 2.0 or 3.0)");
      }
      if (headerLen > MAX_HEADER || headerStart + headerLen > size) {
        throw new TensorFileException(file, "header length " + headerLen + " runs past the end of the "
            + size + "-byte file (or exceeds " + MAX_HEADER + ")");
      }
      ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
      while (hb.hasRemaining() && ch.read(hb, headerStart + hb.position()) >= 0) {
        // read fully
      }
      String header = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
      Map<String, Object> dict = new HeaderParser(file, header).parseDict();
      Object descr = dict.get("descr");
      if (!(descr instanceof String d)) {
        throw new TensorFileException(file, "header field 'descr' must be a string, got " + descr);
      }
      DType dtype = switch (d) {
        case "<f4" -> DType.F32;
        case "<f2" -> DType.F16;
        case "<f8" -> DType.F64;
        case "<i4" -> DType.I32;
        case "<i8" -> DType.I64;
        default -> throw new TensorFileException(file, "header field 'descr' is '" + d
            + "', expected one of '<f4', '<f2', '<f8', '<i4', '<i8' (little-endian)");
      };
      Object fortran = dict.get("fortran_order");
      if (!(fortran instanceof Boolean)) {
        throw new TensorFileException(file, "header field 'fortran_order' must be True or False, got " + fortran);
      }
      if ((Boolean) fortran) {
        throw new TensorFileException(file, "fortran_order is True: column-major arrays are not supported; "
            + "save with np.ascontiguousarray(a)");
      }
      Object shapeObj = dict.get("shape");
      if (!(shapeObj instanceof long[] shape)) {
        throw new TensorFileException(file, "header field 'shape' must be a tuple of integers, got " + shapeObj);
      }
      long count = 1;
      for (int i = 0; i < shape.length; i++) {
        if (shape[i] < 0) {
          throw new TensorFileException(file, "shape[" + i + "] is negative (" + shape[i] + ")");
        }
        try {
          count = Math.multiplyExact(count, shape[i]);
        } catch (ArithmeticException e) {
          throw new TensorFileException(file, "shape " + Arrays.toString(shape) + " is too large");
        }
      }
      long dataStart = headerStart + headerLen;
      long expected = count > Long.MAX_VALUE / 8 ? -1 : count * dtype.size();
      if (expected != size - dataStart) {
        throw new TensorFileException(file, "data is " + (size - dataStart) + " bytes but shape "
            + Arrays.toString(shape) + " of '" + d + "' needs " + expected);
      }
      return new NpyFile(file, ch, dtype, shape, count, dataStart);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  public Path path() {
    return file;
  }

  /** The stored element type (F32, F16, F64, I32 or I64). */
  public DType dtype() {
    return dtype;
  }

  public long[] shape() {
    return shape.clone();
  }

  public long elementCount() {
    return elements;
  }

  /** All elements widened (or, for f8, narrowed) to float32. */
  public float[] readFloats() {
    if (elements > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(file + ": " + elements + " elements are too many for one array; read ranges");
    }
    return readFloats(0, (int) elements);
  }

  /**
   * {@code count} elements from element {@code offset} (C order) as float32; integer arrays are
   * converted value by value.
   *
   * @throws IllegalArgumentException when the range lies outside the array
   */
  public float[] readFloats(long offset, int count) {
    if (offset < 0 || count < 0 || offset + count > elements) {
      throw new IllegalArgumentException(file + ": elements [" + offset + ", " + (offset + count)
          + ") outside an array of " + elements);
    }
    ByteBuffer b = data.slice(offset * dtype.size(), Math.multiplyExact(count, dtype.size()));
    float[] out = new float[count];
    switch (dtype) {
      case I32 -> { for (int i = 0; i < count; i++) out[i] = b.getInt(4 * i); }
      case I64 -> { for (int i = 0; i < count; i++) out[i] = b.getLong(8 * i); }
      default -> dtype.decodeFloats(b, out, 0, count);
    }
    return out;
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // Read-only channel: nothing to lose.
    }
  }

  /** Parses the Python dict literal of an .npy header: string keys, string / bool / int-tuple values. */
  private static final class HeaderParser {
    private final Path file;
    private final String s;
    private int i;

    HeaderParser(Path file, String s) {
      this.file = file;
      this.s = s;
    }

    Map<String, Object> parseDict() throws TensorFileException {
      Map<String, Object> out = new LinkedHashMap<>();
      skip();
      expect('{');
      while (true) {
        skip();
        if (peek() == '}') {
          i++;
          break;
        }
        String key = parseString();
        skip();
        expect(':');
        skip();
        Object value;
        char c = peek();
        if (c == '\'' || c == '"') {
          value = parseString();
        } else if (c == '(') {
          value = parseTuple();
        } else if (s.startsWith("True", i)) {
          i += 4;
          value = Boolean.TRUE;
        } else if (s.startsWith("False", i)) {
          i += 5;
          value = Boolean.FALSE;
        } else {
          throw error("unexpected value for '" + key + "'");
        }
        if (out.put(key, value) != null) {
          throw error("duplicate key '" + key + "'");
        }
        skip();
        if (peek() == ',') {
          i++;
        } else if (peek() != '}') {
          throw error("expected ',' or '}'");
        }
      }
      skip();
      if (i != s.length()) {
        throw error("unexpected text after the dict");
      }
      for (String k : List.of("descr", "fortran_order", "shape")) {
        if (!out.containsKey(k)) {
          throw new TensorFileException(file, "header has no '" + k + "' field: " + s.strip());
        }
      }
      return out;
    }

    private long[] parseTuple() throws TensorFileException {
      expect('(');
      List<Long> dims = new ArrayList<>();
      while (true) {
        skip();
        if (peek() == ')') {
          i++;
          break;
        }
        int start = i;
        if (peek() == '-') {
          i++;
        }
        while (i < s.length() && Character.isDigit(s.charAt(i))) {
          i++;
        }
        if (start == i || i > start + 19) {
          throw error("shape entries must be integers");
        }
        try {
          dims.add(Long.parseLong(s.substring(start, i)));
        } catch (NumberFormatException e) {
          throw error("shape entry " + s.substring(start, i) + " is not a 64-bit integer");
        }
        skip();
        if (peek() == ',') {
          i++;
        } else if (peek() != ')') {
          throw error("expected ',' or ')' in shape");
        }
      }
      return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private String parseString() throws TensorFileException {
      char q = peek();
      if (q != '\'' && q != '"') {
        throw error("expected a quoted string");
      }
      int end = s.indexOf(q, i + 1);
      if (end < 0) {
        throw error("unterminated string");
      }
      String v = s.substring(i + 1, end);
      i = end + 1;
      return v;
    }

    private void skip() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
    }

    private char peek() throws TensorFileException {
      if (i >= s.length()) {
        throw error("header ends early");
      }
      return s.charAt(i);
    }

    private void expect(char c) throws TensorFileException {
      if (peek() != c) {
        throw error("expected '" + c + "'");
      }
      i++;
    }

    private TensorFileException error(String what) {
      return new TensorFileException(file, "header is not a valid .npy dict at character " + i + ": " + what
          + " in " + s.strip());
    }
  }
}
