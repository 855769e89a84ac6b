package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cross-checks the forward pass against PyTorch on weights written as a Hugging Face-style
 * directory. Needs {@code /usr/bin/python3} with torch (Debian: {@code python3-torch}); skipped
 * where it is absent.
 */
class PyTorchReferenceTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");
  private static final int VOCAB = 256;
  /** A padded batch: the first sequence is the longest. */
  private static final int[][] TOKENS = {"Loupe looks inside.".chars().toArray(), "GPT".chars().toArray()};

  @TempDir
  Path dir;

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

  @Test
  void logitsOfAPaddedBatchMatchPyTorch() throws Exception {
    assumeTrue(torchAvailable(), "python3 with torch is not installed");
    try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
      Gpt2Model model = TestModels.randomAffine(Gpt2Config.of(256, 32, 64, 3, 4), 5, manager);
      Files.writeString(dir.resolve("config.json"), model.config().toJson());
      SafetensorsTestWriter.write(model.weights(), dir.resolve("model.safetensors"));
      float[] ours = model.forward(TOKENS, ForwardHooks.none(), manager).logits().toFloatArray();
      assertThat(worstDifference(ours, torchLogits(dir))).as("largest |logit difference| against PyTorch")
          .isLessThan(1e-4);
    }
  }

  @Test
  void aSavedHuggingFaceDirectoryReloadsToLogitsThatMatchPyTorch() throws Exception {
    assumeTrue(torchAvailable(), "python3 with torch is not installed");
    Path modelDir = dir.resolve("saved");
    try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
      TestModels.randomAffine(Gpt2Config.of(256, 32, 64, 3, 4), 6, manager)
          .saveHfDirectory(modelDir, ByteTokenizer.instance());
      try (LoadedModel loaded = HfDirectory.load(modelDir, "saved", manager)) {
        float[] ours = loaded.model().forward(TOKENS, ForwardHooks.none(), manager).logits().toFloatArray();
        assertThat(worstDifference(ours, torchLogits(modelDir))).as("largest |logit difference| against PyTorch")
            .isLessThan(1e-4);
      }
    }
  }

  /** Runs gpt2_reference.py on a model directory: logits of TOKENS, each sequence unpadded, concatenated. */
  private float[] torchLogits(Path modelDir) throws Exception {
    Path script = dir.resolve("gpt2_reference.py");
    try (InputStream in = getClass().getResourceAsStream("gpt2_reference.py")) {
      Files.write(script, in.readAllBytes());
    }
    Path tokens = dir.resolve("tokens.json");
    Files.writeString(tokens, "[" + java.util.Arrays.toString(TOKENS[0]) + "," + java.util.Arrays.toString(TOKENS[1]) + "]");
    Path out = dir.resolve("logits.bin");
    Process p = new ProcessBuilder(PYTHON.toString(), script.toString(), modelDir.toString(), tokens.toString(),
        out.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(log).isZero();
    float[] torch = new float[(TOKENS[0].length + TOKENS[1].length) * VOCAB];
    ByteBuffer.wrap(Files.readAllBytes(out)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(torch);
    return torch;
  }

  /** Largest |ours - torch| over the real (unpadded) positions; ours is [batch, longest, vocab]. */
  private static double worstDifference(float[] ours, float[] torch) {
    int seq = TOKENS[0].length;
    double worst = 0;
    int t = 0;
    for (int b = 0; b < TOKENS.length; b++) {
      for (int i = 0; i < TOKENS[b].length; i++, t++) {
        for (int v = 0; v < VOCAB; v++) {
          worst = Math.max(worst, Math.abs(ours[(b * seq + i) * VOCAB + v] - torch[t * VOCAB + v]));
        }
      }
    }
    return worst;
  }
}
