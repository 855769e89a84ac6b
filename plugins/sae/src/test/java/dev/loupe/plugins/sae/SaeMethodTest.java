package dev.loupe.plugins.sae;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.sparse.SparseActivation;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import dev.loupe.sdk.testing.TestJobContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** The {@code sae} method end to end over synthetic activations with planted sparse features. */
class SaeMethodTest {
  private static final int D_IN = 32;
  private static final int FEATURES = 64;
  private static final int BATCH = 256;
  private static final int EVAL_ROWS = 512;

  @TempDir
  Path dir;

  private static PlantedData data(long seed) {
    return new PlantedData(D_IN, FEATURES, 3.0 / FEATURES, seed);
  }

  /** A small TopK config: d_sae = 4 x 32 = 128, k = 4. */
  private static Map<String, Object> topK(int steps) {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("activation", "topk");
    cfg.put("expansion", 4);
    cfg.put("k", 4);
    cfg.put("lr", 3e-3);
    cfg.put("k_aux", 16);
    cfg.put("dead_window", 5000);
    cfg.put("batch_size", BATCH);
    cfg.put("eval_rows", EVAL_ROWS);
    cfg.put("eval_every", 100);
    cfg.put("checkpoint_every", 0);
    cfg.put("max_tokens", (long) steps * BATCH);
    cfg.put("top_examples", 5);
    cfg.put("context_tokens", 4);
    return cfg;
  }

  private TestJobContext context(String name, Map<String, Object> cfg, PlantedData.Source source, boolean resuming) {
    return context(name, cfg, source, resuming, Long.MAX_VALUE);
  }

  /** A job in {@code dir/name}; it turns cancelled once progress reaches {@code cancelAtStep}. */
  private TestJobContext context(String name, Map<String, Object> cfg, PlantedData.Source source, boolean resuming,
      long cancelAtStep) {
    return TestJobContext.builder(new SaeMethod(), dir.resolve(name)).config(cfg).input("main", source)
        .resuming(resuming).cancelAt(cancelAtStep).build();
  }

  private static List<Long> steps(TestJobContext ctx) {
    return ctx.metricRows().stream().map(Map.Entry::getKey).toList();
  }

  private static float[] decoder(Path coderDir) throws Exception {
    try (NDManager m = NDManager.newBaseManager()) {
      return SparseCoderFiles.load(m, coderDir).coder().weights(SparseCoder.W_DEC);
    }
  }

  @Test
  void topKRecoversPlantedFeaturesAndExplainsHeldOutVariance() throws Exception {
    PlantedData data = data(2);
    Map<String, Object> cfg = topK(1500);
    cfg.put("lr_decay_steps", 300);
    TestJobContext ctx = context("recover", cfg, data.source(EVAL_ROWS + 1500L * BATCH, 1000, 64), false);

    new SaeMethod().run(ctx);

    float[] wDec = decoder(ctx.artifactDir().resolve("sae"));
    assertThat(data.meanMaxCosine(wDec, 128)).isGreaterThanOrEqualTo(0.9);
    Map<String, Object> summary = ctx.resultMap("summary");
    assertThat(summary.get("steps")).isEqualTo(1500L);
    assertThat((Double) summary.get("eval_fve")).isGreaterThan(0.8);
    assertThat((Double) summary.get("eval_l0")).isLessThanOrEqualTo(4.0);
    assertThat(ctx.metricRows()).anySatisfy(row -> assertThat(row.getValue()).containsKeys("eval_fve", "eval_l0", "eval_mse"));
    assertThat(Files.readString(ctx.artifactDir().resolve("report.md"))).contains("eval_fve")
        .contains("![feature density](plots/density.png)").contains("(plots/loss.png)");
    for (String plot : List.of("loss", "fve", "l0", "dead_fraction", "density", "decoder_norms")) {
      java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(ctx.artifactDir().resolve("plots/" + plot + ".png")
          .toFile());
      assertThat(png).as(plot + ".png").isNotNull();
      assertThat(png.getWidth()).isPositive();
      assertThat(Files.readString(ctx.artifactDir().resolve("plots/" + plot + ".svg"))).contains("<svg");
    }
  }

