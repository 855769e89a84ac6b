package dev.loupe.plugins.neurons;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ForwardingActivationSource;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import dev.loupe.sdk.testing.TestJobContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code neurons} method end to end on planted neurons ({@link Planted}): a feature one neuron
 * carries is dedicated, a feature spread over four neurons needs a 4-sparse probe, co-activating
 * neurons form a group, and bad inputs are refused with messages that say what is wrong.
 */
class NeuronsMethodTest {
  private static Planted planted;

  @TempDir
  Path dir;

  @BeforeAll
  static void plant() {
    planted = new Planted(7);
  }

  private static Map<String, Object> config(Object... kv) {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("max_per_class", 1500);
    cfg.put("top_examples", 5);
    cfg.put("context_tokens", 4);
    for (int i = 0; i < kv.length; i += 2) {
      cfg.put((String) kv[i], kv[i + 1]);
    }
    return cfg;
  }

  private TestJobContext.Builder job(String name, Map<String, Object> cfg, ActivationSource l0, ActivationSource l1) {
    return TestJobContext.builder(new NeuronsMethod(), dir.resolve(name)).config(cfg).input("l0", l0).input("l1", l1)
        .dataset(planted.binary("single", planted.single)).dataset(planted.binary("spread", planted.spread));
  }

  private TestJobContext ran(String name, Map<String, Object> cfg) throws Exception {
    TestJobContext ctx = job(name, cfg, planted.layer0(), planted.layer1()).build();
    new NeuronsMethod().run(ctx);
    return ctx;
  }

