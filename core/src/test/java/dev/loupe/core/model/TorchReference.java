package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
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
import java.util.concurrent.TimeUnit;

/**
 * Runs one of the plain-PyTorch reference scripts (a resource next to this class) over saved
 * model directories and compares what it wrote with Loupe's arrays. The scripts run every
 * sequence alone and write, per model, {@code <i>.bin}: logits then each hook, flattened over the
 * real positions (and, for attention patterns, the real keys).
 */
final class TorchReference {
  static final Path PYTHON = Path.of("/usr/bin/python3");

  private TorchReference() {}

  /** Whether {@code /usr/bin/python3} can import torch and numpy. */
  static boolean available() {
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
   * Runs {@code script} as {@code python SCRIPT TOKENS.json HOOKS OUT_DIR MODEL_DIR...}.
   *
   * @return PyTorch's values for each model directory, in order
   */
  static List<FloatBuffer> run(String script, Path dir, int[][] tokens, List<String> hooks, List<Path> modelDirs)
      throws IOException, InterruptedException {
    Path file = dir.resolve(script);
    try (InputStream in = TorchReference.class.getResourceAsStream(script)) {
      Files.write(file, in.readAllBytes());
    }
    Path tokensFile = dir.resolve("tokens.json");
    StringBuilder json = new StringBuilder("[");
    for (int[] t : tokens) {
      json.append(json.length() > 1 ? "," : "").append(Arrays.toString(t));
    }
    Files.writeString(tokensFile, json.append("]").toString());
    List<String> args = new ArrayList<>(List.of(PYTHON.toString(), file.toString(), tokensFile.toString(),
        String.join(",", hooks), dir.toString()));
    modelDirs.forEach(d -> args.add(d.toString()));
    Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(log).isZero();
    List<FloatBuffer> out = new ArrayList<>();
    for (int i = 0; i < modelDirs.size(); i++) {
      out.add(ByteBuffer.wrap(Files.readAllBytes(dir.resolve(i + ".bin"))).order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer());
    }
    return out;
  }

  /**
   * Largest difference between Loupe's padded-batch arrays and PyTorch's per-sequence ones, over
   * the real positions (and, for the pattern, real keys), for the arrays named in {@code order}
   * (the order the script wrote them in).
   */
  static Map<String, Double> worstDifferences(Map<String, NDArray> ours, FloatBuffer theirs, int[][] tokens,
      List<String> order) {
    FloatBuffer ref = theirs.duplicate();
    Map<String, Double> worst = new LinkedHashMap<>();
    for (String name : order) {
      NDArray a = ours.get(name);
      Shape s = a.getShape();
      float[] v = a.toFloatArray();
      int seq = (int) s.get(1);
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
          int rest = (int) (s.size() / s.get(0) / seq);
          for (int i = 0; i < len * rest; i++) {
            w = Math.max(w, Math.abs(v[b * seq * rest + i] - ref.get()));
          }
        }
      }
      worst.put(name, w);
    }
    assertThat(ref.remaining()).as("PyTorch wrote exactly the compared values").isZero();
    return worst;
  }
}
