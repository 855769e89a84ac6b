package dev.loupe.samples.lens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.testing.TestJobContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The method end to end without a host: {@link TestJobContext} supplies the inputs and a
 * {@link FakeCausalModel} as their model session, and every number of the summary is checked
 * against a direct computation in double over the same rows.
 */
class LogitLensMethodTest {
  private static final int LAYERS = 3;
  private static final int D = 4;
  private static final int VOCAB = 7;
  private static final int ROWS = 50;
  private static final int BATCH = 9; // does not divide ROWS, nor the chunk size below

  @TempDir
  Path dir;

  private final FakeCausalModel model = new FakeCausalModel("fake", LAYERS, D, VOCAB, true, 3);

  // Row metadata shared by every layer: two documents, the second split into two windows.
  private static final int[] TOKENS = new int[ROWS];
  private static final int[] DOCS = new int[ROWS];
  private static final int[] POSITIONS = new int[ROWS];

  static {
    Random r = new Random(5);
    for (int i = 0; i < ROWS; i++) {
      TOKENS[i] = r.nextInt(VOCAB);
      DOCS[i] = i < 20 ? 0 : 1;
      POSITIONS[i] = i < 20 ? i : i < 35 ? i - 20 : i + 5; // 0..14, then 40..54: another window
    }
  }

