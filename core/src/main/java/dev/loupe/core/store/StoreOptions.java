package dev.loupe.core.store;

import dev.loupe.sdk.io.DType;
import java.util.Objects;

/**
 * How {@link ActivationStore#create} writes a store: rows per shard, the on-disk value type, and
 * whether to add to an existing store. Setters validate eagerly and name the bad field. Mutable;
 * not thread-safe.
 */
public final class StoreOptions {
  /** Default rows per shard: 64 Ki rows (192 MB of F32 at width 768). */
  public static final int DEFAULT_SHARD_ROWS = 65536;

  private int shardRows = DEFAULT_SHARD_ROWS;
  private DType dtype = DType.F32;
  private boolean append;

  /** Defaults: 65536 rows per shard, F32, a new store. */
  public static StoreOptions defaults() {
    return new StoreOptions();
  }

  public int shardRows() {
    return shardRows;
  }

  /** Rows per shard (the last shard may hold fewer); &gt;= 1. */
  public StoreOptions shardRows(int rows) {
    if (rows < 1) {
      throw new IllegalArgumentException("shardRows must be >= 1, got " + rows);
    }
    this.shardRows = rows;
    return this;
  }

  public DType dtype() {
    return dtype;
  }

  /** On-disk value type: F32 (exact), or F16 / BF16 (half the size; widened to F32 on read). */
  public StoreOptions dtype(DType dtype) {
    Objects.requireNonNull(dtype, "dtype");
    if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
      throw new IllegalArgumentException("dtype must be F32, F16 or BF16, got " + dtype);
    }
    this.dtype = dtype;
    return this;
  }

  public boolean append() {
    return append;
  }

  /** When true and the directory already holds a store, new shards are added to it. */
  public StoreOptions append(boolean append) {
    this.append = append;
    return this;
  }

  @Override
  public String toString() {
    return "StoreOptions[shardRows=" + shardRows + ", dtype=" + dtype + ", append=" + append + "]";
  }
}