  @Test
  void featuresListTopExamplesWithTheirTokensAndPrecedingContext() throws Exception {
    PlantedData data = data(3);
    TestJobContext ctx = context("features", topK(100), data.source(EVAL_ROWS + 100L * BATCH, 1000, 64), false);

    new SaeMethod().run(ctx);

    List<Map<String, Object>> features = ctx.resultList("features");
    assertThat(features).hasSize(128);
    Map<String, Object> busiest = features.stream()
        .max((a, b) -> Double.compare((Double) a.get("density"), (Double) b.get("density"))).orElseThrow();
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> top = (List<Map<String, Object>>) busiest.get("top");
    assertThat(top).hasSize(5);
    assertThat((Double) top.get(0).get("activation")).isGreaterThanOrEqualTo((Double) top.get(4).get("activation"));
    for (Map<String, Object> ex : top) {
      // token id = row index and every example comes from the held-out rows
      int token = (Integer) ex.get("token");
      assertThat(token).isLessThan(EVAL_ROWS);
      assertThat(ex.get("doc")).isEqualTo(token / 64);
      int position = (Integer) ex.get("position");
      int[] context = (int[]) ex.get("context");
      assertThat(context).hasSize(Math.min(4, position));
      for (int i = 0; i < context.length; i++) {
        assertThat(context[i]).isEqualTo(token - context.length + i);
      }
      // the window runs over the held-out rows around the example, within its document
      @SuppressWarnings("unchecked")
      Map<String, Object> window = (Map<String, Object>) ex.get("window");
      int[] tokens = (int[]) window.get("tokens");
      float[] activations = (float[]) window.get("activations");
      int focus = (Integer) window.get("focus");
      assertThat(tokens[focus]).isEqualTo(token);
      assertThat(activations).hasSameSizeAs(tokens);
      assertThat((double) activations[focus]).isCloseTo((Double) ex.get("activation"), within(1e-5));
      int firstInDoc = token / 64 * 64;
      int lastInDoc = Math.min(firstInDoc + 63, EVAL_ROWS - 1);
      assertThat(focus).isEqualTo(Math.min(4, token - firstInDoc));
      assertThat(tokens.length - 1 - focus).isEqualTo(Math.min(4, lastInDoc - token));
      for (int i = 0; i < tokens.length; i++) {
        assertThat(tokens[i]).isEqualTo(token - focus + i);
      }
    }
    // the activation histogram counts every firing on the held-out rows, up to the maximum
    @SuppressWarnings("unchecked")
    Map<String, Object> histogram = (Map<String, Object>) busiest.get("histogram");
    long firings = java.util.Arrays.stream((long[]) histogram.get("counts")).sum();
    assertThat(firings).isEqualTo(Math.round((Double) busiest.get("density") * EVAL_ROWS));
    assertThat((Double) histogram.get("max")).isEqualTo((Double) busiest.get("max_activation"))
        .isEqualTo((Double) top.get(0).get("activation"));
  }

  @Test
  void heldOutRowsAreNeverTrainedOn() throws Exception {
    // Held-out rows lie along dimension 0 only, which no training row touches: a coder that never
    // saw them cannot reconstruct them, one that trained on them would.
    PlantedData data = new PlantedData(D_IN, FEATURES, 3.0 / FEATURES, 4);
    PlantedData.RowFiller filler = (random, x, r, index) -> {
      if (index < EVAL_ROWS) {
        x[r * D_IN] = (float) (1 + 2 * random.nextDouble());
      } else {
        data.row(random, x, r);
        x[r * D_IN] = 0;
      }
      return true;
    };
    Map<String, Object> cfg = topK(300);
    TestJobContext ctx = context("heldout", cfg, data.source(EVAL_ROWS + 300L * BATCH, 1000, 64, i -> false, filler),
        false);

    new SaeMethod().run(ctx);

    Map<String, Object> summary = ctx.resultMap("summary");
    assertThat((Double) summary.get("eval_fve")).isLessThan(0.1);
    assertThat(summary.get("tokens")).isEqualTo(300L * BATCH);
    assertThat(summary.get("eval_rows")).isEqualTo(EVAL_ROWS);
    assertThat((Double) summary.get("final_train_fve")).isGreaterThan(0.5);
  }

