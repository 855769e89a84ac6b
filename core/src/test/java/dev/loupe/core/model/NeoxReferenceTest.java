package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cross-checks the GPT-NeoX forward pass and its hooks against an independent PyTorch
 * implementation (neox_reference.py) on saved Hugging Face directories, one variant per test.
 * Loupe runs a right-padded batch; PyTorch runs every sequence alone. Needs
 * {@code /usr/bin/python3} with torch; skipped where it is absent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NeoxReferenceTest {
  private static final int VOCAB = 256;
  private static final double TOLERANCE = 1e-4;
  /** A padded batch: the first sequence is the longest. */
  private static final int[][] TOKENS = {"Loupe looks inside Pythia.".chars().toArray(), "NeoX".chars().toArray(),
      "RoPE".chars().toArray()};
  /** Compared where the model has them (parallel-residual models have no resid_mid). */
  private static final List<String> HOOKS = List.of("blocks.0.ln1.hook_normalized", "blocks.0.attn.hook_q",
      "blocks.0.attn.hook_k", "blocks.0.attn.hook_v", "blocks.0.attn.hook_pattern", "blocks.1.attn.hook_z",
      "blocks.1.hook_attn_out", "blocks.1.hook_resid_mid", "blocks.1.ln2.hook_normalized", "blocks.1.mlp.hook_pre", "blocks.1.mlp.hook_post",
      "blocks.1.hook_resid_post", "ln_final.hook_normalized");

  /** The variants, in the order handed to the script. */
  private static final Map<String, NeoxConfig> VARIANTS = new LinkedHashMap<>();

  static {
    NeoxConfig base = NeoxConfig.pythia(VOCAB, 32, 32, 64, 2, 4);
    // d_head 16 so that rotary_pct 0.25 rotates 4 dims (2 frequencies) and passes 12 through.
    NeoxConfig wide = NeoxConfig.pythia(VOCAB, 32, 32, 64, 2, 2);
    VARIANTS.put("parallelQuarter", wide);
    VARIANTS.put("sequentialQuarter", wide.with(0.25, false));
    VARIANTS.put("parallelFull", base.with(1.0, true));
    VARIANTS.put("sequentialFull", base.with(1.0, false));
    VARIANTS.put("tiedNoBiasLinear", wide.with(true, false, 2.0));
  }

  private NDManager manager;
  private boolean torch;
  private final Map<String, Map<String, NDArray>> ours = new LinkedHashMap<>();
  private final Map<String, FloatBuffer> theirs = new LinkedHashMap<>();

  @BeforeAll
  void runBothImplementations(@TempDir Path dir) throws Exception {
    torch = TorchReference.available();
    if (!torch) {
      return;
    }
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    List<Path> modelDirs = new ArrayList<>();
    long seed = 20;
    for (Map.Entry<String, NeoxConfig> v : VARIANTS.entrySet()) {
      Path modelDir = dir.resolve(v.getKey());
      NeoxModel model = NeoxModelTest.randomAffine(v.getValue(), seed++, manager);
      model.saveHfDirectory(modelDir, ByteTokenizer.instance());
      Set<String> hooks = new java.util.HashSet<>(HOOKS);
      hooks.retainAll(model.hookNames());
      ForwardResult r = model.forward(TOKENS, ForwardHooks.capturing(hooks), manager);
      Map<String, NDArray> arrays = new LinkedHashMap<>(r.captured());
      arrays.put("logits", r.logits());
      ours.put(v.getKey(), arrays);
      modelDirs.add(modelDir);
    }
    List<FloatBuffer> results = TorchReference.run("neox_reference.py", dir, TOKENS, HOOKS, modelDirs);
    int i = 0;
    for (String name : VARIANTS.keySet()) {
      theirs.put(name, results.get(i++));
    }
  }

  @AfterAll
  void closeManager() {
    if (manager != null) {
      manager.close();
    }
  }

  /**
   * Largest difference between our padded-batch arrays and PyTorch's per-sequence ones, over the
   * real positions (and, for the pattern, real keys), logits first and then HOOKS in order.
   */
  private Map<String, Double> worstDifferences(String variant) {
    assumeTrue(torch, "python3 with torch is not installed");
    List<String> order = new ArrayList<>(List.of("logits"));
    HOOKS.stream().filter(ours.get(variant)::containsKey).forEach(order::add);
    return TorchReference.worstDifferences(ours.get(variant), theirs.get(variant), TOKENS, order);
  }

  private void assertMatchesPyTorch(String variant) {
    Map<String, Double> worst = worstDifferences(variant);
    assertThat(worst.containsKey("blocks.1.hook_resid_mid")).as("resid_mid compared")
        .isEqualTo(!VARIANTS.get(variant).useParallelResidual());
    assertThat(worst).as("largest |difference| against PyTorch, by array")
        .allSatisfy((name, diff) -> assertThat(diff).as(name).isLessThan(TOLERANCE));
  }

  @Test
  void parallelResidualWithAQuarterOfEachHeadRotatedMatchesPyTorch() {
    assertMatchesPyTorch("parallelQuarter");
  }

  @Test
  void sequentialResidualWithAQuarterOfEachHeadRotatedMatchesPyTorch() {
    assertMatchesPyTorch("sequentialQuarter");
  }

  @Test
  void parallelResidualWithWholeHeadsRotatedMatchesPyTorch() {
    assertMatchesPyTorch("parallelFull");
  }

  @Test
  void sequentialResidualWithWholeHeadsRotatedMatchesPyTorch() {
    assertMatchesPyTorch("sequentialFull");
  }

  @Test
  void tiedEmbeddingsWithoutAttentionBiasesAndLinearRopeScalingMatchPyTorch() {
    assertMatchesPyTorch("tiedNoBiasLinear");
  }
}
