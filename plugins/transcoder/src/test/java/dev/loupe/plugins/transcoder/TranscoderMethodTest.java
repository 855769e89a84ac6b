package dev.loupe.plugins.transcoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import dev.loupe.sdk.testing.TestJobContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code transcoder} method end to end on a synthetic "MLP": sparse features with one
 * direction in the input space and another in the output space, plus a dense linear part that
 * only the skip connection can carry.
 */
class TranscoderMethodTest {
  private static final int D_IN = 32;
  private static final int D_OUT = 16;
  private static final int FEATURES = 32;
  private static final int EVAL_ROWS = 512;

  @TempDir
  Path dir;

  /** Input and output directions per feature, and a dense linear map input -> output. */
  private static final class PlantedMlp {
    final float[] in = new float[FEATURES * D_IN];
    final float[] out = new float[FEATURES * D_OUT];
    final float[] linear = new float[D_IN * D_OUT];
    final long seed;

    PlantedMlp(long seed) {
      this.seed = seed;
      SplittableRandom r = new SplittableRandom(seed);
      unitRows(r, in, FEATURES, D_IN);
      unitRows(r, out, FEATURES, D_OUT);
      for (int i = 0; i < linear.length; i++) {
        linear[i] = (float) (gaussian(r) * 0.3);
      }
    }

    private static double gaussian(SplittableRandom r) {
      return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    private static void unitRows(SplittableRandom r, float[] m, int rows, int d) {
      for (int f = 0; f < rows; f++) {
        double sq = 0;
        for (int i = 0; i < d; i++) {
          m[f * d + i] = (float) gaussian(r);
          sq += m[f * d + i] * m[f * d + i];
        }
        for (int i = 0; i < d; i++) {
          m[f * d + i] /= (float) Math.sqrt(sq);
        }
      }
    }

    /** Input rows and target rows on the same tokens, with or without the dense linear part. */
    ActivationSource[] sources(int rows, boolean dense) {
      List<ActivationBatch> a = new ArrayList<>();
      List<ActivationBatch> b = new ArrayList<>();
      SplittableRandom r = new SplittableRandom(seed + 1);
      for (int start = 0; start < rows; start += 1000) {
        int n = Math.min(1000, rows - start);
        float[] x = new float[n * D_IN];
        float[] y = new float[n * D_OUT];
        int[] tok = new int[n];
        int[] doc = new int[n];
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
          int row = start + i;
          tok[i] = row % 97;
          doc[i] = row / 64;
          pos[i] = row % 64;
          for (int f = 0; f < FEATURES; f++) {
            if (r.nextDouble() < 3.0 / FEATURES) {
              float mag = (float) (0.5 + r.nextDouble());
              for (int k = 0; k < D_IN; k++) {
                x[i * D_IN + k] += mag * in[f * D_IN + k];
              }
              for (int k = 0; k < D_OUT; k++) {
                y[i * D_OUT + k] += mag * out[f * D_OUT + k];
              }
            }
          }
          if (dense) {
            for (int k = 0; k < D_IN; k++) {
              x[i * D_IN + k] += (float) (0.1 * gaussian(r));
            }
            for (int o = 0; o < D_OUT; o++) {
              double v = 0;
              for (int k = 0; k < D_IN; k++) {
                v += x[i * D_IN + k] * linear[k * D_OUT + o];
              }
              y[i * D_OUT + o] += (float) v;
            }
          }
        }
        a.add(new ActivationBatch("m", "blocks.1.ln2.hook_normalized", a.size(), n, D_IN, x, tok, doc, pos, null));
        b.add(new ActivationBatch("m", "blocks.1.hook_mlp_out", b.size(), n, D_OUT, y, tok.clone(), doc.clone(),
            pos.clone(), null));
      }
      return new ActivationSource[] {ActivationSources.fromBatches(a), ActivationSources.fromBatches(b)};
    }

    /** Mean over planted features of the best cosine between its output direction and a decoder row. */
    double outputRecovery(float[] wDec, int dSae) {
      double total = 0;
      for (int f = 0; f < FEATURES; f++) {
        double best = -1;
        for (int j = 0; j < dSae; j++) {
          double dot = 0;
          double n = 0;
          for (int k = 0; k < D_OUT; k++) {
            dot += wDec[j * D_OUT + k] * out[f * D_OUT + k];
            n += (double) wDec[j * D_OUT + k] * wDec[j * D_OUT + k];
          }
          best = Math.max(best, n > 0 ? dot / Math.sqrt(n) : -1);
        }
        total += best;
      }
      return total / FEATURES;
    }
  }

