package dev.loupe.core.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX model file that hold weights: the graph's initializers and its nodes, read
 * by a small, strict protobuf wire-format parser so that weights can be taken out of exported
 * models without an ONNX runtime. Every length is checked against the bytes that remain, so a
 * truncated or hostile file fails with a message naming the file and the field, never with a
 * huge allocation.
 */
public final class OnnxModelFile {
  /** ONNX TensorProto.DataType FLOAT. */
  public static final int FLOAT = 1;
  /** ONNX TensorProto.DataType UINT8. */
  public static final int UINT8 = 2;
  /** ONNX TensorProto.DataType INT8. */
  public static final int INT8 = 3;

  /**
   * A graph initializer; its data is a view into the file's bytes (raw_data), decoded float_data,
   * or decoded int32_data (where ONNX keeps small integer types that have no raw_data).
   */
  public record Initializer(String name, long[] dims, int dataType, ByteBuffer rawData, float[] floatData,
      int[] int32Data) {
    /** Number of elements, the product of the dims. */
    public long size() {
      long n = 1;
      for (long d : dims) {
        n *= d;
      }
      return n;
    }
  }

  /** A graph node: its operator, name and the value names it reads and writes. */
  public record Node(String opType, String name, List<String> inputs, List<String> outputs) {
  }

  private final String source;
  private final Map<String, Initializer> initializers;
  private final List<Node> nodes;

  private OnnxModelFile(String source, Map<String, Initializer> initializers, List<Node> nodes) {
    this.source = source;
    this.initializers = Collections.unmodifiableMap(initializers);
    this.nodes = List.copyOf(nodes);
  }

  /**
   * Parses a ModelProto.
   *
   * @param source names the file in error messages
   * @throws IllegalArgumentException naming {@code source} and the field when the bytes are not a
   *     well-formed ModelProto with a graph
   */
  public static OnnxModelFile parse(byte[] bytes, String source) {
    Reader model = new Reader(bytes, 0, bytes.length, source, "ModelProto");
    Reader graph = null;
    while (model.more()) {
      int tag = model.tag();
      if (tag >>> 3 == 7 && (tag & 7) == 2) {
        graph = model.sub("ModelProto.graph");
      } else {
        model.skip(tag, "ModelProto field " + (tag >>> 3));
      }
    }
    if (graph == null) {
      throw new IllegalArgumentException(source + ": ModelProto has no graph (field 7); not an ONNX model file");
    }
    Map<String, Initializer> inits = new LinkedHashMap<>();
    List<Node> nodes = new ArrayList<>();
    while (graph.more()) {
      int tag = graph.tag();
      int field = tag >>> 3;
      if (field == 1 && (tag & 7) == 2) {
        nodes.add(node(graph.sub("GraphProto.node[" + nodes.size() + "]")));
      } else if (field == 5 && (tag & 7) == 2) {
        Initializer t = tensor(graph.sub("GraphProto.initializer[" + inits.size() + "]"));
        if (inits.put(t.name(), t) != null) {
          throw new IllegalArgumentException(source + ": initializer '" + t.name() + "' appears twice");
        }
      } else {
        graph.skip(tag, "GraphProto field " + field);
      }
    }
    return new OnnxModelFile(source, inits, nodes);
  }

  private static Node node(Reader r) {
    String op = null;
    String name = "";
    List<String> in = new ArrayList<>();
    List<String> out = new ArrayList<>();
    while (r.more()) {
      int tag = r.tag();
      int field = tag >>> 3;
      if (field == 1 && (tag & 7) == 2) {
        in.add(r.string("NodeProto.input"));
      } else if (field == 2 && (tag & 7) == 2) {
        out.add(r.string("NodeProto.output"));
      } else if (field == 3 && (tag & 7) == 2) {
        name = r.string("NodeProto.name");
      } else if (field == 4 && (tag & 7) == 2) {
        op = r.string("NodeProto.op_type");
      } else {
        r.skip(tag, "NodeProto field " + field);
      }
    }
    if (op == null) {
      throw r.error("NodeProto.op_type", "is missing");
    }
    return new Node(op, name, in, out);
  }

