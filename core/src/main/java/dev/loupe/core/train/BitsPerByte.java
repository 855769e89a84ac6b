package dev.loupe.core.train;

/**
 * A compression score: total bits spent coding some bytes, and how many bytes. Kept as a sum
 * rather than a ratio so that scores of documents, labels or shards add up exactly.
 *
 * @param bits total {@code -log2 p} over all bytes (finite, &gt;= 0)
 * @param bytes number of bytes coded (&gt;= 0)
 */
public record BitsPerByte(double bits, long bytes) {
  /** Nothing coded yet. */
  public static final BitsPerByte ZERO = new BitsPerByte(0, 0);

  public BitsPerByte {
    if (!Double.isFinite(bits) || bits < 0) {
      throw new IllegalArgumentException("bits must be finite and >= 0, got " + bits);
    }
    if (bytes < 0) {
      throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
    }
  }

  /**
   * Bits per byte: {@code bits / bytes}.
   *
   * @throws IllegalStateException if no bytes were coded (the ratio would be meaningless)
   */
  public double bitsPerByte() {
    if (bytes == 0) {
      throw new IllegalStateException("bits per byte of zero bytes is undefined");
    }
    return bits / bytes;
  }

  /** The score of both parts together. */
  public BitsPerByte plus(BitsPerByte other) {
    return new BitsPerByte(bits + other.bits, bytes + other.bytes);
  }
}
