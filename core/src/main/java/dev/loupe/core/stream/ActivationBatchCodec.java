package dev.loupe.core.stream;

import dev.loupe.sdk.activation.ActivationBatch;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.internal.buffer.BufferInternal;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Event-bus codec for {@link ActivationBatch}: passes the instance by reference between verticles
 * of one JVM and writes a compact little-endian binary form when a batch crosses the cluster.
 *
 * <p>Wire layout (all numbers little-endian):
 * <pre>
 *   byte    version (1)
 *   int     modelId length, then UTF-8 bytes
 *   int     hookName length, then UTF-8 bytes
 *   long    sequence
 *   int     rows
 *   int     width
 *   byte    flags (bit 0: labels present)
 *   int[rows] tokenIds, docIds, positions, then labels when flagged
 *   float32[rows * width] values, row-major
 * </pre>
 * Arrays are moved in bulk, one copy each way: straight into (and out of) the Netty buffer behind
 * the Vert.x buffer through a little-endian {@code FloatBuffer}/{@code IntBuffer} view, or, for other
 * buffer implementations, through a per-thread 256 KiB scratch array; never element by element.
 * Decoding runs on an event loop, which is why streams send large batches as row ranges of a few
 * MB ({@link BatchRows}), decoded later on the reading thread.
 */
public final class ActivationBatchCodec implements MessageCodec<ActivationBatch, ActivationBatch> {

  /** The name the codec is registered under; identical on every node of a cluster. */
  public static final String NAME = "loupe.activation-batch.v1";

  static final byte VERSION = 1;
  static final byte FLAG_LABELS = 1;

