package dev.loupe.core.store;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSink;
import dev.loupe.sdk.activation.ActivationSourceException;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Appends rows to an activation store. Rows are buffered (already narrowed to the store's dtype)
 * and written a shard at a time: the shard goes to a temp file, is fsynced and renamed into place,
 * and only then is the manifest rewritten (also atomically) to list it. A crash at any point thus
 * leaves a store whose manifest lists only complete shards. {@link #close()} writes the last,
 * possibly smaller, shard.
 *
 * <p>Fed by one thread at a time, as every sink.
 */
public final class StoreWriter implements ActivationSink {
  private final Path dir;
  private final int shardRows;
  private final int width;
  private final DType dtype;
  private StoreManifest manifest;
  private int nextIndex;
  private ByteBuffer values;
  private int[] tokenIds;
  private int[] docIds;
  private int[] positions;
  private int[] labels;
  private int rows;
  private boolean closed;

  StoreWriter(Path dir, StoreManifest manifest) {
    this.dir = dir;
    this.manifest = manifest;
    this.shardRows = manifest.shardRows();
    this.width = manifest.width();
    this.dtype = manifest.dtype();
    this.nextIndex = manifest.shards().stream().mapToInt(StoreManifest.Shard::index).max().orElse(-1) + 1;
  }

  /** The manifest as of the last shard written. */
  public synchronized StoreManifest manifest() {
    return manifest;
  }

  /** Rows accepted so far, written or still buffered, including those of earlier sessions. */
  public synchronized long rowsWritten() {
    return manifest.totalRows() + rows;
  }

  /**
   * Buffers the batch's rows, writing full shards as they fill.
   *
   * @throws ActivationSourceException when the batch's model, hook, width or labelling disagrees with the
   *     store, the writer is closed, or a shard cannot be written (naming the store and file)
   */
  @Override
  public synchronized void accept(ActivationBatch batch) {
    if (closed) {
      throw new ActivationSourceException("store " + dir + " is closed for writing");
    }
    if (batch.width() != width) {
      throw new ActivationSourceException("store " + dir + " has width " + width + ", batch " + batch + " has width " + batch.width());
    }
    if (!batch.hookName().equals(manifest.hookName())) {
      throw new ActivationSourceException("store " + dir + " holds hook " + manifest.hookName() + ", batch " + batch
          + " is from " + batch.hookName());
    }
    if (!batch.modelId().equals(manifest.modelId())) {
      throw new ActivationSourceException("store " + dir + " holds model " + manifest.modelId() + ", batch " + batch
          + " is from model " + batch.modelId());
    }
    Boolean labelled = manifest.labelled();
    if (labelled == null && rows > 0) {
      labelled = labels != null;
    }
    if (labelled != null && labelled != batch.hasLabels()) {
      throw new ActivationSourceException("store " + dir + (labelled ? " has labelled rows but batch " + batch + " has no labels"
          : " has unlabelled rows but batch " + batch + " has labels"));
    }
    if (values == null) {
      values = ByteBuffer.allocate(shardRows * width * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
      tokenIds = new int[shardRows];
      docIds = new int[shardRows];
      positions = new int[shardRows];
    }
    if (batch.hasLabels() && labels == null) {
      labels = new int[shardRows];
    }
    int done = 0;
    while (done < batch.rows()) {
      int n = Math.min(shardRows - rows, batch.rows() - done);
      dtype.encodeFloats(batch.values(), done * width, n * width, values);
      System.arraycopy(batch.tokenIds(), done, tokenIds, rows, n);
      System.arraycopy(batch.docIds(), done, docIds, rows, n);
      System.arraycopy(batch.positions(), done, positions, rows, n);
      if (batch.hasLabels()) {
        System.arraycopy(batch.labels(), done, labels, rows, n);
      }
      rows += n;
      done += n;
      if (rows == shardRows) {
        flushShard();
      }
    }
  }

  private void flushShard() {
    String name = String.format("shard-%06d.safetensors", nextIndex);
    Path file = dir.resolve(name);
    boolean labelled = labels != null;
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    tensors.put("values", TensorData.of(dtype, new long[] {rows, width},
        values.duplicate().flip()));
    tensors.put("token_ids", TensorData.i32(Arrays.copyOf(tokenIds, rows), rows));
    tensors.put("doc_ids", TensorData.i32(Arrays.copyOf(docIds, rows), rows));
    tensors.put("positions", TensorData.i32(Arrays.copyOf(positions, rows), rows));
    if (labelled) {
      tensors.put("labels", TensorData.i32(Arrays.copyOf(labels, rows), rows));
    }
    Map<String, String> meta = Map.of("format", "loupe-activation-shard", "model_id", manifest.modelId(),
        "hook_name", manifest.hookName());
    CRC32C crc = new CRC32C();
    try {
      long bytes = Safetensors.write(file, tensors, meta, crc);
      StoreManifest next = manifest.withShard(new StoreManifest.Shard(name, rows, bytes, crc.getValue()), labelled);
      next.write(dir);
      manifest = next;
    } catch (IOException e) {
      throw new ActivationSourceException("store " + dir + ": writing " + name + " failed: " + e.getMessage(), e);
    }
    nextIndex++;
    rows = 0;
    values.clear();
  }

  /**
   * Writes the buffered rows as a last shard and stops accepting; idempotent.
   *
   * @throws ActivationSourceException when that shard cannot be written
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (rows > 0) {
      flushShard();
    }
    values = null;
  }
}
