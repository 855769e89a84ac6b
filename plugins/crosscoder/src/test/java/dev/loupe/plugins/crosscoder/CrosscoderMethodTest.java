package dev.loupe.plugins.crosscoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSourceException;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.sparse.CrosscoderDiff;
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
 * The {@code crosscoder} method end to end on two synthetic "models" over the same tokens: planted
 * features shared by both, exclusive to the base, or exclusive to the fine-tune.
 */
class CrosscoderMethodTest {
  private static final int D = 16;
  private static final int SHARED = 24;
  private static final int ONLY_BASE = 8;
  private static final int ONLY_FT = 8;
  private static final int FEATURES = SHARED + ONLY_BASE + ONLY_FT;
  private static final int ROWS = 512 + 1500 * 256;

  @TempDir
  Path dir;

  /** Unit directions per planted feature in each model (null where the model lacks it). */
  private static final class Planted {
    final float[][] base = new float[FEATURES][];
    final float[][] ft = new float[FEATURES][];
    final long seed;

    Planted(long seed) {
      this.seed = seed;
      SplittableRandom r = new SplittableRandom(seed);
      for (int f = 0; f < FEATURES; f++) {
        float[] u = new float[D];
        double sq = 0;
        for (int i = 0; i < D; i++) {
          u[i] = (float) (Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble()));
          sq += u[i] * u[i];
        }
        for (int i = 0; i < D; i++) {
          u[i] /= (float) Math.sqrt(sq);
        }
        base[f] = f < SHARED + ONLY_BASE ? u : null;
        ft[f] = f < SHARED || f >= SHARED + ONLY_BASE ? u : null;
      }
    }

    CrosscoderDiff.Category truth(int f) {
      return f < SHARED ? CrosscoderDiff.Category.SHARED
          : f < SHARED + ONLY_BASE ? CrosscoderDiff.Category.A_ONLY : CrosscoderDiff.Category.B_ONLY;
    }

