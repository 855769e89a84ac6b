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
 * The BGE small English sentence encoders ({@code bge-small-en}, {@code bge-small-en-v1.5}),
 * loaded as {@link BertModel}s from the ONNX files and tokenizer.json files that the
 * langchain4j embedding jars put on the classpath. Their sentence embedding is the L2-normalised
 * last hidden state of the [CLS] token.
 */
public final class BgeModels {
  /** {@code bge-small-en-v1.5}. */
  public static final String BGE_SMALL_EN_V15 = "bge-small-en-v1.5";
  /** {@code bge-small-en}. */
  public static final String BGE_SMALL_EN = "bge-small-en";
  // Not recoverable from the weights' shapes; both models' config.json say 12 heads, eps 1e-12.
  private static final int HEADS = 12;
  private static final double LAYER_NORM_EPS = 1e-12;

  private BgeModels() {
  }

  /** Resolves {@code bge-small-en} and {@code bge-small-en-v1.5}. */
  public static ModelResolver resolver() {
    return new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return BGE_SMALL_EN_V15.equals(ref) || BGE_SMALL_EN.equals(ref);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        if (!handles(ref)) {
          throw new IllegalArgumentException("model reference '" + ref + "' is not one of " + describe());
        }
        return BgeModels.load(ref, parent);
      }

      @Override
      public String describe() {
        return BGE_SMALL_EN + " | " + BGE_SMALL_EN_V15 + " (BERT sentence encoders, 12 layers, d_model 384)";
      }
    };
  }

  /**
   * Loads {@code name} ({@code bge-small-en} or {@code bge-small-en-v1.5}) from the classpath.
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
    try (InputStream in = BgeModels.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalArgumentException("classpath resource " + path + " is missing; expected the langchain4j "
            + "embeddings jar that ships it (dev.langchain4j:langchain4j-embeddings-bge-small-en*)");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read classpath resource " + path + ": " + e.getMessage(), e);
    }
  }
}
