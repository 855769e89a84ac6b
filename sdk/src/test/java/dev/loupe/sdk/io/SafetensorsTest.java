package dev.loupe.sdk.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
  @TempDir
  Path dir;

  private static final float[] SAMPLE = {0f, 1f, -2.5f, 3.140625f, 65504f, -0.0009765625f};

  @Test
  void f32RoundTripIsBitExact() throws IOException {
    float[] v = {1.1f, -2.2f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NaN, -0.0f};
    Path f = dir.resolve("a.safetensors");
    Safetensors.write(f, Map.of("w", TensorData.f32(v, 2, 3)), Map.of("k", "v"));
    try (SafetensorsFile st = Safetensors.open(f)) {
      assertThat(st.names()).containsExactly("w");
      assertThat(st.dtype("w")).isEqualTo(DType.F32);
      assertThat(st.shape("w")).containsExactly(2, 3);
      assertThat(st.metadata()).containsExactly(Map.entry("k", "v"));
      float[] back = st.readFloats("w");
      for (int i = 0; i < v.length; i++) {
        assertThat(Float.floatToRawIntBits(back[i])).isEqualTo(Float.floatToRawIntBits(v[i]));
      }
    }
  }

  @Test
  void f16AndBf16RoundTripValuesTheyCanRepresent() throws IOException {
    Path f = dir.resolve("h.safetensors");
    Safetensors.write(f, Map.of("h", TensorData.f16(SAMPLE, 6), "b", TensorData.bf16(new float[] {1f, -2.5f, 3.140625f}, 3)), null);
    try (SafetensorsFile st = Safetensors.open(f)) {
      assertThat(st.readFloats("h")).containsExactly(SAMPLE);
      assertThat(st.readFloats("b")).containsExactly(1f, -2.5f, 3.140625f);
      assertThat(st.raw("h").remaining()).isEqualTo(12);
      assertThat(st.metadata()).isEmpty();
    }
  }

  @Test
  void intTensorsRoundTripAndI64IsRangeChecked() throws IOException {
    Path f = dir.resolve("i.safetensors");
    Safetensors.write(f, Map.of(
        "a", TensorData.i32(new int[] {1, -2, Integer.MAX_VALUE}, 3),
        "b", TensorData.i64(new long[] {5, -6}, 2),
        "c", TensorData.i64(new long[] {1L << 40}, 1)), null);
    try (SafetensorsFile st = Safetensors.open(f)) {
      assertThat(st.readInts("a")).containsExactly(1, -2, Integer.MAX_VALUE);
      assertThat(st.readInts("b")).containsExactly(5, -6);
      assertThat(st.readLongs("c")).containsExactly(1L << 40);
      assertThatThrownBy(() -> st.readInts("c")).hasMessageContaining("c[0] = 1099511627776")
          .hasMessageContaining("i.safetensors");
      assertThatThrownBy(() -> st.readFloats("a")).hasMessageContaining("dtype I32");
    }
  }

  @Test
  void rangedReadsTouchOnlyTheRequestedElements() throws IOException {
    float[] v = new float[100];
    for (int i = 0; i < v.length; i++) {
      v[i] = i;
    }
    Path f = dir.resolve("r.safetensors");
    Safetensors.write(f, Map.of("x", TensorData.f32(v, 10, 10)), null);
    try (SafetensorsFile st = Safetensors.open(f)) {
      assertThat(st.readFloats("x", 37, 3)).containsExactly(37f, 38f, 39f);
      assertThatThrownBy(() -> st.readFloats("x", 99, 2)).hasMessageContaining("elements [99, 101)");
    }
  }

  /** The bytes Python's safetensors.torch.save_file writes for the same tensors, built by hand from the spec. */
  @Test
  void writesTheSameBytesAsTheReferenceImplementation() throws IOException {
    String json = "{\"__metadata__\":{\"format\":\"pt\"},"
        + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]}}";
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    int padded = (body.length + 7) / 8 * 8;
    ByteBuffer expected = ByteBuffer.allocate(8 + padded + 12).order(ByteOrder.LITTLE_ENDIAN);
    expected.putLong(padded).put(body);
    for (int i = body.length; i < padded; i++) {
      expected.put((byte) ' ');
    }
    expected.putFloat(1f).putFloat(2f).putFloat(-3f);

    Path f = dir.resolve("ref.safetensors");
    Map<String, TensorData> t = new LinkedHashMap<>();
    t.put("b", TensorData.f32(new float[] {-3f}, 1, 1));
    t.put("a", TensorData.f32(new float[] {1f, 2f}, 2));
    Safetensors.write(f, t, Map.of("format", "pt"));

    assertThat(Files.readAllBytes(f)).isEqualTo(expected.array());
    assertThat((8 + padded) % 8).isZero();
  }

  @Test
  void padsTheHeaderToEightBytesLikeTheReferenceImplementation() throws IOException {
    // Header lengths the reference implementation's own tests expect for these inputs.
    Path a = dir.resolve("attn.safetensors");
    Safetensors.write(a, Map.of("attn0", TensorData.f32(new float[] {0, 1, 2, 3, 4, 5}, 1, 1, 2, 3)), null);
    byte[] bytes = Files.readAllBytes(a);
    assertThat(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0)).isEqualTo(72);
    assertThat(new String(bytes, 8, 72, StandardCharsets.UTF_8))
        .isEqualTo("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ");
    assertThat(bytes).hasSize(8 + 72 + 24);

    Path empty = dir.resolve("empty.safetensors");
    Safetensors.write(empty, Map.of(), Map.of("framework", "pt"));
    assertThat(Files.readAllBytes(empty)).isEqualTo(
        concat(new byte[] {40, 0, 0, 0, 0, 0, 0, 0}, "{\"__metadata__\":{\"framework\":\"pt\"}}     "));
    Safetensors.write(empty, Map.of(), null);
    assertThat(Files.readAllBytes(empty)).isEqualTo(concat(new byte[] {8, 0, 0, 0, 0, 0, 0, 0}, "{}      "));
  }

  @Test
  void laysOutMixedDtypesByDescendingAlignmentThenName() throws IOException {
    Path f = dir.resolve("mixed.safetensors");
    Map<String, TensorData> t = new LinkedHashMap<>();
    t.put("a_half", TensorData.f16(new float[] {1}, 1));
    t.put("b_int", TensorData.i32(new int[] {2}, 1));
    t.put("c_long", TensorData.i64(new long[] {3}, 1));
    t.put("d_float", TensorData.f32(new float[] {4}, 1));
    t.put("e_bf", TensorData.bf16(new float[] {5}, 1));
    Safetensors.write(f, t, null);
    try (SafetensorsFile st = Safetensors.open(f)) {
      assertThat(st.tensors().values()).extracting(TensorInfo::name, TensorInfo::begin).containsExactlyInAnyOrder(
          org.assertj.core.groups.Tuple.tuple("c_long", 0L), org.assertj.core.groups.Tuple.tuple("d_float", 8L),
          org.assertj.core.groups.Tuple.tuple("b_int", 12L), org.assertj.core.groups.Tuple.tuple("e_bf", 16L),
          org.assertj.core.groups.Tuple.tuple("a_half", 18L));
      assertThat(st.readFloats("a_half")).containsExactly(1f);
      assertThat(st.readLongs("c_long")).containsExactly(3L);
    }
    String header = new String(Files.readAllBytes(f), 8, 40, StandardCharsets.UTF_8);
    assertThat(header).startsWith("{\"c_long\":");
  }

  private static byte[] concat(byte[] prefix, String text) {
    byte[] t = text.getBytes(StandardCharsets.UTF_8);
    byte[] out = java.util.Arrays.copyOf(prefix, prefix.length + t.length);
    System.arraycopy(t, 0, out, prefix.length, t.length);
    return out;
  }

  @Test
  void readsAFileWhoseHeaderIsPaddedWithSpaces() throws IOException {
    Path f = write("padded", "{\"x\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}      ", new byte[] {7, 0, 0, 0});
    try (SafetensorsFile st = Safetensors.open(f)) {
      assertThat(st.readInts("x")).containsExactly(7);
    }
  }

  @Test
  void streamingWriterPublishesNothingUntilComplete() throws IOException {
    Path f = dir.resolve("s.safetensors");
    Map<String, TensorSpec> specs = new TreeMap<>(Map.of("big", TensorSpec.of(DType.F32, 4, 2)));
    try (Safetensors.StreamingWriter w = Safetensors.writer(f, specs, null, null)) {
      w.writeFloats(DType.F32, new float[] {1, 2, 3, 4}, 0, 4);
      assertThatThrownBy(w::commit).hasMessageContaining("\"big\" is incomplete");
    }
    assertThat(f).doesNotExist();
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files).isEmpty();
    }
    try (Safetensors.StreamingWriter w = Safetensors.writer(f, specs, null, null)) {
      w.writeFloats(DType.F32, new float[] {1, 2, 3, 4}, 0, 4);
      w.writeFloats(DType.F32, new float[] {5, 6, 7, 8}, 0, 4);
      w.commit();
    }
    try (SafetensorsFile st = Safetensors.open(f)) {
      assertThat(st.readFloats("big")).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    }
  }

  // ---- hostile files: every one must fail with a message naming the file, never OOM ----

  @Test
  void rejectsFileShorterThanEightBytes() throws IOException {
    Path f = dir.resolve("short.safetensors");
    Files.write(f, new byte[] {1, 2, 3});
    assertRejected(f, "shorter than the 8-byte header length");
  }

  @Test
  void rejectsHeaderLengthPastTheFile() throws IOException {
    assertRejected(rawFile("past", 1000, new byte[20]), "runs past the end");
  }

  @Test
  void rejectsHugeHeaderLengthWithoutAllocating() throws IOException {
    assertRejected(rawFile("huge", Long.MAX_VALUE, new byte[20]), "outside [0, 104857600]");
    assertRejected(rawFile("negative", -1L, new byte[20]), "header length 18446744073709551615");
    assertRejected(rawFile("overcap", 200L * 1024 * 1024, new byte[20]), "outside");
  }

  @Test
  void rejectsHeaderThatIsNotJson() throws IOException {
    assertRejected(write("notjson", "{\"x\": [", new byte[0]), "not valid JSON");
  }

  @Test
  void rejectsHeaderThatIsNotAnObject() throws IOException {
    assertRejected(write("array", "[1,2]", new byte[0]), "must be a JSON object");
  }

  @Test
  void rejectsInvalidUtf8() throws IOException {
    byte[] h = {'{', '"', (byte) 0xff, '"', ':', '1', '}', ' '};
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(8).put(h);
    Path f = dir.resolve("utf.safetensors");
    Files.write(f, b.array());
    assertRejected(f, "not valid UTF-8");
  }

  @Test
  void rejectsUnknownDtype() throws IOException {
    assertRejected(write("dtype", "{\"x\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]),
        "tensor \"x\" dtype: unknown dtype \"F12\"");
  }

  @Test
  void rejectsShapeThatDisagreesWithOffsets() throws IOException {
    assertRejected(write("span", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]),
        "needs 2 * 4 bytes but data_offsets [0, 4] span 4");
  }

  @Test
  void rejectsOffsetsOutsideTheData() throws IOException {
    assertRejected(write("range", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]),
        "run past the end of the 4-byte data buffer");
  }

  @Test
  void rejectsOverlappingTensors() throws IOException {
    assertRejected(write("overlap", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "overlap");
  }

  @Test
  void rejectsNegativeDimension() throws IOException {
    assertRejected(write("neg", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", new byte[0]),
        "shape[0] is negative");
  }

  @Test
  void rejectsHoleInTheDataBuffer() throws IOException {
    assertRejected(write("hole", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]),
        "hole: bytes [0, 4)");
  }

  @Test
  void rejectsTrailingBytesNoTensorOwns() throws IOException {
    assertRejected(write("trail", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[12]),
        "cover only 4");
  }

  @Test
  void rejectsShapeWhoseElementCountOverflows() throws IOException {
    assertRejected(write("overflow", "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}",
        new byte[4]), "more elements than a long");
  }

  @Test
  void rejectsNonStringMetadataAndDuplicateNames() throws IOException {
    assertRejected(write("meta", "{\"__metadata__\":{\"a\":1}}", new byte[0]), "__metadata__.a must be a string");
    assertRejected(write("dup", "{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
        + "\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", new byte[0]), "Duplicate field 'x'");
  }

  private void assertRejected(Path f, String fragment) {
    assertThatThrownBy(() -> Safetensors.open(f).close())
        .isInstanceOf(TensorFileException.class)
        .hasMessageContaining(f.toString())
        .hasMessageContaining(fragment);
  }

  private Path write(String name, String header, byte[] data) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(data);
    Path f = dir.resolve(name + ".safetensors");
    Files.write(f, b.array());
    return f;
  }

  private Path rawFile(String name, long headerLength, byte[] rest) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + rest.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(headerLength).put(rest);
    Path f = dir.resolve(name + ".safetensors");
    Files.write(f, b.array());
    return f;
  }
}
