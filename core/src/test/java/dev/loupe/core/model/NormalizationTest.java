package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.Normalization;
import dev.loupe.sdk.model.RunResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code normalization(hook)} against the real forward pass: for every normalisation hook, the
 * captured activation at the input hook, normalised in double precision here from the returned
 * description alone, reproduces the captured hook. The models have random norm weights and biases
 * (and the shipped {@code demo} trained ones), so a wrong gain, bias, input or centring fails.
 */
class NormalizationTest {
  private static final double TOLERANCE = 1e-5;
  /** A ragged batch of byte tokens; the second sequence is padded. */
  private static final int[][] TOKENS = {"Norms, frozen.".chars().toArray(), "LN vs RMS".chars().toArray()};

  private NDManager manager;

  @BeforeEach
  void setUp() {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  /** Models whose norms have random gains and biases (1 + N(0, 0.1..0.15) and N(0, 0.1..0.15)). */
  static Stream<Arguments> affineModels() {
    NeoxConfig neox = NeoxConfig.pythia(256, 32, 32, 64, 2, 2);
    return Stream.of(
        Arguments.of("gpt2", (Function<NDManager, HookedTransformer>) m -> TestModels.randomAffine(
            TestModels.smallConfig(), 11, m)),
        Arguments.of("llama", (Function<NDManager, HookedTransformer>) m -> TestModels.randomAffineLlama(
            TestModels.smallLlamaConfig(), 12, m)),
        Arguments.of("neox-parallel", (Function<NDManager, HookedTransformer>) m -> NeoxModelTest.randomAffine(
            neox, 13, m)),
        Arguments.of("neox-sequential", (Function<NDManager, HookedTransformer>) m -> NeoxModelTest.randomAffine(
            neox.with(0.25, false), 14, m)),
        Arguments.of("bert", (Function<NDManager, HookedTransformer>) m -> BertReferenceTest.randomAffine(
            new BertConfig(256, 32, 2, 32, 2, 4, 64, 1e-12), 15, m)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("affineModels")
  void everyNormalisationHookIsReproducedFromItsInput(String name, Function<NDManager, HookedTransformer> build) {
    HookedTransformer model = build.apply(manager);
    List<String> norms = normHooks(model.hookNames());
    int expected = 2 * model.nLayers() + (model.architecture().equals("bert") ? 0 : 1);
    assertThat(norms).hasSize(expected);
    Map<String, Normalization> described = new LinkedHashMap<>();
    Set<String> capture = new LinkedHashSet<>();
    for (String hook : norms) {
      Normalization n = model.normalization(hook);
      described.put(hook, n);
      capture.add(hook);
      capture.add(n.inputHook());
    }
    ForwardResult r = model.forward(TOKENS, ForwardHooks.capturing(capture), manager);
    Map<String, float[]> acts = new LinkedHashMap<>();
    r.captured().forEach((h, a) -> acts.put(h, a.toFloatArray()));
    for (Normalization n : described.values()) {
      check(n, model.dModel(), acts.get(n.inputHook()), acts.get(n.hook()));
    }
    assertSemantics(name, model, described);
  }

  /** What each architecture's contract says, beyond reproducing the forward pass. */
  private static void assertSemantics(String name, HookedTransformer model, Map<String, Normalization> n) {
    int last = model.nLayers() - 1;
    switch (name) {
      case "gpt2", "neox-sequential" -> {
        assertThat(n.get("blocks.1.ln1.hook_normalized").inputHook()).isEqualTo("blocks.1.hook_resid_pre");
        assertThat(n.get("blocks.1.ln2.hook_normalized").inputHook()).isEqualTo("blocks.1.hook_resid_mid");
        assertThat(n.get("ln_final.hook_normalized").inputHook()).isEqualTo("blocks." + last + ".hook_resid_post");
        assertThat(n.values()).allSatisfy(x -> {
          assertThat(x.centred()).isTrue();
          assertThat(x.identityAffine()).isFalse();
        });
      }
      case "neox-parallel" -> {
        assertThat(n.get("blocks.1.ln2.hook_normalized").inputHook()).isEqualTo("blocks.1.hook_resid_pre");
        assertThat(n.get("ln_final.hook_normalized").inputHook()).isEqualTo("blocks." + last + ".hook_resid_post");
        assertThat(n.values()).allSatisfy(x -> assertThat(x.identityAffine()).isFalse());
      }
      case "llama" -> {
        assertThat(n.get("blocks.1.ln2.hook_normalized").inputHook()).isEqualTo("blocks.1.hook_resid_mid");
        // The hooks sit before the RMSNorm weight, which is random here: the description must not carry it.
        assertThat(n.values()).allSatisfy(x -> {
          assertThat(x.centred()).isFalse();
          assertThat(x.identityAffine()).isTrue();
          assertThat(x.eps()).isEqualTo(((LlamaModel) model).config().rmsNormEps());
        });
      }
      case "bert" -> {
        assertThat(n.get("blocks.1.ln1.hook_normalized").inputHook()).isEqualTo("blocks.1.hook_resid_mid");
        assertThat(n.get("blocks.1.ln2.hook_normalized").inputHook()).isEqualTo("blocks.1.hook_resid_post");
        assertThat(n.values()).allSatisfy(x -> assertThat(x.eps()).isEqualTo(1e-12));
      }
      default -> throw new AssertionError(name);
    }
  }

  /** The test would catch a wrong gain, bias, centring or input: each mutation breaks the match. */
  @Test
  void aWrongDescriptionDoesNotReproduceTheHook() {
    HookedTransformer model = NeoxModelTest.randomAffine(NeoxConfig.pythia(256, 32, 32, 64, 2, 2).with(0.25, false),
        16, manager);
    Normalization n = model.normalization("blocks.1.ln2.hook_normalized");
    float[] ones = new float[n.width()];
    Arrays.fill(ones, 1f);
    List<Normalization> wrong = List.of(
        new Normalization(n.hook(), n.inputHook(), ones, n.bias(), true, n.eps()),
        new Normalization(n.hook(), n.inputHook(), n.gain(), new float[n.width()], true, n.eps()),
        new Normalization(n.hook(), n.inputHook(), n.gain(), n.bias(), false, n.eps()),
        new Normalization(n.hook(), "blocks.1.hook_resid_pre", n.gain(), n.bias(), true, n.eps()));
    ForwardResult r = model.forward(TOKENS, ForwardHooks.capturing(Set.of(n.hook(), "blocks.1.hook_resid_mid",
        "blocks.1.hook_resid_pre")), manager);
    float[] out = r.captured().get(n.hook()).toFloatArray();
    check(n, model.dModel(), r.captured().get(n.inputHook()).toFloatArray(), out);
    for (Normalization w : wrong) {
      float[] in = r.captured().get(w.inputHook()).toFloatArray();
      assertThat(worstRelativeError(w, model.dModel(), in, out)).as("%s", w).isGreaterThan(1e-2);
    }
  }

  /** Through the SDK interface, on the random models of the resolvers and the trained demo GPT-2. */
  @ParameterizedTest
  @ValueSource(strings = {"demo", "random-gpt2:2x64", "random-llama:2x64x4x2@3", "random-neox:2x64x4@5",
      "random-bert:2x64x4@6"})
  void theSessionDescribesItsModelsNorms(String ref) {
    try (LocalModelSession local = LocalModelSession.open(ref)) {
      ModelSession s = local;
      List<String> norms = normHooks(s.info().hookNames());
      Map<String, Normalization> described = new LinkedHashMap<>();
      Set<String> capture = new LinkedHashSet<>();
      for (String hook : norms) {
        Normalization n = s.normalization(hook);
        assertThat(n.hook()).isEqualTo(hook);
        described.put(hook, n);
        capture.add(hook);
        capture.add(n.inputHook());
      }
      int[][] tokens = ref.equals("demo") ? new int[][] {s.encode("Le chat dort."), s.encode("The cat sleeps here.")}
          : TOKENS;
      try (RunResult r = s.run(tokens, capture)) {
        for (Normalization n : described.values()) {
          check(n, s.info().dModel(), r.activation(n.inputHook()).toFloatArray(), r.activation(n.hook()).toFloatArray());
        }
      }
      if (ref.equals("demo")) {
        // Trained LayerNorms: the gains and biases are far from 1 and 0, so they are really tested.
        for (Normalization n : described.values()) {
          float[] g = n.gain();
          float[] b = n.bias();
          double gainOff = 0;
          double biasOff = 0;
          for (int j = 0; j < g.length; j++) {
            gainOff = Math.max(gainOff, Math.abs(g[j] - 1));
            biasOff = Math.max(biasOff, Math.abs(b[j]));
          }
          assertThat(gainOff).as(n.hook()).isGreaterThan(0.05);
          assertThat(biasOff).as(n.hook()).isGreaterThan(0.01);
        }
      }
    }
  }

  @Test
  void otherHooksAreRefusedNamingTheValidOnes() {
    try (LocalModelSession s = LocalModelSession.open("random-gpt2:2x64")) {
      assertThatThrownBy(() -> s.normalization("blocks.0.hook_resid_pre"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'blocks.0.hook_resid_pre' is not a normalisation hook")
          .hasMessageContaining("blocks.0.ln1.hook_normalized, blocks.0.ln2.hook_normalized, "
              + "blocks.1.ln1.hook_normalized, blocks.1.ln2.hook_normalized, ln_final.hook_normalized");
      assertThatThrownBy(() -> s.normalization("blocks.2.ln1.hook_normalized"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'blocks.2.ln1.hook_normalized' is not a hook of this GPT-2 with 2 layers");
      assertThatThrownBy(() -> s.normalization("ln_final")).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'ln_final'");
      assertThatThrownBy(() -> s.normalization(null)).isInstanceOf(IllegalArgumentException.class);
    }
    try (LocalModelSession s = LocalModelSession.open("random-bert:2x64x4")) {
      assertThatThrownBy(() -> s.normalization("ln_final.hook_normalized"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("no ln_final")
          .hasMessageContaining("blocks.1.ln2.hook_normalized");
    }
    try (LocalModelSession s = LocalModelSession.open("random-llama:6x64x4")) {
      // Many layers: the valid hooks are listed by pattern.
      assertThatThrownBy(() -> s.normalization("blocks.3.mlp.hook_post"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("blocks.L.ln1.hook_normalized, blocks.L.ln2.hook_normalized for L in 0..5, "
              + "ln_final.hook_normalized");
    }
    LocalModelSession closed = LocalModelSession.open("random-gpt2:1x32");
    closed.close();
    assertThatThrownBy(() -> closed.normalization("ln_final.hook_normalized")).isInstanceOf(IllegalStateException.class);
  }

  private static List<String> normHooks(List<String> hookNames) {
    List<String> out = new ArrayList<>();
    for (String h : hookNames) {
      if (h.endsWith(".hook_normalized")) {
        out.add(h);
      }
    }
    return out;
  }

  /** Asserts the hook is reproduced row by row, both by this test's own arithmetic and by {@code apply}. */
  private static void check(Normalization n, int d, float[] in, float[] out) {
    assertThat(in).as("captured %s", n.inputHook()).isNotNull();
    assertThat(out).as("captured %s", n.hook()).isNotNull().hasSameSizeAs(in);
    assertThat(n.width()).isEqualTo(d);
    assertThat(worstRelativeError(n, d, in, out)).as("%s from %s", n.hook(), n.inputHook()).isLessThan(TOLERANCE);
    float[] applied = n.apply(in);
    for (int base = 0; base < in.length; base += d) {
      double scale = rowMaxAbs(out, base, d);
      for (int j = 0; j < d; j++) {
        assertThat(Math.abs(applied[base + j] - out[base + j]) / scale).as("%s apply", n.hook()).isLessThan(TOLERANCE);
      }
    }
  }

  /**
   * The largest error of the description, computed here in double precision from its fields, over
   * every row, relative to the largest magnitude of the hook's row.
   */
  private static double worstRelativeError(Normalization n, int d, float[] in, float[] out) {
    float[] gain = n.gain();
    float[] bias = n.bias();
    double worst = 0;
    for (int base = 0; base < in.length; base += d) {
      double mean = 0;
      if (n.centred()) {
        for (int j = 0; j < d; j++) {
          mean += in[base + j];
        }
        mean /= d;
      }
      double ss = 0;
      for (int j = 0; j < d; j++) {
        double c = in[base + j] - mean;
        ss += c * c;
      }
      double sigma = Math.sqrt(ss / d + n.eps());
      double scale = rowMaxAbs(out, base, d);
      for (int j = 0; j < d; j++) {
        double expected = (double) gain[j] * ((in[base + j] - mean) / sigma) + bias[j];
        worst = Math.max(worst, Math.abs(expected - out[base + j]) / scale);
      }
    }
    return worst;
  }

  private static double rowMaxAbs(float[] x, int base, int d) {
    double m = 0;
    for (int j = 0; j < d; j++) {
      m = Math.max(m, Math.abs(x[base + j]));
    }
    return m;
  }
}
