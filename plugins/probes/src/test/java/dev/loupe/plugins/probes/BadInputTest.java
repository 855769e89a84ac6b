package dev.loupe.plugins.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.testing.TestJobContext;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bad request gets a message naming the thing and what was expected; those the request alone
 * shows are refused before an input is read (the inputs here fail the test if read).
 */
class BadInputTest {
  private static final int W = 8;

  @TempDir
  Path dir;

  private static Map<String, Object> config(Object... kv) {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("datasets", List.of("planted"));
    cfg.put("ks", List.of(1, 2));
    for (int i = 0; i < kv.length; i += 2) {
      cfg.put((String) kv[i], kv[i + 1]);
    }
    return cfg;
  }

  private TestJobContext.Builder unread(Map<String, Object> cfg) {
    return TestJobContext.builder(new ProbesMethod(), dir).config(cfg)
        .input("main", Fixtures.unreadable("blocks.0.hook_resid_post", W))
        .dataset(Fixtures.planted("planted", List.of("no", "yes")));
  }

  private TestJobContext.Builder readable(Map<String, Object> cfg, java.util.function.IntUnaryOperator label) {
    return TestJobContext.builder(new ProbesMethod(), dir).config(cfg)
        .input("main", Fixtures.input("blocks.0.hook_resid_post", 2000, W, label, (row, l, x, r) -> { }, 1))
        .dataset(Fixtures.planted("planted", List.of("no", "yes")));
  }

