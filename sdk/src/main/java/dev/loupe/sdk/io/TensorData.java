package dev.loupe.sdk.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor to be written to a file: dtype, shape and its little-endian bytes. The factories
 * narrow Java arrays to the file's dtype (F16/BF16 round to nearest even). Immutable.
 */
public final class TensorData {
  private final DType dtype;
  private final long[] shape;
  private final ByteBuffer data;

  private TensorData(DType dtype, long[] shape, ByteBuffer data) {
    this.dtype = Objects.requireNonNull(dtype, "dtype");
    this.shape = shape.clone();
    long n = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0) {
        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has negative dimension " + i);
      }
      n = Math.multiplyExact(n, shape[i]);
    }
    long bytes = Math.multiplyExact(n, dtype.size());
    if (data.remaining() != bytes) {
      throw new IllegalArgumentException("tensor " + dtype + Arrays.toString(shape) + " needs " + bytes
          + " bytes of data, got " + data.remaining());
    }
    this.data = data.slice().order(ByteOrder.LITTLE_ENDIAN).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * A tensor over existing little-endian bytes (the buffer's remaining bytes, not copied).
   *
   * @throws IllegalArgumentException when the byte count disagrees with dtype and shape
   */
  public static TensorData of(DType dtype, long[] shape, ByteBuffer littleEndianBytes) {
    return new TensorData(dtype, shape, littleEndianBytes);
  }

  /** Float values stored as {@code dtype} (F32, F16, BF16 or F64). */
  public static TensorData floats(DType dtype, float[] values, long... shape) {
    if (!dtype.isFloat()) {
      throw new IllegalArgumentException("dtype " + dtype + " cannot hold floats; use F32, F16, BF16 or F64");
    }
    ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, dtype.size())).order(ByteOrder.LITTLE_ENDIAN);
    dtype.encodeFloats(values, 0, values.length, b);
    return new TensorData(dtype, shape, b.flip());
  }

  public static TensorData f32(float[] values, long... shape) {
    return floats(DType.F32, values, shape);
  }

  public static TensorData f16(float[] values, long... shape) {
    return floats(DType.F16, values, shape);
  }

  public static TensorData bf16(float[] values, long... shape) {
    return floats(DType.BF16, values, shape);
  }

  public static TensorData i32(int[] values, long... shape) {
    ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, 4)).order(ByteOrder.LITTLE_ENDIAN);
    b.asIntBuffer().put(values);
    return new TensorData(DType.I32, shape, b);
  }

  public static TensorData i64(long[] values, long... shape) {
    ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return new TensorData(DType.I64, shape, b);
  }

  public DType dtype() {
    return dtype;
  }

  public long[] shape() {
    return shape.clone();
  }

  /** Bytes of data. */
  public long byteSize() {
    return data.remaining();
  }

  /** A fresh read-only little-endian view of the bytes, positioned at 0. */
  public ByteBuffer data() {
    return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }
}