  @Test
  void rowsWithNaNAreSkippedAndCounted() throws Exception {
    PlantedData data = data(5);
    // every 7th row of the held-out region and every 50th row after it holds a NaN
    java.util.function.IntPredicate nan = i -> i < EVAL_ROWS ? i % 7 == 0 : i % 50 == 0;
    long rows = EVAL_ROWS + 40L * BATCH;
    Map<String, Object> cfg = topK(0);
    cfg.put("max_tokens", 0);
    TestJobContext ctx = context("nan", cfg, data.source(rows, 1000, 64, nan, null), false);

    new SaeMethod().run(ctx);

    long heldNan = java.util.stream.LongStream.range(0, EVAL_ROWS).filter(i -> nan.test((int) i)).count();
    long trainNan = java.util.stream.LongStream.range(EVAL_ROWS, rows).filter(i -> nan.test((int) i)).count();
    Map<String, Object> summary = ctx.resultMap("summary");
    assertThat(summary.get("skipped_rows")).isEqualTo(trainNan);
    assertThat(summary.get("eval_skipped_rows")).isEqualTo(heldNan);
    assertThat(summary.get("eval_rows")).isEqualTo((int) (EVAL_ROWS - heldNan));
    assertThat(summary.get("tokens")).isEqualTo(40L * BATCH - trainNan);
    assertThat((Double) summary.get("eval_fve")).isFinite();
    for (float w : decoder(ctx.artifactDir().resolve("sae"))) {
      assertThat(w).isFinite();
    }
  }

