package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.core.onnx.OnnxBertWeights;
import dev.loupe.core.onnx.OnnxModelFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The BERT sentence encoders shipped as ONNX files and tokenizer.json files in the langchain4j
 * embedding jars on the classpath, loaded as {@link BertModel}s: {@code bge-small-en} and
 * {@code bge-small-en-v1.5} (fp32; sentence embedding = L2-normalised [CLS] hidden state) and
 * {@code all-minilm-l6-v2-q} (int8 weights dequantized to fp32; sentence embedding = L2-normalised
 * mean of the hidden states).
 */
public final class EncoderModels {
  /** {@code bge-small-en-v1.5}. */
  public static final String BGE_SMALL_EN_V15 = "bge-small-en-v1.5";
  /** {@code bge-small-en}. */
  public static final String BGE_SMALL_EN = "bge-small-en";
  /** {@code all-minilm-l6-v2-q}: sentence-transformers all-MiniLM-L6-v2, dynamically quantized to int8. */
  public static final String ALL_MINILM_L6_V2_Q = "all-minilm-l6-v2-q";
  private static final java.util.List<String> NAMES = java.util.List.of(BGE_SMALL_EN, BGE_SMALL_EN_V15,
      ALL_MINILM_L6_V2_Q);
  // Not recoverable from the weights' shapes: all three config.json files say 12 heads and eps 1e-12, and the
  // graphs agree (Reshape to [b, s, 12, 32], scores divided by sqrt(32), LayerNorm adds 1e-12).
  private static final int HEADS = 12;
  private static final double LAYER_NORM_EPS = 1e-12;

  private EncoderModels() {
  }

  /** The encoder names this class resolves. */
  public static java.util.List<String> names() {
    return NAMES;
  }

  /** Resolves {@code bge-small-en}, {@code bge-small-en-v1.5} and {@code all-minilm-l6-v2-q}. */
  public static ModelResolver resolver() {
    return new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return NAMES.contains(ref);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        if (!handles(ref)) {
          throw new IllegalArgumentException("model reference '" + ref + "' is not one of " + describe());
        }
        return EncoderModels.load(ref, parent);
      }

      @Override
      public String describe() {
        return BGE_SMALL_EN + " | " + BGE_SMALL_EN_V15 + " | " + ALL_MINILM_L6_V2_Q
            + " (BERT sentence encoders, d_model 384)";
      }
    };
  }

  /**
   * Loads {@code name} (one of the {@link #resolver()} names) from the classpath.
   *
   * @throws IllegalArgumentException naming the resource when it is not on the classpath or malformed
   */
  public static LoadedModel load(String name, NDManager parent) {
    byte[] onnx = resource("/" + name + ".onnx");
    String json = new String(resource("/" + name + "-tokenizer.json"), StandardCharsets.UTF_8);
    OnnxModelFile file = OnnxModelFile.parse(onnx, "classpath:" + name + ".onnx");
    Map<String, OnnxBertWeights.Weight> w = OnnxBertWeights.weights(file);
    BertConfig config = OnnxBertWeights.config(file.source(), w, HEADS, LAYER_NORM_EPS);
    BertModel model;
    try (NDManager staging = parent.newSubManager()) {
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      for (Map.Entry<String, OnnxBertWeights.Weight> e : w.entrySet()) {
        if (e.getKey().startsWith("pooler.")) {
          continue;
        }
        arrays.put(e.getKey(), staging.create(e.getValue().values(), new Shape(e.getValue().shape())));
      }
      model = BertModel.fromWeights(config, arrays, parent);
    }
    HfTokenizer tokenizer;
    try {
      tokenizer = HfTokenizer.fromJson(json, "classpath:" + name + "-tokenizer.json", true);
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
    return new LoadedModel(name, model, tokenizer);
  }

  private static byte[] resource(String path) {
    try (InputStream in = EncoderModels.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalArgumentException("classpath resource " + path + " is missing; expected the langchain4j "
            + "embeddings jar that ships it (dev.langchain4j:langchain4j-embeddings-*)");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read classpath resource " + path + ": " + e.getMessage(), e);
    }
  }
}
