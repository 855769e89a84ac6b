package dev.loupe.plugins.probes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.testing.TestJobContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code probes} method end to end on synthetic inputs with planted labels. */
class ProbesMethodTest {
  private static final int ROWS = 6000;
  private static final int WIDTH = 16;

  @TempDir
  Path dir;

  private static Map<String, Object> config(Object... kv) {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("datasets", List.of("planted"));
    cfg.put("max_per_class", 400);
    for (int i = 0; i < kv.length; i += 2) {
      cfg.put((String) kv[i], kv[i + 1]);
    }
    return cfg;
  }

  private static int halfAndHalf(int row) {
    return (row / 7) % 2;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> first(TestJobContext ctx, String dataset) {
    Map<String, Object> results = (Map<String, Object>) ctx.resultMap("summary").get("results");
    return ((List<Map<String, Object>>) results.get(dataset)).get(0);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> detail(TestJobContext ctx, String dataset, String input) {
    Map<String, Object> doc = ctx.resultMap(ProbesMethod.resultName(dataset));
    return (Map<String, Object>) ((Map<String, Object>) doc.get("inputs")).get(input);
  }

  @Test
  void plantedLinearlySeparableClassesGiveHighTestAccuracy() throws Exception {
    // class 1 is shifted along a direction spread over every feature: separable by a linear probe, by no single one
    ActivationSource in = Fixtures.input("blocks.1.hook_resid_post", ROWS, WIDTH, ProbesMethodTest::halfAndHalf,
        (row, label, x, r) -> {
          for (int j = 0; j < WIDTH; j++) {
            x[j] += (label == 1 ? 0.9f : -0.9f) * (j % 2 == 0 ? 1 : -1);
          }
        }, 1);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir)
        .config(config("rankings", List.of())).input("main", in)
        .dataset(Fixtures.planted("planted", List.of("no", "yes"))).build();
    new ProbesMethod().run(ctx);

    Map<String, Object> row = first(ctx, "planted");
    assertThat((double) row.get("test_accuracy")).isGreaterThan(0.97);
    assertThat((double) row.get("test_f1")).isGreaterThan(0.97);
    assertThat((double) row.get("test_mcc")).isGreaterThan(0.94);
    assertThat((double) row.get("test_auc")).isGreaterThan(0.99);
    assertThat(ctx.resultMap("summary").get("unconverged_fits")).isEqualTo(0);
    assertThat(Files.readString(ctx.artifactDir().resolve("report.md"))).contains("## planted", "| main |");
  }

  @Test
  @SuppressWarnings("unchecked")
  void threeClassesGetAMultinomialProbeWithPerClassF1() throws Exception {
    ActivationSource in = Fixtures.input("blocks.0.hook_resid_post", ROWS, WIDTH, row -> (row / 5) % 3,
        (row, label, x, r) -> x[label] += 3f, 2);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir)
        .config(config("ks", List.of(1, 2, 4))).input("main", in)
        .dataset(Fixtures.planted("planted", List.of("a", "b", "c"))).build();
    new ProbesMethod().run(ctx);

    Map<String, Object> probe = (Map<String, Object>) detail(ctx, "planted", "main").get("probe");
    assertThat(probe.get("kind")).isEqualTo("multinomial");
    assertThat((double) probe.get("test_accuracy")).isGreaterThan(0.9);
    assertThat((Map<String, Object>) probe.get("test_f1_per_class")).containsOnlyKeys("a", "b", "c");
    // the multinomial k-sparse sweep needs the three planted features: macro F1 at k = 4 beats k = 1
    Map<String, Object> sparse = (Map<String, Object>) first(ctx, "planted").get("k_sparse_test_f1");
    Map<String, Object> meanDiff = (Map<String, Object>) sparse.get("mean_diff");
    assertThat((double) meanDiff.get("4")).isGreaterThan((double) meanDiff.get("1") + 0.2);
  }

  @Test
  void datasetsWithMoreClassesThanSweepMaxClassesGetANoteInsteadOfSweeps() throws Exception {
    ActivationSource in = Fixtures.input("blocks.0.hook_resid_post", ROWS, WIDTH, row -> (row / 5) % 3,
        (row, label, x, r) -> x[label] += 3f, 2);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir)
        .config(config("sweep_max_classes", 2)).input("main", in)
        .dataset(Fixtures.planted("planted", List.of("a", "b", "c"))).build();
    new ProbesMethod().run(ctx);