  /** Scratch size: large enough for bulk copies, small enough to stay in cache. */
  private static final int SCRATCH_BYTES = 256 * 1024;

  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[SCRATCH_BYTES]);

  private static final Map<Vertx, Boolean> REGISTERED = Collections.synchronizedMap(new WeakHashMap<>());

  /**
   * Registers this codec as the default codec for {@link ActivationBatch} on the given Vert.x
   * instance, together with the codec of the row ranges that streams send large batches in;
   * once: later calls for the same instance do nothing. Thread-safe.
   */
  public static void registerOn(Vertx vertx) {
    synchronized (REGISTERED) {
      if (REGISTERED.containsKey(vertx)) {
        return;
      }
      try {
        vertx.eventBus().registerDefaultCodec(ActivationBatch.class, new ActivationBatchCodec());
      } catch (IllegalStateException alreadyRegistered) {
        // Someone registered it directly on the event bus; the codec is stateless, any instance will do.
      }
      try {
        vertx.eventBus().registerDefaultCodec(BatchRows.class, new BatchRowsCodec());
      } catch (IllegalStateException alreadyRegistered) {
        // as above
      }
      REGISTERED.put(vertx, Boolean.TRUE);
    }
  }

  /** Bytes this batch takes on the wire (header included). */
  public static long encodedSize(ActivationBatch batch) {
    return encodedSize(batch, batch.rows());
  }

  private static long encodedSize(ActivationBatch batch, int rows) {
    return 1 + 4 + utf8(batch.modelId()).length + 4 + utf8(batch.hookName()).length + 8 + 4 + 4 + 1
        + 4L * rows * (batch.hasLabels() ? 4 : 3) + 4L * rows * batch.width();
  }

  @Override
  public void encodeToWire(Buffer buffer, ActivationBatch batch) {
    encodeRows(buffer, batch, 0, batch.rows());
  }

  /**
   * Writes rows [from, to) of {@code batch} in the wire layout, exactly as
   * {@code encodeToWire(buffer, batch.slice(from, to))} would, without copying the slice first.
   */
  static void encodeRows(Buffer buffer, ActivationBatch batch, int from, int to) {
    int rows = to - from;
    int width = batch.width();
    ByteBuf direct = nettyBuffer(buffer);
    if (direct != null) {
      // One allocation of the final size instead of repeated doubling while appending.
      direct.ensureWritable((int) Math.min(Integer.MAX_VALUE, encodedSize(batch, rows)));
    }
    buffer.appendByte(VERSION);
    appendString(buffer, batch.modelId());
    appendString(buffer, batch.hookName());
    buffer.appendLongLE(batch.sequence());
    buffer.appendIntLE(rows);
    buffer.appendIntLE(width);
    buffer.appendByte(batch.hasLabels() ? FLAG_LABELS : 0);
    appendInts(buffer, batch.tokenIds(), from, rows);
    appendInts(buffer, batch.docIds(), from, rows);
    appendInts(buffer, batch.positions(), from, rows);
    if (batch.hasLabels()) {
      appendInts(buffer, batch.labels(), from, rows);
    }
    appendFloats(buffer, batch.values(), from * width, rows * width);
  }

  @Override
  public ActivationBatch decodeFromWire(int pos, Buffer buffer) {
    Encoded e = readHeader(pos, buffer);
    float[] values = new float[Math.multiplyExact(e.rows, e.width)];
    int[] tokenIds = new int[e.rows];
    int[] docIds = new int[e.rows];
    int[] positions = new int[e.rows];
    int[] labels = e.labelled ? new int[e.rows] : null;
    e.decodeInto(values, tokenIds, docIds, positions, labels, 0);
    return new ActivationBatch(e.modelId, e.hookName, e.sequence, e.rows, e.width, values, tokenIds, docIds, positions, labels);
  }

  /**
   * A batch still in its wire form: the header is read, the arrays are not. Lets a stream
   * consumer decode the parts of a large batch on the reading thread straight into the arrays of
   * the reassembled batch, instead of decoding each part on the event loop and copying again.
   * Holds on to the received buffer, which Vert.x hands over as a private copy.
   */
  static final class Encoded {
    final String modelId;
    final String hookName;
    final long sequence;
    final int rows;
    final int width;
    final boolean labelled;
    private final Buffer buffer;
    private final int arraysAt;

    private Encoded(String modelId, String hookName, long sequence, int rows, int width, boolean labelled,
        Buffer buffer, int arraysAt) {
      this.modelId = modelId;
      this.hookName = hookName;
      this.sequence = sequence;
      this.rows = rows;
      this.width = width;
      this.labelled = labelled;
      this.buffer = buffer;
      this.arraysAt = arraysAt;
    }

    /** Decodes the arrays into the given ones, starting at row {@code rowOffset}; labels may be null when unlabelled. */
    void decodeInto(float[] values, int[] tokenIds, int[] docIds, int[] positions, int[] labels, int rowOffset) {
      int pos = arraysAt;
      pos = readInts(buffer, pos, tokenIds, rowOffset, rows);
      pos = readInts(buffer, pos, docIds, rowOffset, rows);
      pos = readInts(buffer, pos, positions, rowOffset, rows);
      if (labelled) {
        pos = readInts(buffer, pos, labels, rowOffset, rows);
      }
      readFloats(buffer, pos, values, rowOffset * width, rows * width);
    }
  }

  static Encoded readHeader(int pos, Buffer buffer) {
    byte version = buffer.getByte(pos);
    if (version != VERSION) {
      throw new IllegalArgumentException("activation batch on the wire has codec version " + version
          + ", expected " + VERSION + " (nodes of the cluster run different Loupe versions?)");
    }
    pos += 1;
    int len = buffer.getIntLE(pos);
    pos += 4;
    String modelId = buffer.getString(pos, pos + len, "UTF-8");
    pos += len;
    len = buffer.getIntLE(pos);
    pos += 4;
    String hookName = buffer.getString(pos, pos + len, "UTF-8");
    pos += len;
    long sequence = buffer.getLongLE(pos);
    pos += 8;
    int rows = buffer.getIntLE(pos);
    pos += 4;
    int width = buffer.getIntLE(pos);
    pos += 4;
    byte flags = buffer.getByte(pos);
    pos += 1;
    if (rows < 0 || width <= 0) {
      throw new IllegalArgumentException("activation batch on the wire has rows=" + rows + " width=" + width
          + ", expected rows >= 0 and width > 0");
    }
    return new Encoded(modelId, hookName, sequence, rows, width, (flags & FLAG_LABELS) != 0, buffer, pos);
  }

  /** Local delivery: batches are immutable by contract, so every consumer gets the same instance. */
  @Override
  public ActivationBatch transform(ActivationBatch batch) {
    return batch;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }

  /**
   * The Netty buffer behind a Vert.x buffer, to copy arrays straight in and out of it (one copy
   * instead of two through the scratch array); null when the buffer is some other implementation.
   * Buffer indices are the same as the Netty buffer's reader-relative indices only when the
   * reader index is 0, which is how Vert.x creates them; otherwise the portable path is taken.
   */
  private static ByteBuf nettyBuffer(Buffer buffer) {
    if (buffer instanceof BufferInternal internal) {
      ByteBuf bb = internal.unwrap();
      if (bb.readerIndex() == 0 && bb.nioBufferCount() == 1) {
        return bb;
      }
    }
    return null;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void appendString(Buffer buffer, String s) {
    byte[] bytes = utf8(s);
    buffer.appendIntLE(bytes.length);
    buffer.appendBytes(bytes);
  }

  private static void appendInts(Buffer buffer, int[] values, int from, int count) {
    ByteBuf direct = nettyBuffer(buffer);
    if (direct != null) {
      int n = count * 4;
      direct.ensureWritable(n);
      direct.nioBuffer(direct.writerIndex(), n).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().put(values, from, count);
      direct.writerIndex(direct.writerIndex() + n);
      return;
    }
    byte[] scratch = SCRATCH.get();
    ByteBuffer view = ByteBuffer.wrap(scratch).order(ByteOrder.LITTLE_ENDIAN);
    int perChunk = scratch.length / 4;
    for (int off = from; off < from + count; off += perChunk) {
      int n = Math.min(perChunk, from + count - off);
      view.clear();
      view.asIntBuffer().put(values, off, n);
      buffer.appendBytes(scratch, 0, n * 4);
    }
  }

  private static void appendFloats(Buffer buffer, float[] values, int from, int count) {
    ByteBuf direct = nettyBuffer(buffer);
    if (direct != null) {
      int n = count * 4;
      direct.ensureWritable(n);
      direct.nioBuffer(direct.writerIndex(), n).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(values, from, count);
      direct.writerIndex(direct.writerIndex() + n);
      return;
    }
    byte[] scratch = SCRATCH.get();
    ByteBuffer view = ByteBuffer.wrap(scratch).order(ByteOrder.LITTLE_ENDIAN);
    int perChunk = scratch.length / 4;
    for (int off = from; off < from + count; off += perChunk) {
      int n = Math.min(perChunk, from + count - off);
      view.clear();
      view.asFloatBuffer().put(values, off, n);
      buffer.appendBytes(scratch, 0, n * 4);
    }
  }

  private static int readInts(Buffer buffer, int pos, int[] into, int from, int count) {
    ByteBuf direct = nettyBuffer(buffer);
    if (direct != null) {
      direct.nioBuffer(pos, count * 4).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(into, from, count);
      return pos + count * 4;
    }
    byte[] scratch = SCRATCH.get();
    ByteBuffer view = ByteBuffer.wrap(scratch).order(ByteOrder.LITTLE_ENDIAN);
    int perChunk = scratch.length / 4;
    for (int off = from; off < from + count; off += perChunk) {
      int n = Math.min(perChunk, from + count - off);
      buffer.getBytes(pos, pos + n * 4, scratch, 0);
      view.clear();
      view.asIntBuffer().get(into, off, n);
      pos += n * 4;
    }
    return pos;
  }

  private static int readFloats(Buffer buffer, int pos, float[] into, int from, int count) {
    ByteBuf direct = nettyBuffer(buffer);
    if (direct != null) {
      direct.nioBuffer(pos, count * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(into, from, count);
      return pos + count * 4;
    }
    byte[] scratch = SCRATCH.get();
    ByteBuffer view = ByteBuffer.wrap(scratch).order(ByteOrder.LITTLE_ENDIAN);
    int perChunk = scratch.length / 4;
    for (int off = from; off < from + count; off += perChunk) {
      int n = Math.min(perChunk, from + count - off);
      buffer.getBytes(pos, pos + n * 4, scratch, 0);
      view.clear();
      view.asFloatBuffer().get(into, off, n);
      pos += n * 4;
    }
    return pos;
  }
}