  private static Map<String, Object> family(TestJobContext ctx, String name) {
    return ctx.resultList("families").stream().filter(f -> f.get("family").equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no family " + name));
  }

  @Test
  @SuppressWarnings("unchecked")
  void aFeatureOneNeuronCarriesIsDedicated() throws Exception {
    TestJobContext ctx = ran("single", config("datasets", List.of("single")));

    Map<String, Object> single = family(ctx, "single");
    assertThat(single.get("dedicated")).isEqualTo(true);
    assertThat(single.get("k_needed")).isEqualTo(1);
    List<Map<String, Object>> dedicated = (List<Map<String, Object>>) single.get("dedicated_neurons");
    assertThat(dedicated).extracting(n -> n.get("neuron")).containsExactly("L1.N3");
    assertThat((Double) dedicated.get(0).get("f1")).isGreaterThan(0.97);
    assertThat((Double) dedicated.get(0).get("auc")).isGreaterThan(0.99);
    assertThat(dedicated.get(0).get("sign")).isEqualTo("for");
    assertThat(dedicated.get(0).get("layer")).isEqualTo(1);
    assertThat(dedicated.get(0).get("index")).isEqualTo(3);

    List<Map<String, Object>> summaryDedicated = (List<Map<String, Object>>) ctx.resultMap("summary").get("dedicated");
    assertThat(summaryDedicated).extracting(d -> d.get("family") + " " + d.get("neuron")).containsExactly("single L1.N3");
    assertThat(ctx.resultMap("summary").get("tokens")).isEqualTo((long) Planted.ROWS);
  }

  @Test
  @SuppressWarnings("unchecked")
  void aFeatureSpreadOverFourNeuronsNeedsFourAndIsNotDedicated() throws Exception {
    TestJobContext ctx = ran("spread", config("datasets", List.of("spread")));

    Map<String, Object> spread = family(ctx, "spread");
    assertThat(spread.get("dedicated")).isEqualTo(false);
    assertThat((List<?>) spread.get("dedicated_neurons")).isEmpty();
    assertThat((Integer) spread.get("k_needed")).isEqualTo(4);
    Map<String, Object> best = (Map<String, Object>) spread.get("best");
    assertThat((Double) best.get("f1")).isLessThan(0.75);
    List<Map<String, Object>> curve = (List<Map<String, Object>>) spread.get("curve");
    assertThat(curve).extracting(p -> p.get("k")).containsExactly(1, 2, 4, 8, 16, 32);
    assertThat((Double) curve.get(1).get("f1")).isLessThan(0.8);
    assertThat((Double) curve.get(2).get("f1")).isGreaterThanOrEqualTo(0.9);
    assertThat((List<String>) curve.get(2).get("neurons")).containsExactlyInAnyOrder("L0.N12", "L0.N13", "L1.N14",
        "L1.N15");

    Map<String, Object> summary = ctx.resultMap("summary");
    assertThat((List<?>) summary.get("dedicated")).isEmpty();
    List<Map<String, Object>> needs = (List<Map<String, Object>>) summary.get("needs_k");
    assertThat(needs).extracting(n -> n.get("family") + " " + n.get("k")).containsExactly("spread 4");
  }

  @Test
  @SuppressWarnings("unchecked")
  void coActivatingNeuronsFormOneGroupAndTheSpreadOnesDoNot() throws Exception {
    TestJobContext ctx = ran("groups", config());

    List<Map<String, Object>> groups = (List<Map<String, Object>>) family(ctx, "single").get("groups");
    assertThat(groups).hasSize(1);
    assertThat((List<String>) groups.get(0).get("neurons")).containsExactlyInAnyOrder("L1.N3", "L0.N5", "L0.N9");
    assertThat((Double) groups.get(0).get("mean_correlation")).isGreaterThan(0.5);
    // the four spread neurons fire on different rows: candidates (the 4-sparse probe's), never linked
    Map<String, Object> spread = family(ctx, "spread");
    assertThat((List<String>) spread.get("candidates")).contains("L0.N12", "L0.N13", "L1.N14", "L1.N15");
    assertThat((List<?>) spread.get("groups")).isEmpty();
  }

  @Test
  @SuppressWarnings("unchecked")
  void writesDashboardsScoresAndAReport() throws Exception {
    TestJobContext ctx = ran("dashboards", config("datasets", List.of("s*")));

    List<Map<String, Object>> neurons = ctx.resultList("neurons");
    Map<String, Object> n3 = neurons.stream().filter(n -> n.get("neuron").equals("L1.N3")).findFirst().orElseThrow();
    assertThat(n3.get("hook")).isEqualTo("blocks.1.mlp.hook_post");
    assertThat(n3.get("model")).isEqualTo("planted");
    List<Map<String, Object>> top = (List<Map<String, Object>>) n3.get("top_examples");
    assertThat(top).hasSize(5);
    // the top rows of the dedicated neuron are rows of its feature
    for (Map<String, Object> e : top) {
      assertThat(planted.single[(Integer) e.get("token_id")]).isTrue();
      assertThat((int[]) e.get("context_ids")).hasSizeLessThanOrEqualTo(4);
    }
    Map<String, Object> fam = ((List<Map<String, Object>>) n3.get("families")).stream()
        .filter(f -> f.get("family").equals("single")).findFirst().orElseThrow();
    Map<String, Object> counts = (Map<String, Object>) ((Map<String, Object>) fam.get("histogram")).get("counts");
    long[] present = (long[]) counts.get("present");
    long[] absent = (long[]) counts.get("absent");
    assertThat(present).hasSize(20);
    Map<String, Object> single = family(ctx, "single");
    long perSide = (Integer) single.get("train_per_class") + (Integer) single.get("test_per_class");
    assertThat(java.util.Arrays.stream(present).sum()).isEqualTo(perSide);
    assertThat(java.util.Arrays.stream(absent).sum()).isEqualTo(perSide);
    // separated: the absent rows fill the low bins, the present ones the high bins
    assertThat(absent[19]).isZero();
    assertThat(present[0]).isZero();

    try (SafetensorsFile f = Safetensors.open(ctx.artifactDir().resolve("scores.safetensors"))) {
      assertThat(f.shape("test_f1")).containsExactly(2, 2 * Planted.WIDTH);
      assertThat(f.metadata().get("families")).isEqualTo("single\nspread");
    }
    String report = Files.readString(ctx.artifactDir().resolve("report.md"));
    assertThat(report).contains("## Dedicated neurons", "| single | L1.N3 | 1 | 3 |", "## Families without a dedicated neuron",
        "| spread |", "## Co-activating groups", "### L1.N3");
    assertThat(ctx.metricRows()).hasSize(2);
  }

  @Test
  void aDatasetOfManyClassesIsOneFamilyPerClass() throws Exception {
    TestJobContext ctx = job("kinds", config("datasets", List.of("kinds")), planted.layer0(), planted.layer1())
        .dataset(planted.kinds("kinds")).build();
    new NeuronsMethod().run(ctx);

    assertThat(ctx.resultList("families")).extracting(f -> f.get("family"))
        .containsExactly("kinds=neither", "kinds=single", "kinds=spread");
    assertThat(family(ctx, "kinds=single").get("dedicated")).isEqualTo(true);
    assertThat(family(ctx, "kinds=spread").get("dedicated")).isEqualTo(false);
  }

  @Test
  void oneClassOfAManyClassDatasetCanBeNamed() throws Exception {
    TestJobContext ctx = job("one", config("datasets", List.of("kinds=single")), planted.layer0(), planted.layer1())
        .dataset(planted.kinds("kinds")).build();
    new NeuronsMethod().run(ctx);

    assertThat(ctx.resultList("families")).extracting(f -> f.get("family")).containsExactly("kinds=single");
  }

  @Test
  void oneInputIsReadOnItsOwn() throws Exception {
    TestJobContext ctx = TestJobContext.builder(new NeuronsMethod(), dir.resolve("alone"))
        .config(config("datasets", List.of("single"))).input("l1", planted.layer1())
        .dataset(planted.binary("single", planted.single)).build();
    new NeuronsMethod().run(ctx);

    assertThat(family(ctx, "single").get("dedicated")).isEqualTo(true);
    assertThat(ctx.resultMap("summary").get("neurons")).isEqualTo(Planted.WIDTH);
  }

  /** A source that counts the batches taken from it, to show a refusal came before any reading. */
  private static final class Counting extends ForwardingActivationSource {
    final AtomicInteger taken = new AtomicInteger();

    Counting(ActivationSource in) {
      super(in);
    }

    @Override
    public ActivationBatch next() throws InterruptedException {
      taken.incrementAndGet();
      return in.next();
    }
  }

  private void refusedBeforeReading(TestJobContext.Builder builder, Counting l0, Counting l1, String... message) {
    TestJobContext ctx = builder.build();
    assertThatThrownBy(() -> new NeuronsMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContainingAll(message);
    assertThat(l0.taken.get() + l1.taken.get()).isZero();
  }

  @Test
  void aDatasetWithOneClassIsRefusedBeforeReading() {
    Counting l0 = new Counting(planted.layer0());
    Counting l1 = new Counting(planted.layer1());
    TokenDataset lonely = new Planted.Fake("lonely", List.of("only"), row -> 0);
    refusedBeforeReading(job("lonely", config("datasets", List.of("lonely")), l0, l1).dataset(lonely), l0, l1,
        "dataset 'lonely' has 1 class(es) [only]");
  }

  @Test
  void anUnknownDatasetOrClassIsRefusedBeforeReading() {
    Counting l0 = new Counting(planted.layer0());
    Counting l1 = new Counting(planted.layer1());
    refusedBeforeReading(job("unknown", config("datasets", List.of("single", "nope")), l0, l1), l0, l1,
        "'nope'", "[single, spread]");
    refusedBeforeReading(job("class", config("datasets", List.of("single=maybe")), l0, l1), l0, l1,
        "dataset 'single' has no class 'maybe'", "[absent, present]");
    refusedBeforeReading(job("pattern", config("datasets", List.of("word:*")), l0, l1), l0, l1,
        "'word:*' matches no dataset", "[single, spread]");
  }

  @Test
  void badProbeSizesAndOversizedSamplesAreRefusedBeforeReading() {
    Counting l0 = new Counting(planted.layer0());
    Counting l1 = new Counting(planted.layer1());
    refusedBeforeReading(job("ks", config("ks", List.of(1, 4, 2)), l0, l1), l0, l1, "'ks'", "strictly increasing");
    refusedBeforeReading(job("ks0", config("ks", List.of("two")), l0, l1), l0, l1, "'ks[0]'", "'two'");
    assertThatThrownBy(() -> new NeuronsMethod().run(job("mem", config("max_per_class", 10_000_000), l0, l1).build()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("'max_per_class'").hasMessageContaining("MiB heap");
    assertThat(l0.taken.get() + l1.taken.get()).isZero();
  }

  @Test
  void aHookTheModelDoesNotHaveIsRefusedBeforeReading() {
    Counting l0 = new Counting(planted.layer0());
    Counting l1 = new Counting(planted.layer1());
    refusedBeforeReading(job("hook", config(), l0, l1).model("l1", new TwoLayerModel(1)), l0, l1,
        "input 'l1'", "model 'two-layers' (1 layers, 0..0) has no hook 'blocks.1.mlp.hook_post'");
  }

  @Test
  void aDatasetThatLabelsNothingFailsNamingIt() {
    TokenDataset none = new Planted.Fake("none", List.of("a", "b"), row -> Labeller.NONE);
    TestJobContext ctx = job("none", config("datasets", List.of("none")), planted.layer0(), planted.layer1())
        .dataset(none).build();
    assertThatThrownBy(() -> new NeuronsMethod().run(ctx)).isInstanceOf(IllegalStateException.class)
        .hasMessageContainingAll("no family could be scored after 12000 tokens", "{none=", "dataset 'none' has a class"
            + " with no training rows");
  }

  @Test
  void aFamilyWithTooFewRowsIsSkippedAndTheOthersScored() throws Exception {
    // only the first document's rows can be positive: far too few for min_per_class
    TokenDataset rare = new Planted.Fake("rare", List.of("no", "yes"), row -> row < 20 && planted.single[row] ? 1 : 0);
    TestJobContext ctx = job("rare", config("datasets", List.of("single", "rare")), planted.layer0(), planted.layer1())
        .dataset(rare).build();
    new NeuronsMethod().run(ctx);

    @SuppressWarnings("unchecked")
    Map<String, String> skipped = (Map<String, String>) ctx.resultMap("summary").get("families_skipped");
    assertThat(skipped).containsOnlyKeys("rare");
    assertThat(ctx.resultMap("summary").get("families_scored")).isEqualTo(1);
  }

  @Test
  void labelsOfTheWrongLengthFailAtTheFirstBatch() {
    TokenDataset shortLabels = new TokenDataset() {
      @Override
      public String name() {
        return "short";
      }

      @Override
      public String description() {
        return "one label too few";
      }

      @Override
      public List<String> classes() {
        return List.of("a", "b");
      }

      @Override
      public Labeller labeller(ModelSession tokenizer) {
        return batch -> new int[batch.rows() - 1];
      }
    };
    Counting l0 = new Counting(planted.layer0());
    Counting l1 = new Counting(planted.layer1());
    TestJobContext ctx = job("short", config("datasets", List.of("short")), l0, l1).dataset(shortLabels).build();
    assertThatThrownBy(() -> new NeuronsMethod().run(ctx)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("dataset 'short': its labeller gave 499 labels for a batch of 500 rows");
    assertThat(l0.taken.get()).isEqualTo(1);
  }

  @Test
  void aCancelledJobStopsWhileReading() {
    TestJobContext ctx = job("cancel", config(), planted.layer0(), planted.layer1()).cancelAt(2000).build();
    assertThatThrownBy(() -> new NeuronsMethod().run(ctx)).isInstanceOf(CancellationException.class);
  }

  /** A model with {@code layers} blocks and only their mlp.hook_post hooks; nothing can be run. */
  private record TwoLayerModel(int layers) implements ModelSession {
    @Override
    public ModelInfo info() {
      Map<String, Integer> widths = new HashMap<>();
      for (int l = 0; l < layers; l++) {
        widths.put("blocks." + l + ".mlp.hook_post", Planted.WIDTH);
      }
      return new ModelInfo("two-layers", "gpt2", true, layers, 8, 1, 8, Planted.WIDTH, 256, 64, 0,
          List.copyOf(widths.keySet()), widths);
    }

    @Override
    public int[] encode(String text) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String decode(int[] tokenIds) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String tokenText(int tokenId) {
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

    @Override
    public NDArray unembed(NDArray residual) {
      throw new UnsupportedOperationException();
    }
  }
}