  /** Deterministic residual rows of one layer, [ROWS, width]. */
  private static float[] residuals(int layer, int width) {
    Random r = new Random(100 + layer);
    float[] v = new float[ROWS * width];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (2 * r.nextGaussian());
    }
    return v;
  }

  private static ActivationSource source(String hook, float[] values, int width) {
    List<ActivationBatch> batches = new ArrayList<>();
    for (int from = 0; from < ROWS; from += BATCH) {
      int to = Math.min(ROWS, from + BATCH);
      batches.add(new ActivationBatch("fake", hook, 0, to - from, width,
          java.util.Arrays.copyOfRange(values, from * width, to * width),
          java.util.Arrays.copyOfRange(TOKENS, from, to), java.util.Arrays.copyOfRange(DOCS, from, to),
          java.util.Arrays.copyOfRange(POSITIONS, from, to), null));
    }
    return ActivationSources.fromBatches(batches);
  }

  /** A job over layers 0..LAYERS-1 at hook_resid_post, every input with the fake model as its session. */
  private TestJobContext.Builder job(Map<String, ?> config) {
    return job(dir, config);
  }

  private TestJobContext.Builder job(Path where, Map<String, ?> config) {
    TestJobContext.Builder b = TestJobContext.builder(new LogitLensMethod(), where).config(config);
    for (int l = 0; l < LAYERS; l++) {
      b.input("l" + l, source("blocks." + l + ".hook_resid_post", residuals(l, D), D)).model("l" + l, model);
    }
    return b;
  }

  /** The expected numbers of one layer, computed directly in double. */
  private record Expected(double agreement, double kl, double accuracy, double rank, double loss, long withNext) {
  }

  private Expected expected(int layer) {
    float[] lens = residuals(layer, D);
    float[] fin = residuals(LAYERS - 1, D);
    double agree = 0;
    double kl = 0;
    double correct = 0;
    double rank = 0;
    double loss = 0;
    long withNext = 0;
    for (int i = 0; i < ROWS; i++) {
      double[] lp = logSoftmax(model.logits(java.util.Arrays.copyOfRange(lens, i * D, (i + 1) * D)));
      double[] fp = logSoftmax(model.logits(java.util.Arrays.copyOfRange(fin, i * D, (i + 1) * D)));
      int top = argmax(lp);
      agree += top == argmax(fp) ? 1 : 0;
      for (int t = 0; t < VOCAB; t++) {
        kl += Math.exp(fp[t]) * (fp[t] - lp[t]);
      }
      boolean hasNext = i + 1 < ROWS && DOCS[i + 1] == DOCS[i] && POSITIONS[i + 1] == POSITIONS[i] + 1;
      if (hasNext) {
        int next = TOKENS[i + 1];
        withNext++;
        correct += top == next ? 1 : 0;
        int above = 0;
        for (int t = 0; t < VOCAB; t++) {
          above += lp[t] > lp[next] ? 1 : 0;
        }
        rank += 1 + above;
        loss -= lp[next];
      }
    }
    return new Expected(agree / ROWS, kl / ROWS, correct / withNext, rank / withNext, loss / withNext, withNext);
  }

  private static double[] logSoftmax(double[] x) {
    double max = java.util.Arrays.stream(x).max().orElseThrow();
    double sum = 0;
    for (double v : x) {
      sum += Math.exp(v - max);
    }
    double log = max + Math.log(sum);
    return java.util.Arrays.stream(x).map(v -> v - log).toArray();
  }

  private static int argmax(double[] x) {
    int best = 0;
    for (int i = 1; i < x.length; i++) {
      best = x[i] > x[best] ? i : best;
    }
    return best;
  }

  @Test
  void everyLayerIsMeasuredAgainstTheModelsPredictionAndTheNextToken() throws Exception {
    TestJobContext ctx = job(Map.of("chunk_rows", 4, "examples", 5)).build();

    new LogitLensMethod().run(ctx);

    Map<String, Object> summary = ctx.resultMap("summary");
    assertThat(summary).containsEntry("model", "fake").containsEntry("rows", 50L).containsEntry("final_input", "l2");
    // document 0 (20 rows) and the two windows of document 1 (15 each) each end without a next token
    assertThat(summary).containsEntry("rows_with_next", 47L);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> layers = (List<Map<String, Object>>) summary.get("layers");
    assertThat(layers).extracting(m -> m.get("hook"))
        .containsExactly("blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "blocks.2.hook_resid_post");
    for (int l = 0; l < LAYERS; l++) {
      Expected e = expected(l);
      Map<String, Object> got = layers.get(l);
      assertThat(got.get("rows_with_next")).isEqualTo(e.withNext());
      assertThat((Double) got.get("top1_agreement")).as("layer %d agreement", l).isCloseTo(e.agreement(), within(1e-12));
      assertThat((Double) got.get("kl_mean")).as("layer %d KL", l).isCloseTo(e.kl(), within(1e-4));
      assertThat((Double) got.get("accuracy")).as("layer %d accuracy", l).isCloseTo(e.accuracy(), within(1e-12));
      assertThat((Double) got.get("mean_rank")).as("layer %d rank", l).isCloseTo(e.rank(), within(1e-12));
      assertThat((Double) got.get("loss")).as("layer %d loss", l).isCloseTo(e.loss(), within(1e-4));
    }
    // the last layer is the model: it agrees with itself everywhere, at no divergence
    assertThat((Double) layers.get(2).get("top1_agreement")).isEqualTo(1.0);
    assertThat((Double) layers.get(2).get("kl_mean")).isCloseTo(0.0, within(1e-9));
    assertThat((Double) layers.get(0).get("kl_mean")).isPositive();

    assertThat(ctx.lastMetric("agreement_l0")).isCloseTo(expected(0).agreement(), within(1e-12));
    assertThat(ctx.lastMetric("kl_l2")).isCloseTo(0.0, within(1e-9));
  }

  @Test
  void examplesShowEachLayersTopTokenOnRowsThatHaveANextToken() throws Exception {
    TestJobContext ctx = job(Map.of("examples", 5, "context_tokens", 3)).build();

    new LogitLensMethod().run(ctx);

    @SuppressWarnings("unchecked")
    List<Map<String, Object>> examples = (List<Map<String, Object>>) ctx.resultMap("summary").get("examples");
    assertThat(examples).hasSize(5);
    for (Map<String, Object> e : examples) {
      int row = ((Long) e.get("row")).intValue();
      assertThat(e.get("doc")).isEqualTo(DOCS[row]);
      assertThat(e.get("position")).isEqualTo(POSITIONS[row]);
      assertThat(e.get("next")).isEqualTo("t" + TOKENS[row + 1]);
      // up to three tokens ending with the row's own, never reaching back past the window's start
      String context = (String) e.get("context");
      assertThat(context).endsWith("t" + TOKENS[row]);
      assertThat(context.split(" ")).hasSizeBetween(1, 3);
      @SuppressWarnings("unchecked")
      Map<String, String> lens = (Map<String, String>) e.get("lens_top1");
      assertThat(lens).containsOnlyKeys("l0", "l1", "l2");
      assertThat(lens.get("l2")).isEqualTo(e.get("final_top1"));
    }
    // the same seed picks the same rows
    TestJobContext again = job(dir.resolve("again"), Map.of("examples", 5, "context_tokens", 3)).build();
    new LogitLensMethod().run(again);
    assertThat(again.resultMap("summary").get("examples")).isEqualTo(examples);
  }

  @Test
  void theReportHasARowPerLayerAndTheExamples() throws Exception {
    TestJobContext ctx = job(Map.of("examples", 3)).build();

    new LogitLensMethod().run(ctx);

    String md = Files.readString(ctx.artifactDir().resolve("report.md"));
    assertThat(md).startsWith("# Logit lens: fake").contains("50 rows (47 followed by their next token");
    assertThat(md).contains("| l0 | `blocks.0.hook_resid_post` | ").contains("| l2 | `blocks.2.hook_resid_post` | 1.000 `"
        + "█".repeat(16) + "`");
    assertThat(md).contains("## Examples").contains("| text | next | l0 | l1 | l2 (model) |");
    assertThat(md.lines().filter(l -> l.startsWith("| `t"))).hasSize(3);
  }

  @Test
  void oneInputAtTheLastLayerIsReadWithoutAlignment() throws Exception {
    TestJobContext ctx = TestJobContext.builder(new LogitLensMethod(), dir).config(Map.of())
        .input("main", source("blocks.2.hook_resid_post", residuals(2, D), D)).model("main", model).build();

    new LogitLensMethod().run(ctx);

    @SuppressWarnings("unchecked")
    Map<String, Object> only = ((List<Map<String, Object>>) ctx.resultMap("summary").get("layers")).get(0);
    assertThat((Double) only.get("accuracy")).isCloseTo(expected(2).accuracy(), within(1e-12));
  }

  @Test
  void maxTokensStopsEarly() throws Exception {
    TestJobContext ctx = job(Map.of("max_tokens", 20)).build();

    new LogitLensMethod().run(ctx);

    // the 20th row is the last of document 0 anyway; rows 0..18 have their next token
    assertThat(ctx.resultMap("summary")).containsEntry("rows", 20L).containsEntry("rows_with_next", 19L);
  }

  @Test
  void anInputWithoutAModelSessionIsRefusedSayingToUseAModelInput() {
    TestJobContext ctx = TestJobContext.builder(new LogitLensMethod(), dir).config(Map.of())
        .input("l2", source("blocks.2.hook_resid_post", residuals(2, D), D)).build();

    assertThatThrownBy(() -> new LogitLensMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("input 'l2' (blocks.2.hook_resid_post) comes with no model session")
        .hasMessageContaining("`model:` input");
  }

  @Test
  void anEncoderIsRefusedForHavingNoUnembedding() {
    FakeCausalModel bert = new FakeCausalModel("bge-small-en", LAYERS, D, VOCAB, false, 3);
    TestJobContext ctx = TestJobContext.builder(new LogitLensMethod(), dir).config(Map.of())
        .input("l2", source("blocks.2.hook_resid_post", residuals(2, D), D)).model("l2", bert).build();

    assertThatThrownBy(() -> new LogitLensMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("model 'bge-small-en' (bert) is an encoder with no unembedding");
  }

  @Test
  void anInputOfAnotherWidthThanDModelIsRefused() {
    TestJobContext ctx = job(Map.of())
        .input("mlp", source("blocks.1.mlp.hook_post", residuals(9, 4 * D), 4 * D)).model("mlp", model).build();

    assertThatThrownBy(() -> new LogitLensMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("input 'mlp' (blocks.1.mlp.hook_post) has width 16")
        .hasMessageContaining("d_model = 4");
  }

  @Test
  void theLastLayerMustBeAmongTheInputs() {
    TestJobContext ctx = TestJobContext.builder(new LogitLensMethod(), dir).config(Map.of())
        .input("l0", source("blocks.0.hook_resid_post", residuals(0, D), D)).model("l0", model)
        .input("l1", source("blocks.1.hook_resid_post", residuals(1, D), D)).model("l1", model).build();

    assertThatThrownBy(() -> new LogitLensMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no input reads blocks.2.hook_resid_post, the last layer of fake (3 layers)");
  }

  @Test
  void inputsFromTwoModelsAreRefused() {
    FakeCausalModel other = new FakeCausalModel("other", LAYERS, D, VOCAB, true, 4);
    TestJobContext ctx = TestJobContext.builder(new LogitLensMethod(), dir).config(Map.of())
        .input("a", source("blocks.2.hook_resid_post", residuals(2, D), D)).model("a", model)
        .input("b", source("blocks.2.hook_resid_post", residuals(2, D), D)).model("b", other).build();

    assertThatThrownBy(() -> new LogitLensMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("come from different models (fake and other)");
  }
}
