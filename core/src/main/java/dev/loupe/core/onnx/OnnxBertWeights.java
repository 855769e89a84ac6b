package dev.loupe.core.onnx;

import dev.loupe.core.model.BertConfig;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Recovers Hugging Face {@code BertModel} weights from a BERT graph exported to ONNX by
 * {@code torch.onnx} (as the BGE and MiniLM files are), where the linear layers' matrices lost
 * their names.
 *
 * <p>Mapping rules: an initializer already named as in Hugging Face (embeddings, LayerNorms,
 * biases) keeps its name. Every other float32 initializer must be the second input of a
 * {@code MatMul} node ({@code y = x @ W}, so stored {@code [in, out]}) whose output feeds an
 * {@code Add} whose other input is an initializer {@code P.bias}; the matrix is then
 * {@code P.weight}, transposed to torch's {@code [out, in]}. A matrix that matches no such
 * pattern, or two matrices that claim one name, fail the load with a message naming them.
 *
 * <p>Dynamically quantized files (onnxruntime's {@code quantize_dynamic}, as all-MiniLM-L6-v2-q)
 * store a weight {@code X} as 8-bit {@code X_quantized} with {@code X_scale} and
 * {@code X_zero_point}: embeddings per tensor, read through {@code DequantizeLinear}; matrices
 * per output column, read by {@code MatMulInteger} whose output passes {@code Cast} and
 * {@code Mul} (by the scales) before the bias {@code Add}. They are dequantized to fp32 as
 * {@code (q - zero_point) * scale}; the runtime's dynamic quantization of activations is not
 * reproduced, so results differ from onnxruntime's by that rounding.
 */
public final class OnnxBertWeights {
  private static final Pattern LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\..*");

  private OnnxBertWeights() {
  }

  /** A weight by Hugging Face name: its torch-layout shape and row-major values. */
  public record Weight(long[] shape, float[] values) {
  }

  /**
   * The weights of {@code file} under Hugging Face names, matrices in {@code [out, in]} layout.
   *
   * @throws IllegalArgumentException naming the file and the initializer that cannot be mapped
   */
  public static Map<String, Weight> weights(OnnxModelFile file) {
    Map<String, OnnxModelFile.Initializer> inits = file.initializers();
    Map<String, List<OnnxModelFile.Node>> consumers = new HashMap<>();
    for (OnnxModelFile.Node n : file.nodes()) {
      for (String in : n.inputs()) {
        consumers.computeIfAbsent(in, k -> new java.util.ArrayList<>()).add(n);
      }
    }
    Map<String, Weight> out = new LinkedHashMap<>();
    for (OnnxModelFile.Initializer t : inits.values()) {
      if (t.name().endsWith(QUANTIZED)) {
        String base = t.name().substring(0, t.name().length() - QUANTIZED.length());
        Weight q = dequantize(file, t, base);
        put(file, out, isHfName(base) ? base : matmulWeightName(file, t, consumers), q);
        continue;
      }
      if (t.dataType() != OnnxModelFile.FLOAT || isQuantParameter(t.name(), inits)) {
        continue;
      }
      if (isHfName(t.name())) {
        put(file, out, t.name(), new Weight(t.dims().clone(), file.floats(t.name())));
        continue;
      }
      String hf = matmulWeightName(file, t, consumers);
      if (t.dims().length != 2) {
        throw new IllegalArgumentException(file.source() + ": MatMul initializer '" + t.name() + "' (" + hf
            + ") has " + t.dims().length + " dims, expected a matrix");
      }
      int rows = Math.toIntExact(t.dims()[0]);
      int cols = Math.toIntExact(t.dims()[1]);
      float[] v = file.floats(t.name());
      float[] tr = new float[v.length];
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
          tr[j * rows + i] = v[i * cols + j];
        }
      }
      put(file, out, hf, new Weight(new long[] {cols, rows}, tr));
    }
    return out;
  }

  private static final String QUANTIZED = "_quantized";

  private static boolean isQuantParameter(String name, Map<String, OnnxModelFile.Initializer> inits) {
    for (String suffix : new String[] {"_scale", "_zero_point"}) {
      if (name.endsWith(suffix)
          && inits.containsKey(name.substring(0, name.length() - suffix.length()) + QUANTIZED)) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code (q - zero_point) * scale}, per tensor (scalar scale) or per output column of an
   * {@code [in, out]} matrix, which is then transposed to {@code [out, in]}.
   */
  private static Weight dequantize(OnnxModelFile file, OnnxModelFile.Initializer t, String base) {
    float[] scale = file.floats(base + "_scale");
    int[] zero = file.ints8(base + "_zero_point");
    int[] q = file.ints8(t.name());
    long[] dims = t.dims();
    if (scale.length != zero.length) {
      throw new IllegalArgumentException(file.source() + ": " + base + "_scale has " + scale.length
          + " values but " + base + "_zero_point has " + zero.length);
    }
    if (scale.length == 1) {
      float[] v = new float[q.length];
      for (int i = 0; i < q.length; i++) {
        v[i] = (q[i] - zero[0]) * scale[0];
      }
      return new Weight(dims.clone(), v);
    }
    if (dims.length != 2 || dims[1] != scale.length) {
      throw new IllegalArgumentException(file.source() + ": " + t.name() + " has dims " + java.util.Arrays.toString(dims)
          + " but " + scale.length + " scales; expected one scale or one per output column");
    }
    int rows = Math.toIntExact(dims[0]);
    int cols = Math.toIntExact(dims[1]);
    float[] v = new float[q.length];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < cols; j++) {
        v[j * rows + i] = (q[i * cols + j] - zero[j]) * scale[j];
      }
    }
    return new Weight(new long[] {cols, rows}, v);
  }

  private static boolean isHfName(String name) {
    return name.startsWith("embeddings.") || name.startsWith("encoder.") || name.startsWith("pooler.");
  }

  private static String matmulWeightName(OnnxModelFile file, OnnxModelFile.Initializer t,
      Map<String, List<OnnxModelFile.Node>> consumers) {
    List<OnnxModelFile.Node> users = consumers.getOrDefault(t.name(), List.of());
    if (users.size() != 1 || !users.get(0).opType().startsWith("MatMul") || users.get(0).inputs().size() < 2
        || !users.get(0).inputs().get(1).equals(t.name())) {
      throw new IllegalArgumentException(file.source() + ": initializer '" + t.name() + "' is not named as in "
          + "Hugging Face BERT and is not the weight (second input) of exactly one MatMul; used by "
          + users.stream().map(n -> n.opType() + " " + n.name()).toList());
    }
    OnnxModelFile.Node matmul = users.get(0);
    String value = matmul.outputs().get(0);
    // A quantized MatMulInteger's product reaches the bias through Cast (to float) and Mul (by the scales).
    for (int hop = 0; hop < 3; hop++) {
      List<OnnxModelFile.Node> next = consumers.getOrDefault(value, List.of());
      if (next.size() == 1 && (next.get(0).opType().equals("Cast") || next.get(0).opType().equals("Mul"))) {
        value = next.get(0).outputs().get(0);
      }
    }
    for (OnnxModelFile.Node add : consumers.getOrDefault(value, List.of())) {
      if (!add.opType().equals("Add")) {
        continue;
      }
      for (String in : add.inputs()) {
        if (in.endsWith(".bias") && file.initializers().containsKey(in)) {
          return in.substring(0, in.length() - ".bias".length()) + ".weight";
        }
      }
    }
    throw new IllegalArgumentException(file.source() + ": MatMul " + matmul.name() + " (weight '" + t.name()
        + "') is not followed by an Add of a named bias, so its Hugging Face name cannot be recovered");
  }

  private static void put(OnnxModelFile file, Map<String, Weight> out, String name, Weight w) {
    if (out.put(name, w) != null) {
      throw new IllegalArgumentException(file.source() + ": two initializers map to the BERT weight " + name);
    }
  }

  /**
   * The config implied by the weights' shapes. The head count and LayerNorm epsilon are not
   * stored as weights, so the caller supplies them (from the model's config.json).
   *
   * @throws IllegalArgumentException naming the file and the weight that is missing or inconsistent
   */
  public static BertConfig config(String source, Map<String, Weight> w, int nHeads, double layerNormEps) {
    long[] word = shape(source, w, "embeddings.word_embeddings.weight", 2);
    long[] pos = shape(source, w, "embeddings.position_embeddings.weight", 2);
    long[] type = shape(source, w, "embeddings.token_type_embeddings.weight", 2);
    long[] inter = shape(source, w, "encoder.layer.0.intermediate.dense.bias", 1);
    TreeSet<Integer> layers = new TreeSet<>();
    for (String name : w.keySet()) {
      Matcher m = LAYER.matcher(name);
      if (m.matches()) {
        layers.add(Integer.parseInt(m.group(1)));
      }
    }
    if (layers.isEmpty() || layers.first() != 0 || layers.last() != layers.size() - 1) {
      throw new IllegalArgumentException(source + ": encoder layers " + layers + " are not numbered 0..n-1");
    }
    return new BertConfig(Math.toIntExact(word[0]), Math.toIntExact(pos[0]), Math.toIntExact(type[0]),
        Math.toIntExact(word[1]), layers.size(), nHeads, Math.toIntExact(inter[0]), layerNormEps);
  }

  private static long[] shape(String source, Map<String, Weight> w, String name, int rank) {
    Weight x = w.get(name);
    if (x == null || x.shape().length != rank) {
      throw new IllegalArgumentException(source + ": weight " + name + " is missing or not of rank " + rank);
    }
    return x.shape();
  }
}