  @Test
  void resumingAfterAStopContinuesTheStepCountAndEndsWithTheSameWeights() throws Exception {
    PlantedData data = data(6);
    long rows = EVAL_ROWS + 20L * 64;
    Map<String, Object> cfg = topK(20);
    cfg.put("batch_size", 64);
    cfg.put("max_tokens", 0);
    cfg.put("checkpoint_every", 5);
    cfg.put("metrics_every", 1);
    cfg.put("eval_every", 0);

    TestJobContext whole = context("whole", cfg, data.source(rows, 100, 64), false);
    new SaeMethod().run(whole);

    TestJobContext first = context("stopped", cfg, data.source(rows, 100, 64), false, 12);
    assertThatThrownBy(() -> new SaeMethod().run(first)).isInstanceOf(CancellationException.class);
    assertThat(steps(first)).last().isEqualTo(12L);
    TestJobContext second = context("stopped", cfg, data.source(rows, 100, 64), true);
    new SaeMethod().run(second);

    // the checkpoint was taken at step 10, so the resumed run's first step is the 11th
    assertThat(steps(second).get(0)).isEqualTo(11L);
    float[] expected = decoder(whole.artifactDir().resolve("sae"));
    float[] resumed = decoder(second.artifactDir().resolve("sae"));
    assertThat(resumed).containsExactly(expected, org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(second.resultMap("summary").get("steps")).isEqualTo(20L);
    assertThat(second.resultMap("summary").get("tokens")).isEqualTo(whole.resultMap("summary").get("tokens"));
  }

  @Test
  void aRunStoppedInItsSecondEpochResumesToTheSameWeights() throws Exception {
    PlantedData data = data(10);
    long rows = EVAL_ROWS + 10L * 64;
    Map<String, Object> cfg = topK(0);
    cfg.put("batch_size", 64);
    cfg.put("max_tokens", 0);
    cfg.put("epochs", 3);
    cfg.put("checkpoint_every", 4);
    cfg.put("metrics_every", 1);

    TestJobContext whole = context("whole3", cfg, data.source(rows, 100, 64), false);
    new SaeMethod().run(whole);
    TestJobContext first = context("stopped3", cfg, data.source(rows, 100, 64), false, 14);
    assertThatThrownBy(() -> new SaeMethod().run(first)).isInstanceOf(CancellationException.class);
    TestJobContext second = context("stopped3", cfg, data.source(rows, 100, 64), true);
    new SaeMethod().run(second);

    assertThat(decoder(second.artifactDir().resolve("sae")))
        .containsExactly(decoder(whole.artifactDir().resolve("sae")), org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(steps(second).get(0)).isEqualTo(13L);
    assertThat(whole.resultMap("summary").get("steps")).isEqualTo(30L);
    assertThat(whole.resultMap("summary").get("tokens")).isEqualTo(3 * 10L * 64);
  }

  @Test
  void savedCoderLoadsInTheSaeLensLayout() throws Exception {
    PlantedData data = data(7);
    TestJobContext ctx = context("saved", topK(20), data.source(EVAL_ROWS + 20L * BATCH, 1000, 64), false);

    new SaeMethod().run(ctx);

    Path coderDir = ctx.artifactDir().resolve("sae");
    assertThat(coderDir.resolve(SparseCoderFiles.CFG)).isRegularFile();
    assertThat(coderDir.resolve(SparseCoderFiles.WEIGHTS)).isRegularFile();
    assertThat(coderDir.resolve(SparseCoderFiles.SPARSITY)).isRegularFile();
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoderFiles.Loaded loaded = SparseCoderFiles.load(m, coderDir);
      assertThat(loaded.coder().dIn()).isEqualTo(D_IN);
      assertThat(loaded.coder().dSae()).isEqualTo(128);
      assertThat(loaded.coder().activation()).isEqualTo(new SparseActivation.TopK(4));
      assertThat(loaded.info().hookName()).isEqualTo("blocks.0.hook_resid_post");
      assertThat(loaded.info().modelName()).isEqualTo("planted");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"relu", "batchtopk", "jumprelu"})
  void everyActivationTrainsAndSavesALoadableCoder(String activation) throws Exception {
    Map<String, Object> cfg = topK(60);
    cfg.put("activation", activation);
    cfg.put("target_l0", 4.0);
    cfg.put("l1", 1.0);
    TestJobContext ctx = context(activation, cfg, data(11).source(EVAL_ROWS + 60L * BATCH, 1000, 64), false);

    new SaeMethod().run(ctx);

    assertThat((Double) ctx.resultMap("summary").get("eval_fve")).isGreaterThan(0.0);
    assertThat(ctx.resultMap("summary").get("activation")).isEqualTo(activation);
    try (NDManager m = NDManager.newBaseManager()) {
      assertThat(SparseCoderFiles.load(m, ctx.artifactDir().resolve("sae")).coder().activation().name())
          .isEqualTo(activation);
    }
  }

  @Test
  void kAboveTheNumberOfLatentsIsRejectedNamingBoth() throws Exception {
    Map<String, Object> cfg = topK(10);
    cfg.put("k", 200);
    TestJobContext ctx = context("badk", cfg, data(8).source(EVAL_ROWS + 10L * BATCH, 1000, 64), false);

    assertThatThrownBy(() -> new SaeMethod().run(ctx))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("k = 200")
        .hasMessageContaining("d_sae = expansion 4 x d_in 32 = 128");
  }

  @Test
  void anInputNoLongerThanTheHeldOutRowsIsRejected() throws Exception {
    TestJobContext ctx = context("short", topK(10), data(9).source(EVAL_ROWS - 1, 1000, 64), false);

    assertThatThrownBy(() -> new SaeMethod().run(ctx))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("eval_rows = " + EVAL_ROWS);
  }
}
