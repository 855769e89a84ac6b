package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import java.util.HashMap;
import java.util.Map;

/**
 * GPT-2 written out with plain loops in double precision, one sequence at a time, straight from
 * the Hugging Face weight layout: the yardstick the NDArray implementation is checked against.
 */
public final class ReferenceGpt2 {
  private final Gpt2Config c;
  private final Map<String, float[]> w = new HashMap<>();

  public ReferenceGpt2(Gpt2Model model) {
    this.c = model.config();
    for (Map.Entry<String, NDArray> e : model.weights().entrySet()) {
      w.put(e.getKey(), e.getValue().toFloatArray());
    }
  }

  /** Logits [pos][vocab]; when {@code zeroMlpLayer >= 0} that block's MLP output is replaced by zeros. */
  public double[][] logits(int[] tokens, int zeroMlpLayer) {
    int s = tokens.length;
    int d = c.nEmbd();
    double[][] x = new double[s][d];
    float[] wte = w.get("wte.weight");
    float[] wpe = w.get("wpe.weight");
    for (int i = 0; i < s; i++) {
      for (int j = 0; j < d; j++) {
        x[i][j] = wte[tokens[i] * d + j] + wpe[i * d + j];
      }
    }
    for (int l = 0; l < c.nLayer(); l++) {
      String p = "h." + l + ".";
      double[][] h = layerNorm(x, p + "ln_1");
      double[][] qkv = linear(h, p + "attn.c_attn", 3 * d);
      double[][] z = attention(qkv);
      double[][] attn = linear(z, p + "attn.c_proj", d);
      add(x, attn);
      double[][] h2 = layerNorm(x, p + "ln_2");
      double[][] pre = linear(h2, p + "mlp.c_fc", c.nInner());
      for (double[] row : pre) {
        for (int j = 0; j < row.length; j++) {
          double v = row[j];
          row[j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
        }
      }
      double[][] mlp = linear(pre, p + "mlp.c_proj", d);
      if (l != zeroMlpLayer) {
        add(x, mlp);
      }
    }
    double[][] f = layerNorm(x, "ln_f");
    double[][] logits = new double[s][c.vocabSize()];
    for (int i = 0; i < s; i++) {
      for (int v = 0; v < c.vocabSize(); v++) {
        double acc = 0;
        for (int j = 0; j < d; j++) {
          acc += f[i][j] * wte[v * d + j];
        }
        logits[i][v] = acc;
      }
    }
    return logits;
  }

  private double[][] attention(double[][] qkv) {
    int s = qkv.length;
    int d = c.nEmbd();
    int dh = c.dHead();
    double[][] z = new double[s][d];
    for (int head = 0; head < c.nHead(); head++) {
      int qo = head * dh;
      int ko = d + head * dh;
      int vo = 2 * d + head * dh;
      for (int i = 0; i < s; i++) {
        double[] sc = new double[i + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
          double dot = 0;
          for (int t = 0; t < dh; t++) {
            dot += qkv[i][qo + t] * qkv[j][ko + t];
          }
          sc[j] = dot / Math.sqrt(dh);
          max = Math.max(max, sc[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) {
          sc[j] = Math.exp(sc[j] - max);
          sum += sc[j];
        }
        for (int j = 0; j <= i; j++) {
          for (int t = 0; t < dh; t++) {
            z[i][head * dh + t] += sc[j] / sum * qkv[j][vo + t];
          }
        }
      }
    }
    return z;
  }

  private double[][] linear(double[][] x, String prefix, int out) {
    float[] wt = w.get(prefix + ".weight");
    float[] b = w.get(prefix + ".bias");
    int in = x[0].length;
    double[][] y = new double[x.length][out];
    for (int i = 0; i < x.length; i++) {
      for (int o = 0; o < out; o++) {
        double acc = b[o];
        for (int k = 0; k < in; k++) {
          acc += x[i][k] * wt[k * out + o];
        }
        y[i][o] = acc;
      }
    }
    return y;
  }

  private double[][] layerNorm(double[][] x, String prefix) {
    float[] g = w.get(prefix + ".weight");
    float[] b = w.get(prefix + ".bias");
    double[][] y = new double[x.length][];
    for (int i = 0; i < x.length; i++) {
      double mean = 0;
      for (double v : x[i]) {
        mean += v;
      }
      mean /= x[i].length;
      double var = 0;
      for (double v : x[i]) {
        var += (v - mean) * (v - mean);
      }
      var /= x[i].length;
      double inv = 1 / Math.sqrt(var + c.layerNormEpsilon());
      y[i] = new double[x[i].length];
      for (int j = 0; j < x[i].length; j++) {
        y[i][j] = (x[i][j] - mean) * inv * g[j] + b[j];
      }
    }
    return y;
  }

  private static void add(double[][] x, double[][] y) {
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < x[i].length; j++) {
        x[i][j] += y[i][j];
      }
    }
  }

  /** Asserts float logits [pos*vocab] equal expected [pos][vocab] within tol. */
  public static void assertClose(float[] actual, double[][] expected, double tol) {
    int vocab = expected[0].length;
    assertThat(actual).hasSize(expected.length * vocab);
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      for (int v = 0; v < vocab; v++) {
        worst = Math.max(worst, Math.abs(actual[i * vocab + v] - expected[i][v]));
      }
    }
    assertThat(worst).as("largest absolute difference").isLessThan(tol);
  }
}
