package dev.loupe.sdk.io;

import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * Element types of tensor files, named as the safetensors header names them. Knows each type's
 * size and how to widen it to float32 or int, so readers never special-case a dtype twice.
 *
 * <p>Declared in the reference implementation's order (increasing alignment): writers lay tensors
 * out in descending order of this, then by name, which is what makes our files byte-identical.
 */
public enum DType {
  BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1),
  I16(2), U16(2), F16(2), BF16(2),
  I32(4), U32(4), F32(4),
  F64(8), I64(8), U64(8);

  private final int size;

  DType(int size) {
    this.size = size;
  }

  /** Bytes per element. */
  public int size() {
    return size;
  }

  /** Whether {@link #decodeFloats} accepts this type (F32, F16, BF16, F64). */
  public boolean isFloat() {
    return this == F32 || this == F16 || this == BF16 || this == F64;
  }

  /** Whether {@link #decodeInts} accepts this type (I8, U8, I16, U16, I32, I64 range-checked). */
  public boolean isInteger() {
    return this == I8 || this == U8 || this == I16 || this == U16 || this == I32 || this == I64;
  }

  /**
   * The type with this safetensors name.
   *
   * @throws IllegalArgumentException listing the known names when the name is not one of them
   */
  public static DType parse(String name) {
    if (name != null) {
      for (DType d : values()) {
        if (d.name().equals(name)) {
          return d;
        }
      }
    }
    throw new IllegalArgumentException("unknown dtype " + (name == null ? "null" : "\"" + name + "\"")
        + ", expected one of " + java.util.Arrays.toString(values()).toUpperCase(Locale.ROOT));
  }

  /**
   * Widens {@code count} elements of this type, read from {@code src} at its position (the buffer
   * must be little-endian), into {@code dst[off..off+count)}. Advances {@code src}.
   *
   * @throws UnsupportedOperationException when this type is not a float type
   */
  public void decodeFloats(ByteBuffer src, float[] dst, int off, int count) {
    switch (this) {
      case F32 -> src.asFloatBuffer().get(dst, off, count);
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst[off + i] = HalfFloats.halfToFloat(src.getShort(src.position() + 2 * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst[off + i] = HalfFloats.bf16ToFloat(src.getShort(src.position() + 2 * i));
        }
      }
      case F64 -> {
        for (int i = 0; i < count; i++) {
          dst[off + i] = (float) src.getDouble(src.position() + 8 * i);
        }
      }
      default -> throw new UnsupportedOperationException("dtype " + this + " cannot be read as floats");
    }
    src.position(src.position() + count * size);
  }

  /**
   * Reads {@code count} integers of this type from {@code src} (little-endian) into {@code dst}.
   * Advances {@code src}.
   *
   * @param what names the tensor in the range error
   * @throws ArithmeticException naming {@code what} and the index when an I64 value does not fit an int
   * @throws UnsupportedOperationException when this type is not an integer type
   */
  public void decodeInts(ByteBuffer src, int[] dst, int off, int count, String what) {
    int p = src.position();
    switch (this) {
      case I32 -> src.asIntBuffer().get(dst, off, count);
      case I64 -> {
        for (int i = 0; i < count; i++) {
          long v = src.getLong(p + 8 * i);
          if (v != (int) v) {
            throw new ArithmeticException(what + "[" + i + "] = " + v + " does not fit a 32-bit int");
          }
          dst[off + i] = (int) v;
        }
      }
      case I16 -> { for (int i = 0; i < count; i++) dst[off + i] = src.getShort(p + 2 * i); }
      case U16 -> { for (int i = 0; i < count; i++) dst[off + i] = src.getShort(p + 2 * i) & 0xffff; }
      case I8 -> { for (int i = 0; i < count; i++) dst[off + i] = src.get(p + i); }
      case U8 -> { for (int i = 0; i < count; i++) dst[off + i] = src.get(p + i) & 0xff; }
      default -> throw new UnsupportedOperationException("dtype " + this + " cannot be read as ints");
    }
    src.position(p + count * size);
  }

  /**
   * Narrows {@code count} floats from {@code src[off..]} into {@code dst} (little-endian) as this
   * type, rounding to nearest even for F16/BF16.
   *
   * @throws UnsupportedOperationException when this type is not F32, F16, BF16 or F64
   */
  public void encodeFloats(float[] src, int off, int count, ByteBuffer dst) {
    switch (this) {
      case F32 -> {
        dst.asFloatBuffer().put(src, off, count);
        dst.position(dst.position() + 4 * count);
      }
      case F16 -> { for (int i = 0; i < count; i++) dst.putShort(HalfFloats.floatToHalf(src[off + i])); }
      case BF16 -> { for (int i = 0; i < count; i++) dst.putShort(HalfFloats.floatToBf16(src[off + i])); }
      case F64 -> { for (int i = 0; i < count; i++) dst.putDouble(src[off + i]); }
      default -> throw new UnsupportedOperationException("dtype " + this + " cannot store floats");
    }
  }
}
