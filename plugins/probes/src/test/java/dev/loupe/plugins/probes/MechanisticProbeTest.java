package dev.loupe.plugins.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.testing.TestJobContext;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mechanistic probes on a fake model whose unembedding is known: a direction read from the weights
 * separates rows planted along it without any training, and only that direction does.
 */
class MechanisticProbeTest {
  private static final int D = 32;
  private static final int ROWS = 6000;

  @TempDir
  Path dir;

  /** Rows whose class-1 examples sit +2.5 along the unit direction of "e s" minus "t k", class 0 at -2.5. */
  private static TestJobContext.Builder planted(Path dir, Fixtures.FakeSession session, Map<String, Object> cfg) {
    float[] v = new float[D];
    for (int t : new int[] {'e' - 'a', 's' - 'a'}) {
      float[] c = session.column(t);
      for (int j = 0; j < D; j++) {
        v[j] += c[j] / 2;
      }
    }
    for (int t : new int[] {'t' - 'a', 'k' - 'a'}) {
      float[] c = session.column(t);
      for (int j = 0; j < D; j++) {
        v[j] -= c[j] / 2;
      }
    }
    double norm = 0;
    for (float x : v) {
      norm += x * x;
    }
    float scale = (float) (2.5 / Math.sqrt(norm));
    return TestJobContext.builder(new ProbesMethod(), dir).config(cfg)
        .input("resid", Fixtures.input("blocks.2.hook_resid_post", ROWS, D, row -> (row / 9) % 2,
            (row, label, x, r) -> {
              for (int j = 0; j < D; j++) {
                x[j] += (label == 1 ? scale : -scale) * v[j];
              }
            }, 7))
        .model("resid", session)
        .dataset(Fixtures.planted("french", List.of("other", "fr")));
  }

  private static Map<String, Object> config(List<Map<String, Object>> mechanistic) {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("datasets", List.of("french"));
    cfg.put("max_per_class", 500);
    cfg.put("rankings", List.of());
    cfg.put("mechanistic", mechanistic);
    return cfg;
  }

  @Test
  @SuppressWarnings("unchecked")
  void theDirectionReadFromTheUnembeddingSeparatesRowsPlantedAlongIt() throws Exception {
    Fixtures.FakeSession session = Fixtures.session(D, 3);
    TestJobContext ctx = planted(dir, session, config(List.of(
        Map.of("dataset", "french", "positive", "e s", "negative", List.of("t", "k"), "name", "planted"),
        Map.of("dataset", "french", "positive", List.of("t", "k"), "negative", "e s", "name", "reversed"),
        Map.of("dataset", "french", "positive", "a b c", "negative", "x y z", "name", "unrelated")))).build();
    new ProbesMethod().run(ctx);

    List<Map<String, Object>> mech = (List<Map<String, Object>>) ctx.resultMap("dataset-french").get("mechanistic");
    Map<String, Object> planted = ((List<Map<String, Object>>) mech.get(0).get("inputs")).get(0);
    assertThat(planted.get("input")).isEqualTo("resid");
    assertThat((double) planted.get("test_auc")).isGreaterThan(0.99);
    assertThat((double) planted.get("test_f1")).isGreaterThan(0.95);
    Map<String, Object> tokens = ((List<Map<String, Object>>) mech.get(0).get("tokens")).get(0);
    assertThat(tokens.get("positive_tokens")).isEqualTo(List.of("e", "s"));
    assertThat(tokens.get("negative_ids")).isEqualTo(List.of(19, 10));
    // nothing is fitted: the opposite direction scores the opposite way, and other tokens' direction far worse
    Map<String, Object> reversed = ((List<Map<String, Object>>) mech.get(1).get("inputs")).get(0);
    assertThat((double) reversed.get("test_auc")).isLessThan(0.01);
    Map<String, Object> unrelated = ((List<Map<String, Object>>) mech.get(2).get("inputs")).get(0);
    assertThat((double) unrelated.get("test_auc")).isLessThan(0.95);
    Map<String, Object> summary = (Map<String, Object>) ((List<Object>) ctx.resultMap("summary").get("mechanistic"))
        .get(0);
    assertThat(((Map<String, Object>) summary.get("test_auc")).get("resid")).isEqualTo(planted.get("test_auc"));
    assertThat(ctx.artifactDir().resolve("plots/mechanistic_auc_vs_layer.png")).isRegularFile();
  }

