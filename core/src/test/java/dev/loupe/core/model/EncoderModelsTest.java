package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.loupe.core.onnx.OnnxModelFile;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EncoderModelsTest {
  private static NDManager manager;
  private static LoadedModel bge;

  @BeforeAll
  static void load() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    bge = ModelRegistry.withDefaults().load(EncoderModels.BGE_SMALL_EN_V15, manager);
  }

  @AfterAll
  static void close() {
    bge.close();
    manager.close();
  }

  private static float[] lastHidden(int[][] tokens, int batchIndex, int position) {
    try (NDManager out = manager.newSubManager()) {
      ForwardResult r = bge.model().forward(tokens, ForwardHooks.none(), out);
      return r.logits().get(new NDIndex("{}, {}, :", batchIndex, position)).toFloatArray();
    }
  }

  private static double[] sentenceEmbedding(NDArray hidden, int b) {
    float[] cls = hidden.get(new NDIndex("{}, 0, :", b)).toFloatArray();
    double norm = 0;
    for (float v : cls) {
      norm += v * v;
    }
    double[] e = new double[cls.length];
    for (int i = 0; i < cls.length; i++) {
      e[i] = cls[i] / Math.sqrt(norm);
    }
    return e;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  @Test
  void theConfigIsRecoveredFromTheOnnxInitializers() {
    BertConfig c = ((BertModel) bge.model()).config();

    assertThat(c).isEqualTo(new BertConfig(30522, 512, 2, 384, 12, 12, 1536, 1e-12));
    assertThat(bge.model().causal()).isFalse();
    assertThat(bge.model().parameterCount()).isEqualTo(33_212_160L);
  }

  @Test
  void theTokenizerWrapsTextInClsAndSep() {
    int[] ids = bge.tokenizer().encode("A cat sits on the mat.");

    assertThat(ids[0]).isEqualTo(101);
    assertThat(ids[ids.length - 1]).isEqualTo(102);
    assertThat(bge.tokenizer().decode(ids)).isEqualTo("[CLS] a cat sits on the mat. [SEP]");
  }

  @Test
  void clsEmbeddingsOfParaphrasesAreCloserThanOfUnrelatedSentences() {
    Tokenizer t = bge.tokenizer();
    int[][] batch = {t.encode("A cat sits on the mat."), t.encode("There is a cat on the mat."),
        t.encode("Stock markets fell sharply today.")};
    try (NDManager out = manager.newSubManager()) {
      NDArray hidden = bge.model().forward(batch, ForwardHooks.none(), out).logits();
      double[] a = sentenceEmbedding(hidden, 0);
      double[] b = sentenceEmbedding(hidden, 1);
      double[] c = sentenceEmbedding(hidden, 2);
      double paraphrase = dot(a, b);
      double unrelated = dot(a, c);
      System.out.printf("bge-small-en-v1.5 cosine: paraphrase %.4f, unrelated %.4f%n", paraphrase, unrelated);

      assertThat(paraphrase).isGreaterThan(unrelated + 0.1);
    }
  }

  @Test
  void matchesAnIndependentDoublePrecisionBertOnTheOnnxMatricesNamedByTheirMatMulNodes() throws IOException {
    OnnxModelFile file;
    try (InputStream in = EncoderModelsTest.class.getResourceAsStream("/bge-small-en-v1.5.onnx")) {
      file = OnnxModelFile.parse(in.readAllBytes(), "bge-small-en-v1.5.onnx");
    }
    int[] ids = bge.tokenizer().encode("Loupe reads the weights itself.");
    double[][] expected = ReferenceBert.lastHiddenState(file, ids, 12, 1e-12);

    double worst = 0;
    for (int pos = 0; pos < ids.length; pos++) {
      float[] actual = lastHidden(new int[][] {ids}, 0, pos);
      for (int i = 0; i < actual.length; i++) {
        worst = Math.max(worst, Math.abs(actual[i] - expected[pos][i]));
        assertThat((double) actual[i]).as("hidden[%d][%d]", pos, i)
            .isCloseTo(expected[pos][i], org.assertj.core.data.Offset.offset(1e-4));
      }
    }
    System.out.printf("bge-small-en-v1.5 vs double-precision reference: max |diff| %.2e over %d tokens%n", worst,
        ids.length);
  }

  @Test
  void paddingDoesNotChangeTheHiddenStatesOfTheRealTokens() {
    int[] shortSeq = bge.tokenizer().encode("Short one.");
    int[] longSeq = bge.tokenizer().encode("A considerably longer sentence that forces padding of the short one.");
    try (NDManager out = manager.newSubManager()) {
      NDArray alone = bge.model().forward(new int[][] {shortSeq}, ForwardHooks.none(), out).logits();
      NDArray padded = bge.model().forward(new int[][] {longSeq, shortSeq}, ForwardHooks.none(), out).logits();
      NDArray real = padded.get(new NDIndex("1, :{}, :", shortSeq.length));

      assertThat(real.sub(alone.get(0)).abs().max().getFloat()).isLessThan(1e-4f);
    }
  }

  @Test
  void hooksSatisfyThePostLayerNormResidualIdentities() {
    int[][] tokens = {bge.tokenizer().encode("Hooks in an encoder.")};
    Set<String> names = Set.of("blocks.3.hook_resid_pre", "blocks.3.hook_attn_out", "blocks.3.hook_resid_mid",
        "blocks.3.ln1.hook_normalized", "blocks.3.hook_mlp_out", "blocks.3.hook_resid_post",
        "blocks.3.ln2.hook_normalized", "blocks.4.hook_resid_pre", "blocks.11.ln2.hook_normalized");
    try (NDManager out = manager.newSubManager()) {
      ForwardResult r = bge.model().forward(tokens, ForwardHooks.capturing(names), out);
      Map<String, NDArray> h = r.captured();

      assertThat(maxDiff(h.get("blocks.3.hook_resid_pre").add(h.get("blocks.3.hook_attn_out")),
          h.get("blocks.3.hook_resid_mid"))).isLessThan(1e-5f);
      assertThat(maxDiff(h.get("blocks.3.ln1.hook_normalized").add(h.get("blocks.3.hook_mlp_out")),
          h.get("blocks.3.hook_resid_post"))).isLessThan(1e-5f);
      assertThat(maxDiff(h.get("blocks.3.ln2.hook_normalized"), h.get("blocks.4.hook_resid_pre"))).isZero();
      assertThat(maxDiff(h.get("blocks.11.ln2.hook_normalized"), r.logits())).isZero();
    }
  }

  @Test
  void aHookThatZeroesTheMlpOutputChangesTheResidual() {
    int[][] tokens = {bge.tokenizer().encode("Patch me.")};
    try (NDManager out = manager.newSubManager()) {
      ForwardHooks hooks = new ForwardHooks().add("blocks.5.hook_mlp_out", (x, name) -> x.zerosLike())
          .capture("blocks.5.hook_resid_post").capture("blocks.5.ln1.hook_normalized");
      Map<String, NDArray> h = bge.model().forward(tokens, hooks, out).captured();

      assertThat(maxDiff(h.get("blocks.5.hook_resid_post"), h.get("blocks.5.ln1.hook_normalized"))).isZero();
    }
  }

  @Test
  void bertHasNoFinalLayerNormHookAndNoUnembedding() {
    assertThat(bge.model().hookNames()).doesNotContain("ln_final.hook_normalized").contains("hook_pos_embed");
    assertThatThrownBy(() -> bge.model().validateHooks(ForwardHooks.capturing(Set.of("ln_final.hook_normalized"))))
        .hasMessageContaining("no ln_final");
    assertThatThrownBy(() -> bge.model().unembed(manager.zeros(new ai.djl.ndarray.types.Shape(384))))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void bgeSmallEnV1LoadsAndEmbedsToo() {
    try (NDManager own = manager.newSubManager(); LoadedModel v1 = EncoderModels.load(EncoderModels.BGE_SMALL_EN, own)) {
      int[][] batch = {v1.tokenizer().encode("A cat sits on the mat."),
          v1.tokenizer().encode("There is a cat on the mat."), v1.tokenizer().encode("Stock markets fell sharply today.")};
      NDArray hidden = v1.model().forward(batch, ForwardHooks.none(), own).logits();
      double paraphrase = dot(sentenceEmbedding(hidden, 0), sentenceEmbedding(hidden, 1));
      double unrelated = dot(sentenceEmbedding(hidden, 0), sentenceEmbedding(hidden, 2));
      System.out.printf("bge-small-en cosine: paraphrase %.4f, unrelated %.4f%n", paraphrase, unrelated);

      assertThat(paraphrase).isGreaterThan(unrelated);
    }
  }

  @Test
  void theInt8MiniLmDequantizesToAnEncoderWhoseMeanPooledEmbeddingsSeparateParaphrases() {
    try (NDManager own = manager.newSubManager();
        LoadedModel mini = EncoderModels.load(EncoderModels.ALL_MINILM_L6_V2_Q, own)) {
      Tokenizer t = mini.tokenizer();
      int[][] batch = {t.encode("A cat sits on the mat."), t.encode("There is a cat on the mat."),
          t.encode("Stock markets fell sharply today.")};
      NDArray hidden = mini.model().forward(batch, ForwardHooks.none(), own).logits();
      double[] a = meanEmbedding(hidden, 0, batch[0].length);
      double[] b = meanEmbedding(hidden, 1, batch[1].length);
      double[] c = meanEmbedding(hidden, 2, batch[2].length);
      double paraphrase = dot(a, b);
      double unrelated = dot(a, c);
      System.out.printf("all-minilm-l6-v2-q cosine: paraphrase %.4f, unrelated %.4f%n", paraphrase, unrelated);

      assertThat(((BertModel) mini.model()).config()).isEqualTo(new BertConfig(30522, 512, 2, 384, 6, 12, 1536, 1e-12));
      assertThat(paraphrase).isGreaterThan(unrelated + 0.1);
    }
  }

  private static double[] meanEmbedding(NDArray hidden, int b, int length) {
    float[] mean = hidden.get(new NDIndex("{}, :{}, :", b, length)).mean(new int[] {0}).toFloatArray();
    double norm = 0;
    for (float v : mean) {
      norm += v * v;
    }
    double[] e = new double[mean.length];
    for (int i = 0; i < mean.length; i++) {
      e[i] = mean[i] / Math.sqrt(norm);
    }
    return e;
  }

  private static float maxDiff(NDArray a, NDArray b) {
    return a.sub(b).abs().max().getFloat();
  }

  /** A plain double-precision BERT over the ONNX file's own [in, out] matrices, named by MatMul node paths. */
  static final class ReferenceBert {
    private final Map<String, double[]> w = new HashMap<>();
    private final OnnxModelFile file;

    private ReferenceBert(OnnxModelFile file) {
      this.file = file;
      for (OnnxModelFile.Node n : file.nodes()) {
        // "/encoder/layer.3/attention/self/query/MatMul" -> "encoder.layer.3.attention.self.query"
        if (n.opType().equals("MatMul") && file.initializers().containsKey(n.inputs().get(1))) {
          String path = n.name().substring(1, n.name().length() - "/MatMul".length()).replace('/', '.');
          w.put(path + ".io", toDouble(file.floats(n.inputs().get(1))));
        }
      }
    }

    private double[] get(String name) {
      return w.computeIfAbsent(name, k -> toDouble(file.floats(k)));
    }

    private static double[] toDouble(float[] f) {
      double[] d = new double[f.length];
      for (int i = 0; i < f.length; i++) {
        d[i] = f[i];
      }
      return d;
    }

    static double[][] lastHiddenState(OnnxModelFile file, int[] ids, int heads, double eps) {
      ReferenceBert r = new ReferenceBert(file);
      int d = 384;
      int n = ids.length;
      double[] word = r.get("embeddings.word_embeddings.weight");
      double[] pos = r.get("embeddings.position_embeddings.weight");
      double[] type = r.get("embeddings.token_type_embeddings.weight");
      double[][] x = new double[n][d];
      for (int t = 0; t < n; t++) {
        for (int i = 0; i < d; i++) {
          x[t][i] = word[ids[t] * d + i] + pos[t * d + i] + type[i];
        }
        x[t] = r.layerNorm(x[t], "embeddings.LayerNorm", eps);
      }
      for (int l = 0; l < 12; l++) {
        String p = "encoder.layer." + l + ".";
        double[][] q = r.linear(x, p + "attention.self.query");
        double[][] k = r.linear(x, p + "attention.self.key");
        double[][] v = r.linear(x, p + "attention.self.value");
        int dh = d / heads;
        double[][] z = new double[n][d];
        for (int h = 0; h < heads; h++) {
          for (int i = 0; i < n; i++) {
            double[] s = new double[n];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
              for (int c = 0; c < dh; c++) {
                s[j] += q[i][h * dh + c] * k[j][h * dh + c];
              }
              s[j] /= Math.sqrt(dh);
              max = Math.max(max, s[j]);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
              s[j] = Math.exp(s[j] - max);
              sum += s[j];
            }
            for (int j = 0; j < n; j++) {
              for (int c = 0; c < dh; c++) {
                z[i][h * dh + c] += s[j] / sum * v[j][h * dh + c];
              }
            }
          }
        }
        double[][] attn = r.linear(z, p + "attention.output.dense");
        double[][] mid = new double[n][];
        for (int t = 0; t < n; t++) {
          double[] sum = new double[d];
          for (int i = 0; i < d; i++) {
            sum[i] = x[t][i] + attn[t][i];
          }
          mid[t] = r.layerNorm(sum, p + "attention.output.LayerNorm", eps);
        }
        double[][] inter = r.linear(mid, p + "intermediate.dense");
        for (double[] row : inter) {
          for (int i = 0; i < row.length; i++) {
            row[i] = 0.5 * row[i] * (1 + erf(row[i] / Math.sqrt(2)));
          }
        }
        double[][] mlp = r.linear(inter, p + "output.dense");
        for (int t = 0; t < n; t++) {
          double[] sum = new double[d];
          for (int i = 0; i < d; i++) {
            sum[i] = mid[t][i] + mlp[t][i];
          }
          x[t] = r.layerNorm(sum, p + "output.LayerNorm", eps);
        }
      }
      return x;
    }

    private double[][] linear(double[][] x, String prefix) {
      double[] m = get(prefix + ".io");
      double[] b = get(prefix + ".bias");
      int in = x[0].length;
      int outW = b.length;
      double[][] y = new double[x.length][outW];
      for (int t = 0; t < x.length; t++) {
        for (int o = 0; o < outW; o++) {
          double s = b[o];
          for (int i = 0; i < in; i++) {
            s += x[t][i] * m[i * outW + o];
          }
          y[t][o] = s;
        }
      }
      return y;
    }

    private double[] layerNorm(double[] x, String prefix, double eps) {
      double[] g = get(prefix + ".weight");
      double[] b = get(prefix + ".bias");
      double mean = 0;
      for (double v : x) {
        mean += v;
      }
      mean /= x.length;
      double var = 0;
      for (double v : x) {
        var += (v - mean) * (v - mean);
      }
      var /= x.length;
      double[] y = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        y[i] = (x[i] - mean) / Math.sqrt(var + eps) * g[i] + b[i];
      }
      return y;
    }

    /** erf to about 1e-15 by its Maclaurin series near 0 and the continued-fraction erfc beyond. */
    static double erf(double x) {
      double ax = Math.abs(x);
      if (ax < 2.5) {
        double term = ax;
        double sum = ax;
        for (int k = 1; k < 100; k++) {
          term *= -ax * ax / k;
          double add = term / (2 * k + 1);
          sum += add;
          if (Math.abs(add) < 1e-17) {
            break;
          }
        }
        return Math.copySign(2 / Math.sqrt(Math.PI) * sum, x);
      }
      // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated backwards.
      double f = ax;
      for (int k = 60; k >= 1; k--) {
        f = ax + k / 2.0 / f;
      }
      double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
      return Math.copySign(1 - erfc, x);
    }
  }
}
