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
    int[][] tokens = {"Loupe looks inside.".chars().toArray(), "GPT".chars().toArray()};
    try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch")) {
      Gpt2Model model = TestModels.randomAffine(Gpt2Config.of(256, 32, 64, 3, 4), 5, manager);
      Files.writeString(dir.resolve("config.json"), model.config().toJson());
      SafetensorsTestWriter.write(model.weights(), dir.resolve("model.safetensors"));
      Path script = dir.resolve("gpt2_reference.py");
      try (InputStream in = getClass().getResourceAsStream("gpt2_reference.py")) {
        Files.write(script, in.readAllBytes());
      }
      Files.writeString(dir.resolve("tokens.json"),
          "[" + java.util.Arrays.toString(tokens[0]) + "," + java.util.Arrays.toString(tokens[1]) + "]");
      Process p = new ProcessBuilder(PYTHON.toString(), script.toString(), dir.toString(),
          dir.resolve("tokens.json").toString(), dir.resolve("logits.bin").toString()).redirectErrorStream(true).start();
      String log = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(log).isZero();

      float[] torch = new float[(tokens[0].length + tokens[1].length) * 256];
      ByteBuffer.wrap(Files.readAllBytes(dir.resolve("logits.bin"))).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(torch);
      float[] ours = model.forward(tokens, ForwardHooks.none(), manager).logits().toFloatArray();
      int seq = tokens[0].length;
      double worst = 0;
      int t = 0;
      for (int b = 0; b < 2; b++) {
        for (int i = 0; i < tokens[b].length; i++, t++) {
          for (int v = 0; v < 256; v++) {
            worst = Math.max(worst, Math.abs(ours[(b * seq + i) * 256 + v] - torch[t * 256 + v]));
          }
        }
      }
      assertThat(worst).as("largest |logit difference| against PyTorch").isLessThan(1e-4);
    }
  }
}
