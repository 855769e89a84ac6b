package dev.loupe.core.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OnnxModelFileTest {

  // Protobuf encoding helpers, so the tests state the bytes they feed the reader.
  private static void varint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  private static byte[] field(int number, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    varint(out, (long) number << 3 | 2);
    varint(out, payload.length);
    out.writeBytes(payload);
    return out.toByteArray();
  }

  private static byte[] varintField(int number, long value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    varint(out, (long) number << 3);
    varint(out, value);
    return out.toByteArray();
  }

  private static byte[] text(int number, String s) {
    return field(number, s.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static byte[] floatsLe(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return b.array();
  }

  /** A ModelProto whose graph holds a 2x3 weight W (raw_data), a bias b (float_data) and MatMul/Add nodes. */
  private static byte[] smallModel() {
    byte[] w = concat(varintField(1, 2), varintField(1, 3), varintField(2, 1), text(8, "onnx::MatMul_7"),
        field(9, floatsLe(1, 2, 3, 4, 5, 6)));
    byte[] b = concat(varintField(1, 3), varintField(2, 1), text(8, "encoder.layer.0.output.dense.bias"), field(4, floatsLe(7, 8, 9)));
    byte[] matmul = concat(text(1, "x"), text(1, "onnx::MatMul_7"), text(2, "y"), text(3, "/dense/MatMul"),
        text(4, "MatMul"));
    byte[] add = concat(text(1, "encoder.layer.0.output.dense.bias"), text(1, "y"), text(2, "z"), text(3, "/dense/Add"), text(4, "Add"));
    byte[] graph = concat(field(1, matmul), field(1, add), text(2, "g"), field(5, w), field(5, b));
    return concat(varintField(1, 8), text(2, "test"), field(7, graph));
  }

  @Test
  void readsInitializersWithShapesAndValuesAndTheNodesInOrder() {
    OnnxModelFile f = OnnxModelFile.parse(smallModel(), "small.onnx");

    assertThat(f.initializers().keySet()).containsExactly("onnx::MatMul_7", "encoder.layer.0.output.dense.bias");
    assertThat(f.initializers().get("onnx::MatMul_7").dims()).containsExactly(2, 3);
    assertThat(f.floats("onnx::MatMul_7")).containsExactly(1, 2, 3, 4, 5, 6);
    assertThat(f.floats("encoder.layer.0.output.dense.bias")).containsExactly(7, 8, 9);
    assertThat(f.nodes()).extracting(OnnxModelFile.Node::opType).containsExactly("MatMul", "Add");
    assertThat(f.nodes().get(0).inputs()).containsExactly("x", "onnx::MatMul_7");
  }

  @Test
  void namesAMatMulWeightByTheBiasAddedToItsOutputAndTransposesIt() {
    Map<String, OnnxBertWeights.Weight> w = OnnxBertWeights.weights(OnnxModelFile.parse(smallModel(), "small.onnx"));

    assertThat(w.keySet()).containsExactlyInAnyOrder("encoder.layer.0.output.dense.weight", "encoder.layer.0.output.dense.bias");
    assertThat(w.get("encoder.layer.0.output.dense.weight").shape()).containsExactly(3, 2);
    assertThat(w.get("encoder.layer.0.output.dense.weight").values()).containsExactly(1, 4, 2, 5, 3, 6);
  }

  @Test
  void dequantizesAnInt8MatMulIntegerWeightPerOutputColumn() {
    // W_quantized [2 in, 3 out] int8, one scale and zero point per output column.
    byte[] q = concat(varintField(1, 2), varintField(1, 3), varintField(2, 3), text(8, "onnx::MatMul_9_quantized"),
        field(9, new byte[] {1, 2, 3, -4, 5, 6}));
    byte[] scale = concat(varintField(1, 3), varintField(2, 1), text(8, "onnx::MatMul_9_scale"),
        field(4, floatsLe(0.5f, 1f, 2f)));
    ByteArrayOutputStream zp = new ByteArrayOutputStream();
    varint(zp, 0);
    varint(zp, 1);
    varint(zp, 0xff); // int8 -1 kept in int32_data as its low byte
    byte[] zero = concat(varintField(1, 3), varintField(2, 3), text(8, "onnx::MatMul_9_zero_point"),
        field(5, zp.toByteArray()));
    byte[] bias = concat(varintField(1, 3), varintField(2, 1), text(8, "encoder.layer.0.output.dense.bias"),
        field(4, floatsLe(0, 0, 0)));
    byte[] mm = concat(text(1, "xq"), text(1, "onnx::MatMul_9_quantized"), text(1, "xzp"),
        text(1, "onnx::MatMul_9_zero_point"), text(2, "p"), text(3, "/m/MatMul_quant"), text(4, "MatMulInteger"));
    byte[] cast = concat(text(1, "p"), text(2, "pf"), text(4, "Cast"));
    byte[] mul = concat(text(1, "pf"), text(1, "s"), text(2, "y"), text(4, "Mul"));
    byte[] add = concat(text(1, "encoder.layer.0.output.dense.bias"), text(1, "y"), text(2, "z"), text(4, "Add"));
    byte[] graph = concat(field(1, mm), field(1, cast), field(1, mul), field(1, add), field(5, q), field(5, scale),
        field(5, zero), field(5, bias));

    Map<String, OnnxBertWeights.Weight> w = OnnxBertWeights.weights(OnnxModelFile.parse(field(7, graph), "q.onnx"));

    assertThat(w.keySet()).containsExactlyInAnyOrder("encoder.layer.0.output.dense.weight",
        "encoder.layer.0.output.dense.bias");
    // (q - zp[col]) * scale[col], transposed to [out, in]: column 0 = (1, -4) * 0.5, 1 = (2-1, 5-1), 2 = (3+1, 6+1) * 2.
    assertThat(w.get("encoder.layer.0.output.dense.weight").values()).containsExactly(0.5f, -2f, 1f, 4f, 8f, 14f);
  }

  @Test
  void aTruncatedFileNamesTheFileAndTheFieldCutShort() {
    byte[] whole = smallModel();
    byte[] cut = Arrays.copyOf(whole, whole.length - 5);

    assertThatThrownBy(() -> OnnxModelFile.parse(cut, "cut.onnx"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cut.onnx")
        .hasMessageContaining("ModelProto.graph")
        .hasMessageContaining("remain");
  }

  @Test
  void aVarintLongerThanTenBytesIsRejected() {
    byte[] bad = new byte[12];
    Arrays.fill(bad, (byte) 0xff);
    bad[0] = 0x08; // field 1, varint, then a never-ending varint

    assertThatThrownBy(() -> OnnxModelFile.parse(bad, "bad.onnx"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bad.onnx")
        .hasMessageContaining("varint longer than 10 bytes");
  }

  @Test
  void aLengthBeyondTheFileIsRejectedBeforeAnythingIsAllocated() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    varint(out, 7 << 3 | 2);
    varint(out, Integer.MAX_VALUE - 1L);
    out.writeBytes(new byte[] {1, 2, 3});

    assertThatThrownBy(() -> OnnxModelFile.parse(out.toByteArray(), "huge.onnx"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("huge.onnx: ModelProto.graph")
        .hasMessageContaining("declares 2147483646 bytes but only 3 remain");
  }

  @Test
  void rawDataThatDoesNotMatchTheDimsIsRejected() {
    byte[] w = concat(varintField(1, 2), varintField(1, 3), varintField(2, 1), text(8, "w"),
        field(9, floatsLe(1, 2, 3)));
    byte[] model = field(7, field(5, w));

    assertThatThrownBy(() -> OnnxModelFile.parse(model, "short.onnx"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("short.onnx")
        .hasMessageContaining("'w'")
        .hasMessageContaining("12 bytes of raw_data for dims [2, 3] (6 float32 values)");
  }

  @Test
  void aFileWithoutAGraphIsNotAnOnnxModel() {
    assertThatThrownBy(() -> OnnxModelFile.parse(text(2, "just a producer"), "nograph.onnx"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nograph.onnx: ModelProto has no graph");
  }

  @Test
  void anUnnamedMatMulWeightWithoutABiasAddCannotBeMapped() {
    byte[] w = concat(varintField(1, 1), varintField(1, 1), varintField(2, 1), text(8, "onnx::MatMul_1"),
        field(9, floatsLe(1)));
    byte[] matmul = concat(text(1, "x"), text(1, "onnx::MatMul_1"), text(2, "y"), text(3, "/m/MatMul"),
        text(4, "MatMul"));
    OnnxModelFile f = OnnxModelFile.parse(field(7, concat(field(1, matmul), field(5, w))), "nobias.onnx");

    assertThatThrownBy(() -> OnnxBertWeights.weights(f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nobias.onnx: MatMul /m/MatMul (weight 'onnx::MatMul_1') is not followed by an Add");
    assertThat(List.of(f.nodes().get(0).name())).containsExactly("/m/MatMul");
  }
}