    assertThat(detail(ctx, "planted", "main").get("sweeps_skipped"))
        .isEqualTo("this dataset has 3 classes, more than sweep_max_classes = 2");
    assertThat(first(ctx, "planted")).doesNotContainKey("k_sparse_test_f1");
    assertThat(Files.readString(ctx.artifactDir().resolve("report.md"))).contains("k-sparse sweeps skipped");
  }

  @Test
  @SuppressWarnings("unchecked")
  void aPlantedSingleFeatureIsRankedFirstAndOneFeatureSuffices() throws Exception {
    ActivationSource in = Fixtures.input("blocks.2.mlp.hook_post", ROWS, WIDTH, ProbesMethodTest::halfAndHalf,
        (row, label, x, r) -> x[5] += label == 1 ? 4f : 0f, 3);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir).config(config()).input("main", in)
        .dataset(Fixtures.planted("planted", List.of("no", "yes"))).build();
    new ProbesMethod().run(ctx);

    Map<String, Object> d = detail(ctx, "planted", "main");
    assertThat(((Map<String, Object>) d.get("single_feature")).get("feature")).isEqualTo(5);
    List<Map<String, Object>> sweeps = (List<Map<String, Object>>) d.get("sweeps");
    assertThat(sweeps).extracting(s -> s.get("ranking")).containsExactly("mean_diff", "f_stat", "l1");
    for (Map<String, Object> sweep : sweeps) {
      assertThat(((List<Integer>) sweep.get("order")).get(0)).as("%s", sweep.get("ranking")).isEqualTo(5);
      Map<String, Object> k1 = ((List<Map<String, Object>>) sweep.get("steps")).get(0);
      assertThat(k1.get("k")).isEqualTo(1);
      assertThat((double) k1.get("test_f1")).as("%s", sweep.get("ranking")).isGreaterThan(0.95);
    }
    // the default ks: powers of two up to the width
    assertThat(((List<Map<String, Object>>) sweeps.get(0).get("steps"))).extracting(s -> s.get("k"))
        .containsExactly(1, 2, 4, 8, 16);
  }

  @Test
  @SuppressWarnings("unchecked")
  void trainingF1NeverFallsAsKGrowsInTheOptimalRefit() throws Exception {
    // a weak signal spread thinly over many features, so every added feature matters a little
    ActivationSource in = Fixtures.input("blocks.1.hook_resid_post", ROWS, 32, ProbesMethodTest::halfAndHalf,
        (row, label, x, r) -> {
          for (int j = 0; j < 32; j++) {
            x[j] += (label == 1 ? 0.12f : -0.12f) * (1 + j % 3);
          }
        }, 4);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir)
        .config(config("ks", List.of(1, 2, 3, 4, 6, 8, 12, 16, 24, 32))).input("main", in)
        .dataset(Fixtures.planted("planted", List.of("no", "yes"))).build();
    new ProbesMethod().run(ctx);

    assertThat(ctx.resultMap("summary").get("train_f1_never_falls_with_k")).isEqualTo(true);
    for (Map<String, Object> sweep : (List<Map<String, Object>>) detail(ctx, "planted", "main").get("sweeps")) {
      double previous = 0;
      for (Map<String, Object> step : (List<Map<String, Object>>) sweep.get("steps")) {
        double f1 = (double) step.get("train_f1");
        assertThat(f1).as("%s k=%s", sweep.get("ranking"), step.get("k")).isGreaterThanOrEqualTo(previous);
        previous = f1;
      }
      assertThat(sweep.get("train_f1_never_falls")).isEqualTo(true);
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void aLayerSweepSaysWhereTheSignalIsIntroducedAndWhereItIsBoosted() throws Exception {
    // the same rows at four "layers": nothing at 0, a trace at 1, the signal at 2, a little stronger at 3
    float[] strength = {0f, 0.3f, 1.8f, 2.5f};
    TestJobContext.Builder b = TestJobContext.builder(new ProbesMethod(), dir)
        .config(config("rankings", List.of("f_stat"), "ks", List.of(1, 4), "max_per_class", 2000))
        .dataset(Fixtures.planted("planted", List.of("no", "yes")));
    for (int layer = 0; layer < 4; layer++) {
      float s = strength[layer];
      b.input("l" + layer, Fixtures.input("blocks." + layer + ".hook_resid_post", 2 * ROWS, WIDTH,
          ProbesMethodTest::halfAndHalf, (row, label, x, r) -> x[3] += label == 1 ? s : -s, 10 + layer));
    }
    TestJobContext ctx = b.build();
    new ProbesMethod().run(ctx);

    Map<String, Object> sweep = (Map<String, Object>) ((Map<String, Object>) ctx.resultMap("summary")
        .get("layer_sweep")).get("planted");
    assertThat(sweep.get("introduced")).isEqualTo("l2");
    assertThat(sweep.get("best_input")).isEqualTo("l3");
    assertThat(sweep.get("boosted")).isEqualTo(List.of("l3"));
    List<Map<String, Object>> per = (List<Map<String, Object>>) sweep.get("inputs");
    assertThat((double) per.get(0).get("test_accuracy")).isBetween(0.45, 0.55);
    assertThat(per).extracting(r -> r.get("role")).containsExactly("before", "before", "introduced", "boosted");
    assertThat((double) per.get(3).get("test_accuracy")).isGreaterThan((double) per.get(2).get("test_accuracy"));
    assertThat(per).extracting(r -> r.get("layer")).containsExactly(0, 1, 2, 3);
    // every input saw the same rows
    List<Map<String, Object>> rows = (List<Map<String, Object>>) ((Map<String, Object>) ctx.resultMap("summary")
        .get("results")).get("planted");
    assertThat(rows).extracting(r -> r.get("input")).containsExactly("l0", "l1", "l2", "l3");
  }

  @Test
  void plotsAreWrittenAsPngAndSvg() throws Exception {
    TestJobContext.Builder b = TestJobContext.builder(new ProbesMethod(), dir)
        .config(config("datasets", List.of("word:Parlement"), "ks", List.of(1, 2)))
        .dataset(Fixtures.planted("word:Parlement", List.of("elsewhere", "completes")));
    for (int layer = 0; layer < 2; layer++) {
      b.input("l" + layer, Fixtures.input("blocks." + layer + ".hook_resid_post", 3000, WIDTH,
          ProbesMethodTest::halfAndHalf, (row, label, x, r) -> x[0] += label, 20 + layer));
    }
    TestJobContext ctx = b.build();
    new ProbesMethod().run(ctx);

    Path plots = ctx.artifactDir().resolve("plots");
    for (String name : List.of("f1_vs_k_word-Parlement", "accuracy_vs_layer")) {
      byte[] png = Files.readAllBytes(plots.resolve(name + ".png"));
      assertThat(png).startsWith(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
      assertThat(Files.readString(plots.resolve(name + ".svg"))).contains("<svg");
    }
    assertThat(ctx.resultMap("summary").get("plots")).asList().contains("plots/accuracy_vs_layer.png",
        "plots/f1_vs_k_word-Parlement.svg");
    assertThat(ctx.resultMap("dataset-word-Parlement")).containsKeys("inputs", "layer_sweep");
    try (var files = Files.list(plots)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("tmp"));
    }
  }

  @Test
  void progressAndMetricsAreReported() throws Exception {
    ActivationSource in = Fixtures.input("blocks.1.hook_resid_post", ROWS, WIDTH, ProbesMethodTest::halfAndHalf,
        (row, label, x, r) -> x[0] += label, 5);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir)
        .config(config("rankings", List.of("mean_diff"), "ks", List.of(1))).input("main", in)
        .dataset(Fixtures.planted("planted", List.of("no", "yes"))).build();
    new ProbesMethod().run(ctx);

    assertThat(ctx.lastMetric("rarest_class_rows.planted")).isGreaterThan(2000);
    // metrics are the reading's only (by rows read, increasing); each probe's figures are results
    List<Long> steps = ctx.metricRows().stream().map(java.util.Map.Entry::getKey).toList();
    assertThat(steps).isSorted().last().isEqualTo((long) ROWS);
    assertThat(ctx.metricRows()).allSatisfy(r -> assertThat(r.getValue().keySet()).containsOnly(
        "rarest_class_rows.planted"));
    assertThat(ctx.resultMap("summary").toString()).contains("test_accuracy");
  }
}