  @Test
  void aMultiClassDatasetNeedsThePositiveClassNamed() {
    Fixtures.FakeSession session = Fixtures.session(D, 3);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir)
        .config(Map.of("datasets", List.of("language"), "mechanistic",
            List.of(Map.of("dataset", "language", "positive", "e"))))
        .input("resid", Fixtures.unreadable("blocks.2.hook_resid_post", D)).model("resid", session)
        .dataset(Fixtures.planted("language", List.of("de", "en", "fr"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessageContaining("mechanistic[0]: dataset 'language' has 3 classes; give mechanistic[0].class, one of"
            + " [de, en, fr]");
    TestJobContext wrongClass = TestJobContext.builder(new ProbesMethod(), dir.resolve("b"))
        .config(Map.of("datasets", List.of("language"), "mechanistic",
            List.of(Map.of("dataset", "language", "positive", "e", "class", "it"))))
        .input("resid", Fixtures.unreadable("blocks.2.hook_resid_post", D)).model("resid", session)
        .dataset(Fixtures.planted("language", List.of("de", "en", "fr"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(wrongClass))
        .hasMessageContaining("mechanistic[0].class = 'it' is not a class of dataset 'language'");
  }

  @Test
  void anMlpHookIsRefusedBeforeAnythingIsRead() {
    Fixtures.FakeSession session = Fixtures.session(D, 3);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir)
        .config(Map.of("datasets", List.of("french"), "mechanistic",
            List.of(Map.of("dataset", "french", "positive", "e", "negative", "t"))))
        .input("neurons", Fixtures.unreadable("blocks.2.mlp.hook_post", 4 * D)).model("neurons", session)
        .dataset(Fixtures.planted("french", List.of("other", "fr"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("config mechanistic[0] (french: e vs t): no input it can be evaluated on")
        .hasMessageContaining("input 'neurons' reads blocks.2.mlp.hook_post (width 128); mechanistic probes need a"
            + " residual-stream hook");
  }

  @Test
  void tokensOnBothSidesAreRefused() {
    Fixtures.FakeSession session = Fixtures.session(D, 3);
    TestJobContext ctx = TestJobContext.builder(new ProbesMethod(), dir)
        .config(Map.of("datasets", List.of("french"), "mechanistic",
            List.of(Map.of("dataset", "french", "positive", "es", "negative", "st"))))
        .input("resid", Fixtures.unreadable("blocks.2.hook_resid_post", D)).model("resid", session)
        .dataset(Fixtures.planted("french", List.of("other", "fr"))).build();
    assertThatThrownBy(() -> new ProbesMethod().run(ctx))
        .hasMessageContaining("config mechanistic[0]: tokens [s] are both positive and negative");
  }

  @Test
  void thresholdIsTheBestF1OnTheGivenRows() {
    double[] scores = {0.1, 0.9, 0.4, 0.8, 0.3, 0.7};
    int[] labels = {0, 1, 0, 1, 0, 1};
    assertThat(MechanisticProbe.bestThreshold(scores, labels)).isEqualTo(0.7);
  }

  @Test
  void tokenStringsSplitOnInnerWhitespaceOnly() {
    assertThat(ProbeSettings.pieces(List.of("é è ç"))).containsExactly("é", "è", "ç");
    assertThat(ProbeSettings.pieces(List.of(" the", "w"))).containsExactly(" the", "w");
  }
}
