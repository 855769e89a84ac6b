package dev.loupe.core.stream;

import dev.loupe.sdk.activation.ActivationBatch;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

/**
 * Event-bus codec of {@link BatchRows}: writes the row range in {@link ActivationBatchCodec}'s wire
 * layout; reads back only its header ({@link ActivationBatchCodec.Encoded}), leaving the arrays for
 * the stream consumer to decode on its reading thread straight into the reassembled batch, so the
 * event loop does no bulk copying. Locally it gives the copied slice.
 */
final class BatchRowsCodec implements MessageCodec<BatchRows, Object> {
  static final String NAME = "loupe.activation-batch-rows.v1";

  @Override
  public void encodeToWire(Buffer buffer, BatchRows rows) {
    ActivationBatchCodec.encodeRows(buffer, rows.batch(), rows.from(), rows.to());
  }

  @Override
  public Object decodeFromWire(int pos, Buffer buffer) {
    return ActivationBatchCodec.readHeader(pos, buffer);
  }

  /** Local delivery (not used by streams, which hand local consumers the whole batch): a copied slice. */
  @Override
  public Object transform(BatchRows rows) {
    return rows.batch().slice(rows.from(), rows.to());
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
