package dev.loupe.sdk.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An open, validated safetensors file. The header is checked completely on open (every entry's
 * dtype, shape, offsets, and that the tensors tile the data buffer with no gap or overlap); data
 * is memory-mapped per tensor on first use, in chunks, so files and tensors over 2 GB work.
 *
 * <p>Thread-safe: any number of threads may read tensors concurrently. Closing releases the
 * channel; buffers handed out before stay valid until garbage-collected, and reading a tensor not
 * yet mapped after close fails with an {@link java.io.UncheckedIOException}.
 */
public final class SafetensorsFile implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final Set<String> ENTRY_FIELDS = Set.of("dtype", "shape", "data_offsets");

  private final Path file;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;
  private final Map<String, MappedRegion> regions = new java.util.concurrent.ConcurrentHashMap<>();

  private SafetensorsFile(Path file, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.file = file;
    this.channel = channel;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static SafetensorsFile open(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      long size = ch.size();
      if (size < 8) {
        throw new TensorFileException(file, "file is " + size + " bytes, shorter than the 8-byte header length");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0);
      long n = lenBuf.getLong(0);
      if (n < 0 || n > Safetensors.MAX_HEADER_BYTES) {
        throw new TensorFileException(file, "header length " + Long.toUnsignedString(n)
            + " is outside [0, " + Safetensors.MAX_HEADER_BYTES + "] bytes");
      }
      if (8 + n > size) {
        throw new TensorFileException(file, "header length " + n + " runs past the end of the " + size + "-byte file");
      }
      ByteBuffer headerBuf = ByteBuffer.allocate((int) n);
      readFully(ch, headerBuf, 8);
      String text;
      try {
        text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(headerBuf.flip()).toString();
      } catch (CharacterCodingException e) {
        throw new TensorFileException(file, "header is not valid UTF-8", e);
      }
      long dataSize = size - 8 - n;
      ParsedHeader h = parseHeader(file, text, dataSize);
      return new SafetensorsFile(file, ch, 8 + n, h.tensors, h.metadata);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int r = ch.read(buf, pos + buf.position());
      if (r < 0) {
        throw new IOException("unexpected end of file");
      }
    }
  }

  private record ParsedHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
  }

  private static ParsedHeader parseHeader(Path file, String text, long dataSize) throws TensorFileException {
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new TensorFileException(file, "header is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new TensorFileException(file, "header must be a JSON object, got "
          + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()));
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    List<TensorInfo> list = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      JsonNode v = e.getValue();
      if (name.equals("__metadata__")) {
        if (!v.isObject()) {
          throw new TensorFileException(file, "__metadata__ must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
          Map.Entry<String, JsonNode> kv = m.next();
          if (!kv.getValue().isTextual()) {
            throw new TensorFileException(file, "__metadata__." + kv.getKey() + " must be a string, got "
                + kv.getValue().getNodeType().toString().toLowerCase());
          }
          metadata.put(kv.getKey(), kv.getValue().textValue());
        }
        continue;
      }
      list.add(parseEntry(file, name, v, dataSize));
    }
    list.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    long covered = 0;
    TensorInfo prev = null;
    for (TensorInfo t : list) {
      if (t.begin() < covered) {
        throw new TensorFileException(file, "tensor \"" + t.name() + "\" data_offsets [" + t.begin() + ", "
            + t.end() + ") overlap tensor \"" + prev.name() + "\" [" + prev.begin() + ", " + prev.end() + ")");
      }
      if (t.begin() > covered) {
        throw new TensorFileException(file, "data buffer has a hole: bytes [" + covered + ", " + t.begin()
            + ") belong to no tensor (before tensor \"" + t.name() + "\")");
      }
      covered = t.end();
      prev = t;
    }
    if (covered != dataSize) {
      throw new TensorFileException(file, "data buffer is " + dataSize + " bytes but the tensors cover only "
          + covered + " (bytes [" + covered + ", " + dataSize + ") belong to no tensor)");
    }
    Map<String, TensorInfo> byName = new LinkedHashMap<>();
    list.stream().sorted(Comparator.comparing(TensorInfo::name)).forEach(t -> byName.put(t.name(), t));
    return new ParsedHeader(Collections.unmodifiableMap(byName), Collections.unmodifiableMap(metadata));
  }

  private static TensorInfo parseEntry(Path file, String name, JsonNode v, long dataSize) throws TensorFileException {
    String where = "tensor \"" + name + "\"";
    if (!v.isObject()) {
      throw new TensorFileException(file, where + " must be an object with dtype, shape, data_offsets");
    }
    for (Iterator<String> f = v.fieldNames(); f.hasNext(); ) {
      String field = f.next();
      if (!ENTRY_FIELDS.contains(field)) {
        throw new TensorFileException(file, where + " has unexpected field \"" + field
            + "\" (expected dtype, shape, data_offsets)");
      }
    }
    JsonNode dt = v.get("dtype");
    if (dt == null || !dt.isTextual()) {
      throw new TensorFileException(file, where + " dtype must be a string");
    }
    DType dtype;
    try {
      dtype = DType.parse(dt.textValue());
    } catch (IllegalArgumentException e) {
      throw new TensorFileException(file, where + " dtype: " + e.getMessage());
    }
    JsonNode sh = v.get("shape");
    if (sh == null || !sh.isArray()) {
      throw new TensorFileException(file, where + " shape must be an array of non-negative integers");
    }
    long[] shape = new long[sh.size()];
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = sh.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong()) {
        throw new TensorFileException(file, where + " shape[" + i + "] must be an integer, got " + d);
      }
      shape[i] = d.longValue();
      if (shape[i] < 0) {
        throw new TensorFileException(file, where + " shape[" + i + "] is negative (" + shape[i] + ")");
      }
      try {
        count = Math.multiplyExact(count, shape[i]);
      } catch (ArithmeticException e) {
        throw new TensorFileException(file, where + " shape " + sh + " has more elements than a long can count");
      }
    }
    JsonNode off = v.get("data_offsets");
    if (off == null || !off.isArray() || off.size() != 2) {
      throw new TensorFileException(file, where + " data_offsets must be an array [begin, end]");
    }
    for (int i = 0; i < 2; i++) {
      if (!off.get(i).isIntegralNumber() || !off.get(i).canConvertToLong() || off.get(i).longValue() < 0) {
        throw new TensorFileException(file, where + " data_offsets[" + i + "] must be a non-negative integer, got " + off.get(i));
      }
    }
    long begin = off.get(0).longValue();
    long end = off.get(1).longValue();
    if (begin > end) {
      throw new TensorFileException(file, where + " data_offsets [" + begin + ", " + end + "] end before they begin");
    }
    if (end > dataSize) {
      throw new TensorFileException(file, where + " data_offsets [" + begin + ", " + end
          + "] run past the end of the " + dataSize + "-byte data buffer");
    }
    long bytes;
    try {
      bytes = Math.multiplyExact(count, dtype.size());
    } catch (ArithmeticException e) {
      bytes = -1;
    }
    if (bytes != end - begin) {
      throw new TensorFileException(file, where + " shape " + sh + " of " + dtype + " needs " + count + " * "
          + dtype.size() + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  /** The file this was opened from. */
  public Path path() {
    return file;
  }

  /** Tensor names, sorted. */
  public Set<String> names() {
    return tensors.keySet();
  }

  /** Whether the file has a tensor of this name. */
  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** All tensors by name (sorted), unmodifiable. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The {@code __metadata__} pairs, unmodifiable (empty when the file has none). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /**
   * The header entry of a tensor.
   *
   * @throws IllegalArgumentException naming the file, the tensor and the names present when absent
   */
  public TensorInfo info(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(file + ": no tensor \"" + name + "\" (has " + tensors.keySet() + ")");
    }
    return t;
  }

  public DType dtype(String name) {
    return info(name).dtype();
  }

  public long[] shape(String name) {
    return info(name).shape();
  }

  private MappedRegion region(TensorInfo t) {
    return regions.computeIfAbsent(t.name(), k -> new MappedRegion(file, channel, dataStart + t.begin(), t.byteSize()));
  }

  /**
   * The tensor's raw little-endian bytes, a read-only view of the mapping (copied only when the
   * tensor straddles two 1 GB mapping chunks).
   *
   * @throws IllegalArgumentException when the tensor is absent or larger than 2 GB (use the ranged readers)
   */
  public ByteBuffer raw(String name) {
    TensorInfo t = info(name);
    if (t.byteSize() > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(file + ": tensor \"" + name + "\" is " + t.byteSize()
          + " bytes, too large for one buffer; read it in ranges");
    }
    return region(t).slice(0, (int) t.byteSize()).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The whole tensor widened to float32 (F32, F16, BF16 or F64). */
  public float[] readFloats(String name) {
    TensorInfo t = info(name);
    return readFloats(name, 0, checkedCount(t));
  }

  /**
   * {@code count} elements of the tensor from element {@code offset} (row-major), widened to
   * float32; only those bytes are touched, so a huge tensor can be read in slices.
   *
   * @throws IllegalArgumentException naming the tensor and dtype when it is not a float type, or the
   *     range when it lies outside the tensor
   */
  public float[] readFloats(String name, long offset, int count) {
    TensorInfo t = info(name);
    if (!t.dtype().isFloat()) {
      throw new IllegalArgumentException(file + ": tensor \"" + name + "\" has dtype " + t.dtype()
          + ", expected a float type (F32, F16, BF16, F64)");
    }
    ByteBuffer b = range(t, offset, count);
    float[] out = new float[count];
    t.dtype().decodeFloats(b, out, 0, count);
    return out;
  }

  /** The whole tensor as ints (I32, I64 range-checked, I16, U16, I8, U8). */
  public int[] readInts(String name) {
    TensorInfo t = info(name);
    return readInts(name, 0, checkedCount(t));
  }

  /**
   * {@code count} elements from element {@code offset} as ints.
   *
   * @throws IllegalArgumentException when the dtype is not an integer type, the range lies outside the
   *     tensor, or an I64 value does not fit an int (naming the tensor and the element)
   */
  public int[] readInts(String name, long offset, int count) {
    TensorInfo t = info(name);
    if (!t.dtype().isInteger()) {
      throw new IllegalArgumentException(file + ": tensor \"" + name + "\" has dtype " + t.dtype()
          + ", expected an integer type (I32, I64, I16, U16, I8, U8)");
    }
    ByteBuffer b = range(t, offset, count);
    int[] out = new int[count];
    try {
      t.dtype().decodeInts(b, out, 0, count, name);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(file + ": tensor " + e.getMessage() + " (element offset " + offset + ")", e);
    }
    return out;
  }

  /** The whole I64 tensor as longs (I32 widened). */
  public long[] readLongs(String name) {
    TensorInfo t = info(name);
    int n = checkedCount(t);
    ByteBuffer b = range(t, 0, n);
    long[] out = new long[n];
    if (t.dtype() == DType.I64) {
      b.asLongBuffer().get(out);
    } else if (t.dtype() == DType.I32) {
      for (int i = 0; i < n; i++) {
        out[i] = b.getInt(4 * i);
      }
    } else {
      throw new IllegalArgumentException(file + ": tensor \"" + name + "\" has dtype " + t.dtype() + ", expected I64 or I32");
    }
    return out;
  }

  private int checkedCount(TensorInfo t) {
    long n = t.elementCount();
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(file + ": tensor \"" + t.name() + "\" has " + n
          + " elements, too many for one Java array; read it in ranges");
    }
    return (int) n;
  }

  private ByteBuffer range(TensorInfo t, long offset, int count) {
    long n = t.elementCount();
    if (offset < 0 || count < 0 || offset + count > n) {
      throw new IllegalArgumentException(file + ": elements [" + offset + ", " + (offset + count)
          + ") outside tensor \"" + t.name() + "\" of " + n + " elements");
    }
    long bytes = (long) count * t.dtype().size();
    if (bytes > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(file + ": " + count + " elements of tensor \"" + t.name() + "\" exceed 2 GB; read fewer");
    }
    return region(t).slice(offset * t.dtype().size(), (int) bytes);
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // Read-only channel: nothing to lose on a failed close.
    }
  }

  @Override
  public String toString() {
    return "SafetensorsFile[" + file + ", " + tensors.size() + " tensors]";
  }
}
