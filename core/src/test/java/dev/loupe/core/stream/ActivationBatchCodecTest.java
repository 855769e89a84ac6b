package dev.loupe.core.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.activation.ActivationBatch;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

class ActivationBatchCodecTest {
  private final ActivationBatchCodec codec = new ActivationBatchCodec();

  private static ActivationBatch roundTrip(ActivationBatchCodec codec, ActivationBatch batch) {
    Buffer buffer = Buffer.buffer().appendString("frame-header");
    int start = buffer.length();
    codec.encodeToWire(buffer, batch);
    assertThat(buffer.length() - start).isEqualTo(ActivationBatchCodec.encodedSize(batch));
    return codec.decodeFromWire(start, buffer);
  }

  private static void assertBitExact(ActivationBatch actual, ActivationBatch expected) {
    assertThat(actual.modelId()).isEqualTo(expected.modelId());
    assertThat(actual.hookName()).isEqualTo(expected.hookName());
    assertThat(actual.sequence()).isEqualTo(expected.sequence());
    assertThat(actual.rows()).isEqualTo(expected.rows());
    assertThat(actual.width()).isEqualTo(expected.width());
    int[] actualBits = new int[actual.values().length];
    int[] expectedBits = new int[expected.values().length];
    for (int i = 0; i < actualBits.length; i++) {
      actualBits[i] = Float.floatToRawIntBits(actual.values()[i]);
      expectedBits[i] = Float.floatToRawIntBits(expected.values()[i]);
    }
    assertThat(actualBits).isEqualTo(expectedBits);
    assertThat(actual.tokenIds()).isEqualTo(expected.tokenIds());
    assertThat(actual.docIds()).isEqualTo(expected.docIds());
    assertThat(actual.positions()).isEqualTo(expected.positions());
    assertThat(actual.labels()).isEqualTo(expected.labels());
  }

  @Test
  void unlabelledBatchSurvivesTheWireBitForBit() {
    ActivationBatch batch = SyntheticActivations.batch(7, 4, 300, 97);
    assertThat(batch.hasLabels()).isFalse();

    ActivationBatch decoded = roundTrip(codec, batch);

    assertThat(decoded.hasLabels()).isFalse();
    assertBitExact(decoded, batch);
  }

  @Test
  void labelledBatchWithSpecialFloatsSurvivesTheWireBitForBit() {
    float[] values = {
        -0.0f, 0.0f, Float.NaN, Float.intBitsToFloat(0x7fc12345), Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.MIN_VALUE, Float.MAX_VALUE, 1e-40f, -3.25f};
    ActivationBatch batch = new ActivationBatch("gpt2-ü", "blocks.11.mlp.hook_post", Long.MAX_VALUE - 1, 5, 2,
        values, new int[] {50256, 0, -1, 7, 8}, new int[] {1, 1, 2, 2, 3}, new int[] {0, 1, 0, 1, 0},
        new int[] {3, -4, 0, 1, Integer.MIN_VALUE});

    ActivationBatch decoded = roundTrip(codec, batch);

    assertBitExact(decoded, batch);
  }

  @Test
  void largeBatchCrossingManyScratchBlocksRoundTrips() {
    ActivationBatch batch = SyntheticActivations.batch(1, 3, 1024, 300);

    assertBitExact(roundTrip(codec, batch), batch);
  }

  @Test
  void emptyBatchRoundTrips() {
    ActivationBatch batch = SyntheticActivations.batch(1, 2, 0, 16);

    assertBitExact(roundTrip(codec, batch), batch);
  }

  @Test
  void rowRangeIsWrittenExactlyAsTheSliceWouldBe() {
    ActivationBatch batch = SyntheticActivations.batch(3, 5, 40, 33);
    Buffer fromSlice = Buffer.buffer();
    codec.encodeToWire(fromSlice, batch.slice(10, 27));
    Buffer fromRange = Buffer.buffer();

    new BatchRowsCodec().encodeToWire(fromRange, new BatchRows(batch, 10, 27));

    assertThat(fromRange.getBytes()).isEqualTo(fromSlice.getBytes());
  }

  @Test
  void partsInWireFormDecodeIntoPlaceAtARowOffset() {
    ActivationBatch batch = SyntheticActivations.batch(3, 7, 20, 9);
    Buffer wire = Buffer.buffer();
    new BatchRowsCodec().encodeToWire(wire, new BatchRows(batch, 5, 20));
    ActivationBatchCodec.Encoded part = (ActivationBatchCodec.Encoded) new BatchRowsCodec().decodeFromWire(0, wire);
    float[] values = new float[20 * 9];
    int[] tokenIds = new int[20];
    int[] docIds = new int[20];
    int[] positions = new int[20];
    int[] labels = new int[20];

    part.decodeInto(values, tokenIds, docIds, positions, labels, 5);

    assertThat(part.rows).isEqualTo(15);
    assertThat(java.util.Arrays.copyOfRange(values, 5 * 9, 20 * 9))
        .isEqualTo(java.util.Arrays.copyOfRange(batch.values(), 5 * 9, 20 * 9));
    assertThat(java.util.Arrays.copyOfRange(labels, 5, 20)).isEqualTo(java.util.Arrays.copyOfRange(batch.labels(), 5, 20));
    assertThat(java.util.Arrays.copyOfRange(tokenIds, 0, 5)).containsOnly(0);
  }

  @Test
  void batchSpreadOverSeveralNettyBuffersDecodesThroughTheScratchPath() {
    ActivationBatch batch = SyntheticActivations.batch(9, 1, 700, 200);
    Buffer whole = Buffer.buffer();
    codec.encodeToWire(whole, batch);
    byte[] bytes = whole.getBytes();
    int half = bytes.length / 2 + 3;
    // A composite of two Netty buffers has no single backing array: the codec must take its portable path.
    Buffer split = io.vertx.core.internal.buffer.BufferInternal.buffer(io.netty.buffer.Unpooled.wrappedBuffer(
        io.netty.buffer.Unpooled.wrappedBuffer(bytes, 0, half),
        io.netty.buffer.Unpooled.wrappedBuffer(bytes, half, bytes.length - half)));

    assertBitExact(codec.decodeFromWire(0, split), batch);
  }

  @Test
  void localDeliveryPassesTheSameInstance() {
    ActivationBatch batch = SyntheticActivations.batch(1, 0, 4, 4);

    assertThat(codec.transform(batch)).isSameAs(batch);
  }

  @Test
  void unknownWireVersionIsRejectedWithTheVersions() {
    Buffer buffer = Buffer.buffer();
    codec.encodeToWire(buffer, SyntheticActivations.batch(1, 0, 2, 2));
    buffer.setByte(0, (byte) 9);

    assertThatThrownBy(() -> codec.decodeFromWire(0, buffer))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("version 9")
        .hasMessageContaining("expected 1");
  }
}