  private static Map<String, Object> config(int steps, boolean skip) {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("activation", "topk");
    cfg.put("k", 4);
    cfg.put("d_sae", 96);
    cfg.put("lr", 3e-3);
    cfg.put("k_aux", 16);
    cfg.put("dead_window", 5000);
    cfg.put("batch_size", 256);
    cfg.put("eval_rows", EVAL_ROWS);
    cfg.put("eval_every", 500);
    cfg.put("checkpoint_every", 0);
    cfg.put("max_tokens", (long) steps * 256);
    cfg.put("lr_decay_steps", 300);
    cfg.put("skip", skip);
    cfg.put("top_examples", 3);
    return cfg;
  }

  private TestJobContext context(String name, Map<String, Object> cfg, ActivationSource[] in) {
    return TestJobContext.builder(new TranscoderMethod(), dir.resolve(name)).config(cfg)
        .input(TranscoderMethod.INPUT, in[0]).input(TranscoderMethod.TARGET, in[1]).build();
  }

  @Test
  void recoversThePlantedOutputDirectionsAndPredictsHeldOutOutputs() throws Exception {
    PlantedMlp mlp = new PlantedMlp(1);
    TestJobContext ctx = context("plain", config(1500, false), mlp.sources(EVAL_ROWS + 1500 * 256, false));
    new TranscoderMethod().run(ctx);

    Map<String, Object> summary = ctx.resultMap("summary");
    assertThat((Double) summary.get("eval_fve")).isGreaterThan(0.9);
    assertThat(summary).containsEntry("d_in", D_IN).containsEntry("d_out", D_OUT).containsEntry("skip", false);
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(m, ctx.artifactDir().resolve("transcoder"));
      assertThat(loaded.coder().layout().kind()).isEqualTo("transcoder");
      assertThat(loaded.info().hookName()).isEqualTo("blocks.1.ln2.hook_normalized");
      assertThat(loaded.info().hookNameOut()).isEqualTo("blocks.1.hook_mlp_out");
      assertThat(mlp.outputRecovery(loaded.coder().weights(SparseCoder.W_DEC), 96)).isGreaterThanOrEqualTo(0.9);
    }
    // no model session here: the MLP-replaced evaluation says why it was skipped
    assertThat((Map<String, Object>) summary.get("splice")).containsKey("skipped");
    assertThat(Files.readString(ctx.artifactDir().resolve("report.md"))).contains("MLP replaced");
  }

  @Test
  void theSkipConnectionCarriesADenseLinearPartThatLatentsCannot() throws Exception {
    PlantedMlp mlp = new PlantedMlp(2);
    TestJobContext without = context("noskip", config(1500, false), mlp.sources(EVAL_ROWS + 1500 * 256, true));
    new TranscoderMethod().run(without);
    TestJobContext with = context("skip", config(1500, true), mlp.sources(EVAL_ROWS + 1500 * 256, true));
    new TranscoderMethod().run(with);

    double fveWithout = (Double) without.resultMap("summary").get("eval_fve");
    double fveWith = (Double) with.resultMap("summary").get("eval_fve");
    assertThat(fveWith).isGreaterThan(0.95).isGreaterThan(fveWithout + 0.02);
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(m, with.artifactDir().resolve("transcoder"));
      assertThat(loaded.coder().layout().kind()).isEqualTo("skip_transcoder");
    }
  }

  @Test
  void bothInputsAreRequiredByName() {
    TestJobContext ctx = TestJobContext.builder(new TranscoderMethod(), dir.resolve("one")).config(config(10, false))
        .input("main", new PlantedMlp(3).sources(2000, false)[0]).build();
    assertThatThrownBy(() -> new TranscoderMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'input'").hasMessageContaining("'target'").hasMessageContaining("[main]");
  }

  @Test
  void anUpstreamThatIsNotACoderDirectoryIsRefusedBeforeTraining() {
    Map<String, Object> cfg = config(10, false);
    cfg.put("upstream", dir.resolve("nowhere").toString());
    TestJobContext ctx = context("upstream", cfg, new PlantedMlp(4).sources(EVAL_ROWS + 2560, false));
    assertThatThrownBy(() -> new TranscoderMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("config upstream").hasMessageContaining("not a transcoder directory");
  }
}
