package dev.loupe.samples.lens;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A stand-in for a model session, enough for the logit lens: {@code unembed} is a fixed random
 * matrix W {@code [d_model, vocab]} (no norm), so a test can compute the expected logits itself.
 * A plugin's tests cannot open a real model (that is the host's job); a small fake of the SDK
 * interface is the usual way. Forward passes are not needed and throw.
 */
final class FakeCausalModel implements ModelSession {
  private final ModelInfo info;
  private final float[] w;

  FakeCausalModel(String id, int layers, int dModel, int vocab, boolean causal, long seed) {
    List<String> hooks = new ArrayList<>();
    Map<String, Integer> widths = new LinkedHashMap<>();
    for (int l = 0; l < layers; l++) {
      for (String h : List.of("hook_resid_pre", "hook_resid_post")) {
        hooks.add("blocks." + l + "." + h);
        widths.put("blocks." + l + "." + h, dModel);
      }
      hooks.add("blocks." + l + ".mlp.hook_post");
      widths.put("blocks." + l + ".mlp.hook_post", 4 * dModel);
    }
    this.info = new ModelInfo(id, causal ? "toy" : "bert", causal, layers, dModel, 1, dModel, 4 * dModel, vocab, 64,
        0, hooks, widths);
    Random r = new Random(seed);
    w = new float[dModel * vocab];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) r.nextGaussian();
    }
  }

  /** The logits the fake gives a residual row, computed in double: row . W. */
  double[] logits(float[] row) {
    int d = info.dModel();
    int v = info.vocabSize();
    double[] out = new double[v];
    for (int t = 0; t < v; t++) {
      for (int k = 0; k < d; k++) {
        out[t] += (double) row[k] * w[k * v + t];
      }
    }
    return out;
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public NDArray unembed(NDArray residual) {
    if (!info.causal()) {
      throw new UnsupportedOperationException("an encoder has no unembedding");
    }
    NDArray wt = residual.getManager().create(w, new Shape(info.dModel(), info.vocabSize()));
    return residual.matMul(wt);
  }

  @Override
  public String tokenText(int tokenId) {
    return "t" + tokenId;
  }

  @Override
  public String decode(int[] tokenIds) {
    StringBuilder s = new StringBuilder();
    for (int t : tokenIds) {
      s.append(tokenText(t)).append(' ');
    }
    return s.toString().trim();
  }

  @Override
  public int[] encode(String text) {
    throw new UnsupportedOperationException();
  }

  @Override
  public RunResult run(int[][] tokens, Set<String> capture) {
    throw new UnsupportedOperationException();
  }

  @Override
  public Trace trace(int[][] tokens) {
    throw new UnsupportedOperationException();
  }
}
