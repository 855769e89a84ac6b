package dev.loupe.sdk.io;

import java.util.Arrays;
import java.util.Objects;

/** The dtype and shape of a tensor to be streamed into a file by {@link Safetensors#writer}. */
public record TensorSpec(DType dtype, long[] shape) {

  /** @throws IllegalArgumentException naming the dimension when one is negative */
  public TensorSpec {
    Objects.requireNonNull(dtype, "dtype");
    shape = shape.clone();
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0) {
        throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has negative dimension " + i);
      }
    }
  }

  public static TensorSpec of(DType dtype, long... shape) {
    return new TensorSpec(dtype, shape);
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Bytes of data. */
  public long byteSize() {
    long n = dtype.size();
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorSpec t && dtype == t.dtype && Arrays.equals(shape, t.shape);
  }

  @Override
  public int hashCode() {
    return 31 * dtype.hashCode() + Arrays.hashCode(shape);
  }
}
