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
 * Cross-checks the Llama-family forward pass and its hooks against an independent PyTorch
 * implementation (llama_reference.py) on saved Hugging Face directories, one variant per test.
 * Loupe runs a right-padded batch; PyTorch runs every sequence alone. Needs
 * {@code /usr/bin/python3} with torch; skipped where it is absent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlamaReferenceTest {
  private static final int VOCAB = 256;
  private static final double TOLERANCE = 1e-4;
  /** A padded batch: the first sequence is the longest. */
  private static final int[][] TOKENS = {"Loupe looks inside llamas.".chars().toArray(), "RoPE".chars().toArray(),
      "GQA!".chars().toArray()};
  private static final List<String> HOOKS = List.of("blocks.0.attn.hook_k", "blocks.0.attn.hook_pattern",
      "blocks.1.attn.hook_z", "blocks.1.hook_resid_mid", "blocks.1.mlp.hook_pre", "blocks.1.mlp.hook_post",
      "ln_final.hook_normalized");

  /** The variants, in the order handed to the script. */
  private static final Map<String, LlamaConfig> VARIANTS = new LinkedHashMap<>();

  static {
    LlamaConfig base = TestModels.smallLlamaConfig();
    VARIANTS.put("gqa", base);
    // head_dim 8, original context 64: the 4 frequencies fall in the short, medium and long bands.
    VARIANTS.put("llama3", base.withRopeScaling(LlamaConfig.RopeScaling.llama3(8, 1, 4, 64)));
    VARIANTS.put("linear", base.withRopeScaling(LlamaConfig.RopeScaling.linear(4)));
    VARIANTS.put("qwen2", new LlamaConfig("qwen2", 256, 32, 48, 2, 4, 1, 8, 32, 1e-6, 1000000.0, null, false, true, 0,
        "silu"));
    VARIANTS.put("tied", new LlamaConfig("llama", 256, 32, 48, 2, 4, 2, 16, 32, 1e-5, 500.0, null, true, true, 0,
        "silu"));
    // The window is longer than every sequence, where transformers' windowed mask equals the causal one.
    VARIANTS.put("mistral", new LlamaConfig("mistral", 256, 32, 48, 2, 4, 2, 8, 32, 1e-5, 10000.0, null, false,
        false, TOKENS[0].length, "silu"));
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
    for (Map.Entry<String, LlamaConfig> v : VARIANTS.entrySet()) {
      Path modelDir = dir.resolve(v.getKey());
      LlamaModel model = TestModels.randomAffineLlama(v.getValue(), seed++, manager);
      model.saveHfDirectory(modelDir, ByteTokenizer.instance());
      ForwardResult r = model.forward(TOKENS, ForwardHooks.capturing(Set.copyOf(HOOKS)), manager);
      Map<String, NDArray> arrays = new LinkedHashMap<>(r.captured());
      arrays.put("logits", r.logits());
      ours.put(v.getKey(), arrays);
      modelDirs.add(modelDir);
    }
    List<FloatBuffer> results = TorchReference.run("llama_reference.py", dir, TOKENS, HOOKS, modelDirs);
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
    order.addAll(HOOKS);
    return TorchReference.worstDifferences(ours.get(variant), theirs.get(variant), TOKENS, order);
  }

  private void assertMatchesPyTorch(String variant) {
    assertThat(worstDifferences(variant)).as("largest |difference| against PyTorch, by array")
        .allSatisfy((name, diff) -> assertThat(diff).as(name).isLessThan(TOLERANCE));
  }

  @Test
  void groupedQueryAttentionMatchesPyTorch() {
    assertMatchesPyTorch("gqa");
  }

  @Test
  void llama3RopeScalingMatchesPyTorch() {
    assertMatchesPyTorch("llama3");
  }

  @Test
  void linearRopeScalingMatchesPyTorch() {
    assertMatchesPyTorch("linear");
  }

  @Test
  void qwen2WithAttentionBiasesAndOneKvHeadMatchesPyTorch() {
    assertMatchesPyTorch("qwen2");
  }

  @Test
  void tiedEmbeddingsWithAWideHeadDimAndLlamaBiasesMatchPyTorch() {
    assertMatchesPyTorch("tied");
  }

  @Test
  void mistralWithinItsSlidingWindowMatchesPyTorch() {
    assertMatchesPyTorch("mistral");
  }
}
