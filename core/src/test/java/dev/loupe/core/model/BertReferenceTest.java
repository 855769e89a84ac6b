package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.model.EncodedPair;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cross-checks the BERT encoder against an independent PyTorch implementation (bert_reference.py)
 * on Hugging Face directories saved by Loupe: a random BERT, and bge-small-en-v1.5 as read from
 * its ONNX file (an independent check of that reader). Loupe loads each directory back and runs a
 * right-padded batch; PyTorch runs the same batch with an attention mask. Needs
 * {@code /usr/bin/python3} with torch; skipped where it is absent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BertReferenceTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");
  private static final double TOLERANCE = 1e-4;
  /** A padded batch: the second sequence is the longest, so the first and third are padded. */
  private static final int[][] TOKENS = {"Loupe reads BERT.".chars().toArray(),
      "Bidirectional attention over the real tokens.".chars().toArray(), "CLS".chars().toArray()};
  private static final List<String> HOOKS = List.of("blocks.0.hook_resid_pre", "blocks.0.attn.hook_pattern",
      "blocks.0.hook_attn_out", "blocks.1.mlp.hook_post", "blocks.1.hook_resid_post");
  private static final String SENTENCE = "Loupe looks inside sentence encoders.";
  /** Token types for TOKENS: each sequence's second half is segment 1. */
  private static final int[][] TYPES = halves(TOKENS);
  private static final String FIRST = "What does Loupe do?";
  private static final String SECOND = "It reads transformers.";

  private NDManager manager;
  private boolean torch;
  private final Map<String, NDArray> ours = new LinkedHashMap<>();
  private FloatBuffer theirs;
  private NDArray bgeOurs;
  private int[] bgeTokens;
  private FloatBuffer bgeTheirs;
  private NDArray typedOurs;
  private FloatBuffer typedTheirs;
  private EncodedPair pair;
  private int[] firstAlone;
  private int[] secondAlone;
  private String[] pairTokenTexts;
  private NDArray pairOurs;
  private NDArray pairZeroTypes;
  private FloatBuffer pairTheirs;

  @BeforeAll
  void runBothImplementations(@TempDir Path dir) throws Exception {
    torch = torchAvailable();
    if (!torch) {
      return;
    }
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    Path script = dir.resolve("bert_reference.py");
    try (InputStream in = getClass().getResourceAsStream("bert_reference.py")) {
      Files.write(script, in.readAllBytes());
    }
    Path modelDir = dir.resolve("random-bert");
    try (BertModel model = randomAffine(new BertConfig(256, 64, 2, 32, 2, 4, 64, 1e-12), 7, manager)) {
      HfDirectory.save(model, ByteTokenizer.instance(), modelDir);
    }
    try (LoadedModel loaded = HfDirectory.load(modelDir, "random-bert", manager)) {
      ForwardResult r = loaded.model().forward(TOKENS, ForwardHooks.capturing(Set.copyOf(HOOKS)), manager);
      ours.putAll(r.captured());
      ours.put("hidden", r.logits());
    }
    theirs = runPython(script, dir, TOKENS, null, modelDir);
    try (LoadedModel loaded = HfDirectory.load(modelDir, "random-bert", manager)) {
      typedOurs = loaded.model().forward(TOKENS, TYPES, ForwardHooks.none(), manager).logits();
    }
    typedTheirs = runPython(script, dir, TOKENS, TYPES, modelDir);

    Path bgeDir = dir.resolve("bge");
    try (LoadedModel bge = EncoderModels.load(EncoderModels.BGE_SMALL_EN_V15, manager)) {
      HfDirectory.save(bge.model(), bge.tokenizer(), bgeDir);
      bgeTokens = bge.tokenizer().encode(SENTENCE);
      bgeOurs = bge.model().forward(new int[][] {bgeTokens}, ForwardHooks.none(), manager).logits();
      pair = bge.tokenizer().encodePair(FIRST, SECOND);
      firstAlone = bge.tokenizer().encode(FIRST);
      secondAlone = bge.tokenizer().encode(SECOND);
      pairTokenTexts = Arrays.stream(pair.ids()).mapToObj(bge.tokenizer()::tokenText).toArray(String[]::new);
      pairOurs = bge.model().forward(new int[][] {pair.ids()}, new int[][] {pair.typeIds()}, ForwardHooks.none(),
          manager).logits();
      pairZeroTypes = bge.model().forward(new int[][] {pair.ids()}, ForwardHooks.none(), manager).logits();
    }
    bgeTheirs = runPython(script, dir, new int[][] {bgeTokens}, null, bgeDir);
    pairTheirs = runPython(script, dir, new int[][] {pair.ids()}, new int[][] {pair.typeIds()}, bgeDir);
  }

  private static int[][] halves(int[][] tokens) {
    int[][] types = new int[tokens.length][];
    for (int i = 0; i < tokens.length; i++) {
      types[i] = new int[tokens[i].length];
      Arrays.fill(types[i], tokens[i].length / 2, tokens[i].length, 1);
    }
    return types;
  }

  /** A random BERT whose LayerNorms and biases are not the identity and zero, so that they are tested. */
  static BertModel randomAffine(BertConfig config, long seed, NDManager manager) {
    Random r = new Random(seed);
    Map<String, NDArray> w = new LinkedHashMap<>();
    try (BertModel plain = BertModel.random(config, seed, manager)) {
      for (Map.Entry<String, NDArray> e : plain.weights().entrySet()) {
        float[] v = e.getValue().toFloatArray();
        boolean norm = e.getKey().contains("LayerNorm") && e.getKey().endsWith(".weight");
        if (norm || e.getKey().endsWith(".bias")) {
          for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((norm ? 1 : 0) + 0.1 * r.nextGaussian());
          }
        } else {
          // Larger than transformers' 0.02 so that attention patterns are far from uniform.
          for (int i = 0; i < v.length; i++) {
            v[i] *= 10;
          }
        }
        w.put(e.getKey(), manager.create(v, e.getValue().getShape()));
      }
    }
    return BertModel.fromWeights(config, w, manager);
  }

  /** Runs the script on one model directory; with {@code types} it gets the object form of its input. */
  private static FloatBuffer runPython(Path script, Path dir, int[][] tokens, int[][] types, Path modelDir)
      throws Exception {
    Path out = Files.createTempDirectory(dir, "out");
    Path tokenFile = out.resolve("tokens.json");
    String json = types == null ? jsonRows(tokens)
        : "{\"tokens\": " + jsonRows(tokens) + ", \"token_types\": " + jsonRows(types) + "}";
    Files.writeString(tokenFile, json);
    Process p = new ProcessBuilder(PYTHON.toString(), script.toString(), tokenFile.toString(), String.join(",", HOOKS),
        out.toString(), modelDir.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(log).isZero();
    return ByteBuffer.wrap(Files.readAllBytes(out.resolve("0.bin"))).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
  }

  private static String jsonRows(int[][] rows) {
    StringBuilder json = new StringBuilder("[");
    for (int[] r : rows) {
      json.append(json.length() > 1 ? "," : "").append(Arrays.toString(r));
    }
    return json.append("]").toString();
  }

  @AfterAll
  void closeManager() {
    if (manager != null) {
      manager.close();
    }
  }

  private static boolean torchAvailable() {
    if (!Files.isExecutable(PYTHON)) {
      return false;
    }
    try {
      Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch, numpy").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /**
   * Largest difference per array between our padded-batch arrays and PyTorch's, over the real
   * positions (and, for the pattern, real keys); PyTorch wrote the hidden state, then HOOKS in order.
   */
  private static Map<String, Double> worstDifferences(Map<String, NDArray> arrays, int[][] tokens, FloatBuffer theirs,
      List<String> order) {
    FloatBuffer ref = theirs.duplicate();
    Map<String, Double> worst = new LinkedHashMap<>();
    for (String name : order) {
      NDArray a = arrays.get(name);
      Shape s = a.getShape();
      float[] v = a.toFloatArray();
      double w = 0;
      for (int b = 0; b < tokens.length; b++) {
        int len = tokens[b].length;
        if (name.endsWith("hook_pattern")) { // [batch, head, query, key] vs [head, len, len]
          int heads = (int) s.get(1);
          int keys = (int) s.get(3);
          for (int h = 0; h < heads; h++) {
            for (int i = 0; i < len; i++) {
              for (int j = 0; j < len; j++) {
                w = Math.max(w, Math.abs(v[((b * heads + h) * keys + i) * keys + j] - ref.get()));
              }
            }
          }
        } else { // [batch, pos, rest...] vs [len, rest...]
          int seq = (int) s.get(1);
          int rest = (int) (s.size() / s.get(0) / seq);
          for (int i = 0; i < len * rest; i++) {
            w = Math.max(w, Math.abs(v[b * seq * rest + i] - ref.get()));
          }
        }
      }
      worst.put(name, w);
    }
    if (order.size() == HOOKS.size() + 1) {
      assertThat(ref.remaining()).as("PyTorch wrote exactly the compared values").isZero();
    }
    return worst;
  }

  @Test
  void lastHiddenStateOfAPaddedBatchMatchesPyTorchWithAnAttentionMask() {
    assumeTrue(torch, "python3 with torch is not installed");
    assertThat(worstDifferences(ours, TOKENS, theirs, List.of("hidden")).get("hidden")).isLessThan(TOLERANCE);
  }

  @Test
  void hooksOfAPaddedBatchMatchPyTorchAtTheRealTokens() {
    assumeTrue(torch, "python3 with torch is not installed");
    List<String> order = new ArrayList<>(List.of("hidden"));
    order.addAll(HOOKS);
    assertThat(worstDifferences(ours, TOKENS, theirs, order)).as("largest |difference| against PyTorch, by array")
        .allSatisfy((name, diff) -> assertThat(diff).as(name).isLessThan(TOLERANCE));
  }

  @Test
  void paddedKeysGetNoAttention() {
    assumeTrue(torch, "python3 with torch is not installed");
    float[] pattern = ours.get("blocks.0.attn.hook_pattern").toFloatArray();
    Shape s = ours.get("blocks.0.attn.hook_pattern").getShape();
    int heads = (int) s.get(1);
    int keys = (int) s.get(3);
    int len = TOKENS[2].length;
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < len; i++) {
        for (int j = len; j < keys; j++) {
          assertThat(pattern[((2 * heads + h) * keys + i) * keys + j]).isZero();
        }
      }
    }
  }

  @Test
  void bgeSmallReadFromOnnxAndSavedAsAnHfDirectoryMatchesPyTorch() {
    assumeTrue(torch, "python3 with torch is not installed");
    assertThat(bgeTokens).hasSizeGreaterThan(3);
    Map<String, Double> worst = worstDifferences(Map.of("hidden", bgeOurs), new int[][] {bgeTokens}, bgeTheirs,
        List.of("hidden"));
    assertThat(worst.get("hidden")).isLessThan(TOLERANCE);
  }

  @Test
  void tokenTypesOfAPaddedBatchMatchPyTorch() {
    assumeTrue(torch, "python3 with torch is not installed");
    assertThat(worstDifferences(Map.of("hidden", typedOurs), TOKENS, typedTheirs, List.of("hidden")).get("hidden"))
        .isLessThan(TOLERANCE);
  }

  @Test
  void bgePairEncodingIsClsFirstSepSecondSepWithTypesZeroThenOne() {
    assumeTrue(torch, "python3 with torch is not installed");
    // encode adds [CLS] ... [SEP] to each text; the pair shares the leading [CLS].
    int[] expectedIds = new int[firstAlone.length + secondAlone.length - 1];
    System.arraycopy(firstAlone, 0, expectedIds, 0, firstAlone.length);
    System.arraycopy(secondAlone, 1, expectedIds, firstAlone.length, secondAlone.length - 1);
    int[] expectedTypes = new int[expectedIds.length];
    Arrays.fill(expectedTypes, firstAlone.length, expectedTypes.length, 1);
    assertThat(pair.ids()).containsExactly(expectedIds);
    assertThat(pair.typeIds()).containsExactly(expectedTypes);
    assertThat(pairTokenTexts[0]).isEqualTo("[CLS]");
    assertThat(pairTokenTexts[firstAlone.length - 1]).isEqualTo("[SEP]");
    assertThat(pairTokenTexts[pairTokenTexts.length - 1]).isEqualTo("[SEP]");
  }

  @Test
  void bgePairWithItsTypesMatchesPyTorchAndDiffersFromAllZeroTypes() {
    assumeTrue(torch, "python3 with torch is not installed");
    int[][] ids = {pair.ids()};
    assertThat(worstDifferences(Map.of("hidden", pairOurs), ids, pairTheirs, List.of("hidden")).get("hidden"))
        .isLessThan(TOLERANCE);
    double change = pairOurs.sub(pairZeroTypes).abs().max().getFloat();
    assertThat(change).as("largest change in the hidden state from segment ids").isGreaterThan(1e-2);
  }
}
