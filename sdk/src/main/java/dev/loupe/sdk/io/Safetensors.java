package dev.loupe.sdk.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.zip.Checksum;

/**
 * Reads and writes the Hugging Face safetensors format: an 8-byte little-endian header length N,
 * N bytes of UTF-8 JSON ({@code {name: {dtype, shape, data_offsets}, "__metadata__": {..}}}),
 * then the data buffer. Files are written as the reference (Rust/Python) implementation writes
 * them, byte for byte: tensors laid out by descending dtype alignment, then by name (so a file of
 * one dtype is in name order), the header padded with spaces to a multiple of 8 bytes. Writes are
 * atomic.
 *
 * <p>All methods are static and thread-safe.
 */
public final class Safetensors {
  /** Largest header accepted on read, so a hostile length never makes us allocate gigabytes. */
  public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private Safetensors() {
  }

  /**
   * Opens and validates a file; tensor data is memory-mapped lazily.
   *
   * @throws TensorFileException naming the file and the offending field when it is not a valid
   *     safetensors file
   * @throws IOException when it cannot be read
   */
  public static SafetensorsFile open(Path file) throws IOException {
    return SafetensorsFile.open(file);
  }

  /**
   * Writes tensors (in {@link #layoutOrder} order) and metadata to {@code file} atomically.
   *
   * @param metadata string pairs for {@code __metadata__}; may be null or empty
   * @return the file's size in bytes
   */
  public static long write(Path file, Map<String, TensorData> tensors, Map<String, String> metadata) throws IOException {
    return write(file, tensors, metadata, null);
  }

  /**
   * Like {@link #write(Path, Map, Map)}, also feeding every byte written to {@code checksum} (when
   * non-null) so a caller can record the file's checksum without reading it back.
   */
  public static long write(Path file, Map<String, TensorData> tensors, Map<String, String> metadata,
      Checksum checksum) throws IOException {
    Map<String, TensorSpec> specs = new LinkedHashMap<>();
    tensors.forEach((k, v) -> specs.put(k, new TensorSpec(v.dtype(), v.shape())));
    try (StreamingWriter w = writer(file, specs, metadata, checksum)) {
      for (String name : w.order()) {
        w.write(tensors.get(name).data());
      }
      return w.commit();
    }
  }

  /**
   * Starts streaming a file whose tensors are declared up front: write each tensor's bytes in
   * {@link StreamingWriter#order()} ({@link #layoutOrder}), then {@link StreamingWriter#commit()}. For tensors
   * too large to hold in memory at once.
   */
  public static StreamingWriter writer(Path file, Map<String, TensorSpec> tensors, Map<String, String> metadata,
      Checksum checksum) throws IOException {
    return new StreamingWriter(file, tensors, metadata, checksum);
  }

  /**
   * The order tensors are laid out in a file: descending dtype alignment ({@link DType} order),
   * then name, as the reference implementation does, so every tensor starts aligned to its
   * element size.
   */
  public static List<String> layoutOrder(Map<String, TensorSpec> tensors) {
    List<String> names = new ArrayList<>(tensors.keySet());
    names.sort(Comparator.comparing((String n) -> tensors.get(n).dtype()).reversed()
        .thenComparing(Comparator.naturalOrder()));
    return names;
  }

  /**
   * The header bytes (length prefix included) for these tensors, laid out in {@link #layoutOrder}:
   * exactly what {@link #write} puts before the data.
   */
  public static byte[] header(Map<String, TensorSpec> tensors, Map<String, String> metadata) {
    StringBuilder json = new StringBuilder("{");
    if (metadata != null && !metadata.isEmpty()) {
      json.append("\"__metadata__\":{");
      boolean first = true;
      for (Map.Entry<String, String> e : new TreeMap<>(metadata).entrySet()) {
        if (!first) {
          json.append(',');
        }
        first = false;
        appendString(json, Objects.requireNonNull(e.getKey(), "metadata key"));
        json.append(':');
        appendString(json, Objects.requireNonNull(e.getValue(), () -> "metadata value of " + e.getKey()));
      }
      json.append('}');
    }
    long offset = 0;
    for (String name : layoutOrder(tensors)) {
      Map.Entry<String, TensorSpec> e = Map.entry(name, tensors.get(name));
      if (e.getKey().equals("__metadata__")) {
        throw new IllegalArgumentException("a tensor cannot be named __metadata__");
      }
      if (json.length() > 1) {
        json.append(',');
      }
      TensorSpec t = e.getValue();
      long end = offset + t.byteSize();
      appendString(json, e.getKey());
      json.append(":{\"dtype\":\"").append(t.dtype().name()).append("\",\"shape\":[");
      long[] shape = t.shape();
      for (int i = 0; i < shape.length; i++) {
        json.append(i == 0 ? "" : ",").append(shape[i]);
      }
      json.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
      offset = end;
    }
    json.append('}');
    byte[] body = json.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (body.length + 7) / 8 * 8;
    ByteBuffer out = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(padded).put(body);
    while (out.hasRemaining()) {
      out.put((byte) ' ');
    }
    return out.array();
  }

