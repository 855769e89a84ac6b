package dev.loupe.core.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.sdk.io.AtomicFiles;
import dev.loupe.sdk.io.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code manifest.json} of an activation store: what the store holds and the complete shards
 * it consists of, each with its size and CRC32C. Only shards listed here are ever read, which is
 * what makes a crash mid-write harmless. Immutable.
 *
 * @param labelled whether rows carry labels; null while the store is empty and undecided
 */
public record StoreManifest(int formatVersion, String modelId, String hookName, int width, DType dtype,
    Boolean labelled, int shardRows, List<Shard> shards) {

  public static final String FILE_NAME = "manifest.json";
  public static final String FORMAT = "loupe-activation-store";
  public static final int FORMAT_VERSION = 1;
  static final Pattern SHARD_NAME = Pattern.compile("shard-(\\d{6,9})\\.safetensors");
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(SerializationFeature.INDENT_OUTPUT);

  /** One complete shard file: its name in the store directory, rows, byte size and CRC32C. */
  public record Shard(String file, long rows, long bytes, long crc32c) {
    public Shard {
      Objects.requireNonNull(file, "file");
    }

    /** The shard's index, parsed from its name. */
    public int index() {
      var m = SHARD_NAME.matcher(file);
      if (!m.matches()) {
        throw new IllegalStateException("not a shard name: " + file);
      }
      return Integer.parseInt(m.group(1));
    }
  }

  public StoreManifest {
    Objects.requireNonNull(modelId, "modelId");
    Objects.requireNonNull(hookName, "hookName");
    Objects.requireNonNull(dtype, "dtype");
    shards = List.copyOf(shards);
  }

  /** Rows of all shards together. */
  public long totalRows() {
    long n = 0;
    for (Shard s : shards) {
      n += s.rows();
    }
    return n;
  }

  /** Bytes of all shard files together. */
  public long totalBytes() {
    long n = 0;
    for (Shard s : shards) {
      n += s.bytes();
    }
    return n;
  }

  /** The same manifest with one more shard (and the labelled flag decided). */
  StoreManifest withShard(Shard shard, boolean shardLabelled) {
    List<Shard> list = new ArrayList<>(shards);
    list.add(shard);
    return new StoreManifest(formatVersion, modelId, hookName, width, dtype, shardLabelled, shardRows, list);
  }

  /** Writes {@code dir/manifest.json} atomically. */
  void write(Path dir) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("format_version", formatVersion);
    root.put("model_id", modelId);
    root.put("hook_name", hookName);
    root.put("width", width);
    root.put("dtype", dtype.name());
    if (labelled == null) {
      root.putNull("labelled");
    } else {
      root.put("labelled", labelled);
    }
    root.put("shard_rows", shardRows);
    root.put("total_rows", totalRows());
    ArrayNode arr = root.putArray("shards");
    for (Shard s : shards) {
      ObjectNode o = arr.addObject();
      o.put("file", s.file());
      o.put("rows", s.rows());
      o.put("bytes", s.bytes());
      o.put("crc32c", s.crc32c());
    }
    byte[] bytes = JSON.writeValueAsBytes(root);
    AtomicFiles.write(dir.resolve(FILE_NAME), ch -> {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b);
      }
    });
  }

  /**
   * Reads and validates {@code dir/manifest.json}.
   *
   * @throws StoreFormatException naming the manifest and the field when it is missing or invalid
   */
  static StoreManifest read(Path dir) throws IOException {
    Path file = dir.resolve(FILE_NAME);
    if (!Files.isRegularFile(file)) {
      throw new StoreFormatException(file, "no manifest: " + dir + " is not an activation store");
    }
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw new StoreFormatException(file, "not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new StoreFormatException(file, "must be a JSON object");
    }
    String format = text(file, root, "format");
    if (!format.equals(FORMAT)) {
      throw new StoreFormatException(file, "format is \"" + format + "\", expected \"" + FORMAT + "\"");
    }
    long version = integer(file, root, "format_version", 1, Integer.MAX_VALUE);
    if (version != FORMAT_VERSION) {
      throw new StoreFormatException(file, "format_version " + version + " is not supported (this Loupe reads "
          + FORMAT_VERSION + ")");
    }
    String modelId = text(file, root, "model_id");
    String hook = text(file, root, "hook_name");
    int width = (int) integer(file, root, "width", 1, Integer.MAX_VALUE);
    String dt = text(file, root, "dtype");
    DType dtype;
    if (dt.equals("F32") || dt.equals("F16") || dt.equals("BF16")) {
      dtype = DType.valueOf(dt);
    } else {
      throw new StoreFormatException(file, "dtype is \"" + dt + "\", expected F32, F16 or BF16");
    }
    JsonNode lab = root.get("labelled");
    if (lab == null || !(lab.isNull() || lab.isBoolean())) {
      throw new StoreFormatException(file, "labelled must be true, false or null");
    }
    int shardRows = (int) integer(file, root, "shard_rows", 1, Integer.MAX_VALUE);
    long total = integer(file, root, "total_rows", 0, Long.MAX_VALUE);
    JsonNode arr = root.get("shards");
    if (arr == null || !arr.isArray()) {
      throw new StoreFormatException(file, "shards must be an array");
    }
    List<Shard> shards = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    long sum = 0;
    for (int i = 0; i < arr.size(); i++) {
      JsonNode s = arr.get(i);
      String where = "shards[" + i + "]";
      if (!s.isObject()) {
        throw new StoreFormatException(file, where + " must be an object");
      }
      String name = text(file, s, where + ".file", "file");
      if (!SHARD_NAME.matcher(name).matches()) {
        throw new StoreFormatException(file, where + ".file is \"" + name + "\", expected shard-NNNNNN.safetensors");
      }
      if (!seen.add(name)) {
        throw new StoreFormatException(file, where + ".file \"" + name + "\" is listed twice");
      }
      long rows = integer(file, s, where + ".rows", "rows", 1, Integer.MAX_VALUE);
      long bytes = integer(file, s, where + ".bytes", "bytes", 8, Long.MAX_VALUE);
      long crc = integer(file, s, where + ".crc32c", "crc32c", 0, 0xffffffffL);
      sum += rows;
      shards.add(new Shard(name, rows, bytes, crc));
    }
    if (sum != total) {
      throw new StoreFormatException(file, "total_rows is " + total + " but the shards hold " + sum + " rows");
    }
    if (!shards.isEmpty() && lab.isNull()) {
      throw new StoreFormatException(file, "labelled must be true or false once the store has shards");
    }
    return new StoreManifest((int) version, modelId, hook, width, dtype, lab.isNull() ? null : lab.booleanValue(),
        shardRows, shards);
  }

  private static String text(Path file, JsonNode node, String field) throws StoreFormatException {
    return text(file, node, field, field);
  }

  private static String text(Path file, JsonNode node, String where, String field) throws StoreFormatException {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual() || v.textValue().isEmpty()) {
      throw new StoreFormatException(file, where + " must be a non-empty string, got " + v);
    }
    return v.textValue();
  }

  private static long integer(Path file, JsonNode node, String field, long min, long max) throws StoreFormatException {
    return integer(file, node, field, field, min, max);
  }

  private static long integer(Path file, JsonNode node, String where, String field, long min, long max)
      throws StoreFormatException {
    JsonNode v = node.get(field);
    if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
      throw new StoreFormatException(file, where + " must be an integer in [" + min + ", " + max + "], got " + v);
    }
    return v.longValue();
  }
}