    /** The two models' activations on the same rows (documents of 64 tokens), as two sources. */
    ActivationSource[] sources(int rows, int batchRows, int ftWidth) {
      List<ActivationBatch> a = new ArrayList<>();
      List<ActivationBatch> b = new ArrayList<>();
      SplittableRandom r = new SplittableRandom(seed + 1);
      for (int start = 0; start < rows; start += batchRows) {
        int n = Math.min(batchRows, rows - start);
        float[] xa = new float[n * D];
        float[] xb = new float[n * ftWidth];
        int[] tok = new int[n];
        int[] doc = new int[n];
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
          int row = start + i;
          tok[i] = row % 251;
          doc[i] = row / 64;
          pos[i] = row % 64;
          for (int f = 0; f < FEATURES; f++) {
            if (r.nextDouble() < 2.0 / FEATURES) {
              float mag = (float) (0.5 + r.nextDouble());
              for (int k = 0; k < D; k++) {
                if (base[f] != null) {
                  xa[i * D + k] += mag * base[f][k];
                }
                if (ft[f] != null && k < ftWidth) {
                  xb[i * ftWidth + k] += 2 * mag * ft[f][k];
                }
              }
            }
          }
        }
        a.add(new ActivationBatch("base-model", "blocks.1.hook_resid_post", a.size(), n, D, xa, tok, doc, pos, null));
        b.add(new ActivationBatch("ft-model", "blocks.1.hook_resid_post", b.size(), n, ftWidth, xb, tok.clone(),
            doc.clone(), pos.clone(), null));
      }
      return new ActivationSource[] {ActivationSources.fromBatches(a), ActivationSources.fromBatches(b)};
    }
  }

  private static Map<String, Object> config() {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("activation", "batchtopk");
    cfg.put("d_sae", 96);
    cfg.put("k", 3);
    cfg.put("lr", 3e-3);
    cfg.put("aux_coefficient", 0.0);
    cfg.put("batch_size", 256);
    cfg.put("eval_rows", 512);
    cfg.put("eval_every", 500);
    cfg.put("checkpoint_every", 0);
    cfg.put("lr_decay_steps", 300);
    cfg.put("top_examples", 3);
    return cfg;
  }

  private TestJobContext context(String name, Map<String, Object> cfg, ActivationSource[] in) {
    return TestJobContext.builder(new CrosscoderMethod(), dir.resolve(name)).config(cfg)
        .input("base", in[0]).input("finetuned", in[1]).build();
  }

  @Test
  @SuppressWarnings("unchecked")
  void classifiesPlantedSharedAndExclusiveFeaturesAndReportsTheDiff() throws Exception {
    Planted p = new Planted(1);
    TestJobContext ctx = context("ok", config(), p.sources(ROWS, 1000, D));
    new CrosscoderMethod().run(ctx);

    Map<String, Object> summary = ctx.resultMap("summary");
    Map<String, Object> perSource = (Map<String, Object>) summary.get("eval_fve_per_source");
    assertThat((Double) perSource.get("base")).isGreaterThan(0.8);
    assertThat((Double) perSource.get("finetuned")).isGreaterThan(0.8);
    assertThat(ctx.lastMetric("eval_fve_finetuned")).isEqualTo((Double) perSource.get("finetuned"));
    // the fine-tune's activations are twice as large: per-source scales undo that
    assertThat((List<Double>) summary.get("input_scales")).hasSize(2);

    Path coderDir = ctx.artifactDir().resolve(CrosscoderMethod.CODER_DIR);
    List<Map<String, Object>> latents = ctx.resultList("latents");
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(m, coderDir);
      SparseCoder coder = loaded.coder();
      assertThat(coder.sources()).isEqualTo(2);
      assertThat(loaded.info().sources()).containsExactly("base: base-model blocks.1.hook_resid_post",
          "finetuned: ft-model blocks.1.hook_resid_post");
      float[] w = coder.weights(SparseCoder.W_DEC);
      int correct = 0;
      for (int f = 0; f < FEATURES; f++) {
        int best = bestLatent(w, coder.dSae(), p, f);
        String category = (String) latents.get(best).get("category");
        if (category.equals(p.truth(f).name().toLowerCase())) {
          correct++;
        }
      }
      assertThat((double) correct / FEATURES).isGreaterThanOrEqualTo(0.9);
    }
    Map<String, Object> diff = (Map<String, Object>) summary.get("diff");
    Map<String, Object> counts = (Map<String, Object>) diff.get("counts");
    assertThat((Long) counts.get("a_only")).isGreaterThanOrEqualTo(ONLY_BASE * 9 / 10);
    assertThat((Long) counts.get("b_only")).isGreaterThanOrEqualTo(ONLY_FT * 9 / 10);
    assertThat((Long) counts.get("shared")).isGreaterThanOrEqualTo(SHARED * 9 / 10);
    long histogramTotal = java.util.Arrays.stream(
        (long[]) ((Map<String, Object>) diff.get("relative_norm_histogram")).get("counts")).sum();
    assertThat(histogramTotal).isEqualTo(96 - (Long) counts.get("never_fired") - (Long) counts.get("zero"));
    // planted exclusives are truly absent from the other model: Latent Scaling does not flag them
    Map<String, Object> ls = (Map<String, Object>) ((Map<String, Object>) diff.get("latent_scaling")).get("b_only");
    assertThat((Long) ls.get("robust_exclusive")).isGreaterThanOrEqualTo(ONLY_FT * 9 / 10);
    assertThat((Double) ls.get("median_nu_error")).isLessThan(0.2);
    String report = Files.readString(ctx.artifactDir().resolve("report.md"));
    assertThat(report).contains("base vs finetuned").contains("Latent Scaling").contains("finetuned-only latents")
        .contains("(plots/relative_norm.png)").contains("(plots/shared_cosine.png)").contains("(plots/density.png)");
    assertThat(javax.imageio.ImageIO.read(ctx.artifactDir().resolve("plots/relative_norm.png").toFile())).isNotNull();
    assertThat(ctx.resultList("features")).hasSize(96);
  }

  private static int bestLatent(float[] w, int dSae, Planted p, int f) {
    double bestCos = -2;
    int best = 0;
    for (int j = 0; j < dSae; j++) {
      double dot = 0;
      double n1 = 0;
      double n2 = 0;
      for (int i = 0; i < D; i++) {
        double ta = p.base[f] == null ? 0 : p.base[f][i];
        double tb = p.ft[f] == null ? 0 : p.ft[f][i];
        dot += w[j * 2 * D + i] * ta + w[j * 2 * D + D + i] * tb;
        n1 += (double) w[j * 2 * D + i] * w[j * 2 * D + i] + (double) w[j * 2 * D + D + i] * w[j * 2 * D + D + i];
        n2 += ta * ta + tb * tb;
      }
      double cos = n1 > 0 ? dot / Math.sqrt(n1 * n2) : -2;
      if (cos > bestCos) {
        bestCos = cos;
        best = j;
      }
    }
    return best;
  }

  @Test
  void sourcesOfDifferentWidthsAreRefusedNamingBoth() {
    TestJobContext ctx = context("width", config(), new Planted(2).sources(2000, 500, D - 4));
    assertThatThrownBy(() -> new CrosscoderMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("input 'base'").hasMessageContaining("has 16").hasMessageContaining("has 12");
  }

  @Test
  void aSingleInputIsRefused() {
    TestJobContext ctx = TestJobContext.builder(new CrosscoderMethod(), dir.resolve("one")).config(config())
        .input("main", new Planted(3).sources(2000, 500, D)[0]).build();
    assertThatThrownBy(() -> new CrosscoderMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least two inputs");
  }

  @Test
  void inputsOverDifferentTokensAreRefused() {
    ActivationSource[] a = new Planted(4).sources(2000, 500, D);
    ActivationSource[] shifted = new Planted(4).sources(2100, 500, D);
    // drop the first 100 rows of the second source: same lengths, different documents
    ActivationSource b = ActivationSources.limit(skip(shifted[1], 100), 2000);
    Map<String, Object> cfg = config();
    cfg.put("lr_decay_steps", 0);
    TestJobContext ctx = context("tokens", cfg, new ActivationSource[] {a[0], b});
    assertThatThrownBy(() -> new CrosscoderMethod().run(ctx)).isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining("disagree at row 0");
  }

  @Test
  void anUnknownSourceNameIsRefused() {
    Map<String, Object> cfg = config();
    cfg.put("finetuned", "chat");
    TestJobContext ctx = context("name", cfg, new Planted(5).sources(2000, 500, D));
    assertThatThrownBy(() -> new CrosscoderMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("finetuned = 'chat'").hasMessageContaining("[base, finetuned]");
  }

  private static ActivationSource skip(ActivationSource src, int rows) {
    List<ActivationBatch> out = new ArrayList<>();
    try (src) {
      int skipped = 0;
      for (ActivationBatch b = src.next(); b != null; b = src.next()) {
        int from = Math.min(b.rows(), Math.max(0, rows - skipped));
        skipped += b.rows();
        if (from < b.rows()) {
          out.add(b.slice(from, b.rows()));
        }
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    return ActivationSources.fromBatches(out);
  }
}