  /** JSON string escaping as serde_json does it: short escapes, \\u00XX for other controls, UTF-8 otherwise. */
  private static void appendString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }

  /**
   * A safetensors file being written: the header is fixed at creation, then tensor bytes are
   * appended in {@link #order()}; nothing becomes visible at the target path until
   * {@link #commit()} checks every byte was supplied and renames the temp file into place.
   * Closing without commit discards it. Not thread-safe.
   */
  public static final class StreamingWriter implements AutoCloseable {
    private final Path file;
    private final AtomicFiles.Pending pending;
    private final Checksum checksum;
    private final String[] order;
    private final long[] ends;
    private final long dataBytes;
    private final long headerBytes;
    private long written;

    private StreamingWriter(Path file, Map<String, TensorSpec> tensors, Map<String, String> metadata,
        Checksum checksum) throws IOException {
      this.file = file;
      this.checksum = checksum;
      this.order = layoutOrder(tensors).toArray(new String[0]);
      this.ends = new long[order.length];
      long off = 0;
      for (int i = 0; i < order.length; i++) {
        off += tensors.get(order[i]).byteSize();
        ends[i] = off;
      }
      this.dataBytes = off;
      byte[] header = header(tensors, metadata);
      this.headerBytes = header.length;
      this.pending = AtomicFiles.begin(file);
      try {
        put(ByteBuffer.wrap(header));
      } catch (IOException | RuntimeException e) {
        pending.close();
        throw e;
      }
    }

    /** Tensor names in the order their bytes must be written. */
    public List<String> order() {
      return Arrays.asList(order.clone());
    }

    /** Bytes of tensor data still expected. */
    public long remaining() {
      return dataBytes - written;
    }

    /**
     * Appends the buffer's remaining bytes (little-endian tensor data) after what was written so far.
     *
     * @throws IllegalStateException when this would run past the declared tensors
     */
    public void write(ByteBuffer bytes) throws IOException {
      if (bytes.remaining() > remaining()) {
        throw new IllegalStateException("writing " + bytes.remaining() + " bytes to " + file + " but only "
            + remaining() + " bytes of declared tensors remain");
      }
      written += bytes.remaining();
      put(bytes);
    }

    /** Appends floats narrowed to {@code dtype} (which must be the current tensor's dtype). */
    public void writeFloats(DType dtype, float[] values, int off, int count) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(count * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
      dtype.encodeFloats(values, off, count, b);
      write(b.flip());
    }

    private void put(ByteBuffer bytes) throws IOException {
      if (checksum != null) {
        checksum.update(bytes.duplicate());
      }
      while (bytes.hasRemaining()) {
        pending.channel().write(bytes);
      }
    }

    /**
     * Publishes the file.
     *
     * @return its size in bytes
     * @throws IllegalStateException naming the first incomplete tensor when data is missing
     */
    public long commit() throws IOException {
      if (written != dataBytes) {
        int i = 0;
        while (ends[i] <= written) {
          i++;
        }
        throw new IllegalStateException("cannot commit " + file + ": tensor \"" + order[i] + "\" is incomplete ("
            + (dataBytes - written) + " bytes of data missing)");
      }
      pending.commit();
      return headerBytes + dataBytes;
    }

    /** Discards the file unless committed. */
    @Override
    public void close() throws IOException {
      pending.close();
    }
  }
}