  private static Initializer tensor(Reader r) {
    List<Long> dims = new ArrayList<>();
    int dataType = 0;
    String name = null;
    ByteBuffer raw = null;
    List<Float> floats = new ArrayList<>();
    List<Integer> ints = new ArrayList<>();
    while (r.more()) {
      int tag = r.tag();
      int field = tag >>> 3;
      int wire = tag & 7;
      if (field == 1 && wire == 0) {
        dims.add(r.varint("TensorProto.dims"));
      } else if (field == 1 && wire == 2) {
        Reader p = r.sub("TensorProto.dims");
        while (p.more()) {
          dims.add(p.varint("TensorProto.dims"));
        }
      } else if (field == 2 && wire == 0) {
        dataType = (int) r.varint("TensorProto.data_type");
      } else if (field == 8 && wire == 2) {
        name = r.string("TensorProto.name");
      } else if (field == 9 && wire == 2) {
        Reader p = r.sub("TensorProto.raw_data");
        raw = ByteBuffer.wrap(p.bytes, p.pos, p.end - p.pos).slice().order(ByteOrder.LITTLE_ENDIAN);
      } else if (field == 4 && wire == 2) {
        Reader p = r.sub("TensorProto.float_data");
        if ((p.end - p.pos) % 4 != 0) {
          throw r.error("TensorProto.float_data", "has " + (p.end - p.pos) + " bytes, not a multiple of 4");
        }
        ByteBuffer b = ByteBuffer.wrap(p.bytes, p.pos, p.end - p.pos).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
          floats.add(b.getFloat());
        }
      } else if (field == 4 && wire == 5) {
        floats.add(Float.intBitsToFloat(r.fixed32("TensorProto.float_data")));
      } else if (field == 5 && wire == 2) {
        Reader p = r.sub("TensorProto.int32_data");
        while (p.more()) {
          ints.add((int) p.varint("TensorProto.int32_data"));
        }
      } else if (field == 5 && wire == 0) {
        ints.add((int) r.varint("TensorProto.int32_data"));
      } else if (field == 14 && wire == 2) {
        throw r.error("TensorProto.external_data", "is not supported; the weights must be inside the file");
      } else {
        r.skip(tag, "TensorProto field " + field);
      }
    }
    if (name == null) {
      throw r.error("TensorProto.name", "is missing");
    }
    long[] d = new long[dims.size()];
    long n = 1;
    for (int i = 0; i < d.length; i++) {
      d[i] = dims.get(i);
      if (d[i] < 0) {
        throw r.error("TensorProto.dims of '" + name + "'", "holds a negative size " + d[i]);
      }
      n = Math.multiplyExact(n, Math.max(1, d[i]));
      if (d[i] == 0) {
        n = 0;
      }
    }
    float[] fd = null;
    if (!floats.isEmpty()) {
      fd = new float[floats.size()];
      for (int i = 0; i < fd.length; i++) {
        fd[i] = floats.get(i);
      }
    }
    int[] id = null;
    if (!ints.isEmpty()) {
      id = ints.stream().mapToInt(Integer::intValue).toArray();
    }
    if (dataType == UINT8 || dataType == INT8) {
      long have = raw != null ? raw.remaining() : id != null ? id.length : 0;
      if (have != n) {
        throw r.error("TensorProto '" + name + "'", "has " + have + " 8-bit values for dims " + dims + " ("
            + n + " expected)");
      }
    }
    if (dataType == FLOAT) {
      long have = raw != null ? raw.remaining() / 4 : fd != null ? fd.length : 0;
      if (raw != null && raw.remaining() % 4 != 0 || have != n) {
        throw r.error("TensorProto '" + name + "'", "has " + (raw != null ? raw.remaining() + " bytes of raw_data"
            : have + " float_data values") + " for dims " + dims + " (" + n + " float32 values)");
      }
    }
    return new Initializer(name, d, dataType, raw, fd, id);
  }

  /** The file this was read from, as named to {@link #parse}. */
  public String source() {
    return source;
  }

  /** Initializers by name, in file order. */
  public Map<String, Initializer> initializers() {
    return initializers;
  }

  /** The graph's nodes, in file (topological) order. */
  public List<Node> nodes() {
    return nodes;
  }

  /**
   * The values of a float32 initializer, row-major as stored.
   *
   * @throws IllegalArgumentException naming the initializer when there is none of that name or it is not float32
   */
  public float[] floats(String name) {
    Initializer t = initializers.get(name);
    if (t == null) {
      throw new IllegalArgumentException(source + ": no initializer named '" + name + "'");
    }
    if (t.dataType() != FLOAT) {
      throw new IllegalArgumentException(source + ": initializer '" + name + "' has data_type " + t.dataType()
          + ", expected 1 (float32)");
    }
    if (t.floatData() != null) {
      return t.floatData().clone();
    }
    float[] out = new float[Math.toIntExact(t.size())];
    t.rawData().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /**
   * The values of an 8-bit integer initializer (uint8 as 0..255, int8 as -128..127), row-major.
   *
   * @throws IllegalArgumentException naming the initializer when there is none of that name or it is not 8-bit
   */
  public int[] ints8(String name) {
    Initializer t = initializers.get(name);
    if (t == null) {
      throw new IllegalArgumentException(source + ": no initializer named '" + name + "'");
    }
    if (t.dataType() != UINT8 && t.dataType() != INT8) {
      throw new IllegalArgumentException(source + ": initializer '" + name + "' has data_type " + t.dataType()
          + ", expected 2 (uint8) or 3 (int8)");
    }
    int[] out = new int[Math.toIntExact(t.size())];
    if (t.rawData() != null) {
      ByteBuffer b = t.rawData().duplicate();
      for (int i = 0; i < out.length; i++) {
        byte v = b.get();
        out[i] = t.dataType() == UINT8 ? v & 0xff : v;
      }
    } else {
      for (int i = 0; i < out.length; i++) {
        int v = t.int32Data()[i];
        out[i] = t.dataType() == UINT8 ? v & 0xff : (byte) v;
      }
    }
    return out;
  }

  /** A bounds-checked cursor over one message's bytes. */
  private static final class Reader {
    final byte[] bytes;
    int pos;
    final int end;
    final String source;
    final String message;

    Reader(byte[] bytes, int pos, int end, String source, String message) {
      this.bytes = bytes;
      this.pos = pos;
      this.end = end;
      this.source = source;
      this.message = message;
    }

    boolean more() {
      return pos < end;
    }

    IllegalArgumentException error(String field, String what) {
      return new IllegalArgumentException(source + ": " + field + " (in " + message + " at byte " + pos + ") " + what
          + "; the file is truncated or not an ONNX model");
    }

    int tag() {
      long t = varint(message + " field tag");
      if (t >>> 3 == 0 || t > Integer.MAX_VALUE) {
        throw error(message + " field tag", "is invalid (" + t + ")");
      }
      return (int) t;
    }

    long varint(String field) {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= end) {
          throw error(field, "ends inside a varint");
        }
        byte b = bytes[pos++];
        v |= (long) (b & 0x7f) << shift;
        if (b >= 0) {
          return v;
        }
      }
      throw error(field, "is a varint longer than 10 bytes");
    }

    int fixed32(String field) {
      if (end - pos < 4) {
        throw error(field, "ends inside a 4-byte value");
      }
      int v = (bytes[pos] & 0xff) | (bytes[pos + 1] & 0xff) << 8 | (bytes[pos + 2] & 0xff) << 16
          | (bytes[pos + 3] & 0xff) << 24;
      pos += 4;
      return v;
    }

    /** A length-delimited field as a reader over its bytes; the length is checked before anything is read. */
    Reader sub(String field) {
      long len = varint(field + " length");
      if (len < 0 || len > end - pos) {
        throw error(field, "declares " + len + " bytes but only " + (end - pos) + " remain");
      }
      Reader r = new Reader(bytes, pos, pos + (int) len, source, field);
      pos += (int) len;
      return r;
    }

    String string(String field) {
      Reader r = sub(field);
      return new String(bytes, r.pos, r.end - r.pos, StandardCharsets.UTF_8);
    }

    void skip(int tag, String field) {
      switch (tag & 7) {
        case 0 -> varint(field);
        case 1 -> {
          if (end - pos < 8) {
            throw error(field, "ends inside an 8-byte value");
          }
          pos += 8;
        }
        case 2 -> sub(field);
        case 5 -> fixed32(field);
        default -> throw error(field, "has unsupported wire type " + (tag & 7));
      }
    }
  }
}