  @Test
  void anUnknownDatasetIsNamedWithTheDefinedOnes() {
    TestJobContext ctx = unread(config("datasets", List.of("planted", "nope"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("config datasets: no dataset named 'nope'; this host defines [planted] (config/datasets/*.yaml)");
  }

  @Test
  void aDatasetWithOneClassIsRefused() {
    TestJobContext ctx = unread(config("datasets", List.of("single"))).dataset(Fixtures.oneClass("single")).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessage("dataset 'single' has 1 class [only]; a probe needs at least two classes");
  }

  @Test
  void noDatasetsIsRefusedByTheSchema() {
    assertThatThrownBy(() -> unread(new HashMap<>()).build()).isInstanceOf(ConfigException.class)
        .hasMessageContaining("'datasets': required key is missing");
    TestJobContext ctx = unread(config("datasets", List.of())).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessage("config datasets is empty; expected at least one dataset name");
  }

  @Test
  void rowsWithoutAnyExampleAreReportedPerDataset() {
    TestJobContext ctx = readable(config(), row -> Labeller.NONE).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("dataset 'planted' has a class with no training rows (no: 0 train / 0 test, yes: 0 train"
            + " / 0 test)");
  }

  @Test
  void rowsOfOneClassOnlyAreReported() {
    TestJobContext ctx = readable(config(), row -> 0).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("dataset 'planted' has a class with no training rows")
        .hasMessageContaining("yes: 0 train / 0 test");
  }

  @Test
  @SuppressWarnings("unchecked")
  void withSkipADatasetWithoutEnoughRowsIsLeftOutAndNamed() throws Exception {
    TestJobContext ctx = readable(config("datasets", List.of("planted", "rare"), "on_too_few_rows", "skip"),
        row -> row % 2).dataset(Fixtures.neverClassOne("rare")).build();
    new ProbesMethod().run(ctx);

    Map<String, Object> summary = ctx.resultMap("summary");
    assertThat((Map<String, Object>) summary.get("skipped_datasets")).containsOnlyKeys("rare");
    assertThat((String) ((Map<String, Object>) summary.get("skipped_datasets")).get("rare"))
        .contains("dataset 'rare' has a class with no training rows");
    assertThat((Map<String, Object>) summary.get("results")).containsOnlyKeys("planted");
  }

  @Test
  void withSkipButNoDatasetLeftTheJobFails() {
    TestJobContext ctx = readable(config("datasets", List.of("rare"), "on_too_few_rows", "skip"), row -> row % 2)
        .dataset(Fixtures.neverClassOne("rare")).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not enough labelled rows to probe: dataset 'rare'");
  }

  @Test
  void anInputWithNoRowsIsReported() {
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir).config(config())
        .input("main", dev.loupe.sdk.activation.ActivationSources.fromBatches("blocks.0.hook_resid_post", W, List.of()))
        .dataset(Fixtures.planted("planted", List.of("no", "yes"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessage("the inputs [main] delivered no activation rows; expected rows of labelled tokens");
  }

  @Test
  void labelsThatDoNotMatchTheRowsAreReported() {
    TestJobContext ctx = readable(config("datasets", List.of("broken")), row -> 0)
        .dataset(Fixtures.shortLabels("broken")).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx)).isInstanceOf(IllegalStateException.class)
        .hasMessage("dataset 'broken' gave 255 labels for a batch of 256 activation rows; expected one label per row");
  }

  @Test
  void inputsOfDifferentLengthsAreRefusedBeforeTheyAreRead() {
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir).config(config())
        .input("l0", Fixtures.input("blocks.0.hook_resid_post", 2000, W, row -> row % 2, (row, l, x, r) -> { }, 1))
        .input("l1", Fixtures.input("blocks.1.hook_resid_post", 1500, W, row -> row % 2, (row, l, x, r) -> { }, 2))
        .dataset(Fixtures.planted("planted", List.of("no", "yes"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessageContaining("aligned sources must be the same tokens, but blocks.0.hook_resid_post (source 0) has"
            + " 2000 rows and blocks.1.hook_resid_post (source 1) 1500");
  }

  @Test
  void aLayerTheModelDoesNotHaveIsNamed() {
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir).config(config())
        .input("l9", Fixtures.unreadable("blocks.9.hook_resid_post", W)).model("l9", Fixtures.session(W, 1))
        .dataset(Fixtures.planted("planted", List.of("no", "yes"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessage("input 'l9' reads blocks.9.hook_resid_post, but model 'fake' has 4 layers (0..3)");
  }

  @Test
  void aHookTheModelDoesNotHaveIsNamed() {
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir).config(config())
        .input("x", Fixtures.unreadable("blocks.1.hook_resid_sideways", W)).model("x", Fixtures.session(W, 1))
        .dataset(Fixtures.planted("planted", List.of("no", "yes"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessageStartingWith("input 'x' reads 'blocks.1.hook_resid_sideways' from model 'fake', which is not a hook"
            + " name: unknown hook");
  }

  @Test
  void anUnknownInputInTheSweepOrderIsNamed() {
    TestJobContext ctx = unread(config("inputs", List.of("main", "l7"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessage("config inputs names input 'l7', but the job's inputs are [main]");
  }

  @Test
  void aTokenTextDatasetNeedsAModelSession() {
    TestJobContext ctx = unread(config("datasets", List.of("token-class")))
        .dataset(Fixtures.needsTokenizer("token-class")).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("dataset 'token-class' (the token's text) needs the tokenizer of the model the rows come"
            + " from, but no input of this job has a model session the job can reach (inputs [main:"
            + " blocks.0.hook_resid_post]");
  }

  @Test
  void badRankingsAndKsAreNamed() {
    TestJobContext rankings = unread(config("rankings", List.of("mean_diff", "magic"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(rankings))
        .hasMessage("config rankings: 'magic' is not a ranking; expected some of [mean_diff, f_stat, l1]");
    TestJobContext ks = unread(config("ks", List.of(4, 2))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ks)).hasMessage("config ks = [4, 2] is not strictly increasing");
    TestJobContext wide = unread(config("ks", List.of(16, 32))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(wide))
        .hasMessage("config ks: no k fits input 'main' (blocks.0.hook_resid_post, width 8); expected ks of at most its"
            + " width");
  }

  @Test
  void aMechanisticProbeOnADatasetNotProbedIsRefused() {
    TestJobContext ctx = unread(config("mechanistic", List.of(Map.of("dataset", "french", "positive", "e")))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessage("config mechanistic[0].dataset = 'french' is not one of the job's datasets [planted]; add it there"
            + " so its rows are sampled");
  }
}
