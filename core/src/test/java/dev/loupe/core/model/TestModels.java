package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Models for tests: small, and with non-trivial biases and LayerNorm weights so that every weight matters. */
public final class TestModels {
  private TestModels() {
  }

  /** A 2-layer GPT-2 (d_model 32, 4 heads, context 16, byte vocabulary). */
  public static Gpt2Config smallConfig() {
    return Gpt2Config.of(256, 16, 32, 2, 4);
  }

  /** Every weight random: matrices N(0, 0.1), biases N(0, 0.1), LayerNorm weights 1 + N(0, 0.1). */
  public static Gpt2Model randomAffine(Gpt2Config config, long seed, NDManager parent) {
    Random r = new Random(seed);
    Map<String, NDArray> w = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : Gpt2Model.weightShapes(config).entrySet()) {
      float[] v = new float[(int) e.getValue().size()];
      boolean lnWeight = e.getKey().contains("ln_") && e.getKey().endsWith(".weight");
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) ((lnWeight ? 1 : 0) + 0.1 * r.nextGaussian());
      }
      w.put(e.getKey(), parent.create(v, e.getValue()));
    }
    return Gpt2Model.fromWeights(config, w, parent);
  }

  /** A 2-layer Llama with grouped-query attention (d_model 32, 4 heads, 2 kv heads, MLP 48, context 32). */
  public static LlamaConfig smallLlamaConfig() {
    return LlamaConfig.llama(256, 32, 32, 48, 2, 4, 2);
  }

  /** Every weight random: matrices and biases N(0, 0.15), RMSNorm weights 1 + N(0, 0.15). */
  public static LlamaModel randomAffineLlama(LlamaConfig config, long seed, NDManager parent) {
    Random r = new Random(seed);
    Map<String, NDArray> w = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : LlamaModel.weightShapes(config).entrySet()) {
      float[] v = new float[(int) e.getValue().size()];
      boolean normWeight = e.getKey().endsWith("norm.weight");
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) ((normWeight ? 1 : 0) + 0.15 * r.nextGaussian());
      }
      w.put(e.getKey(), parent.create(v, e.getValue()));
    }
    return LlamaModel.fromWeights(config, w, parent);
  }
}
