package dev.loupe.core.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ForwardBenchmarkTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");

  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

  @Test
  void measuresEveryLoupeVariantAndSkipsTorchWhenNoPythonIsGiven() throws Exception {
    ForwardBenchmark.Result r = ForwardBenchmark.run(new ForwardBenchmark.Options("tiny", 1, 8, 0, 1, 1, null), out);

    assertThat(r.hooks()).isEqualTo(12);
    assertThat(List.of(r.plain(), r.capture(), r.captureCopy(), r.captureView())).allMatch(v -> v > 0);
    assertThat(r.torch()).isNaN();
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("PyTorch comparison skipped");
  }

  @Test
  void skipsTorchWithAMessageWhenThePythonPathIsNotExecutable() throws Exception {
    ForwardBenchmark.Result r = ForwardBenchmark.run(
        new ForwardBenchmark.Options("tiny", 1, 8, 0, 1, 1, "/nonexistent/python3"), out);

    assertThat(r.torch()).isNaN();
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("/nonexistent/python3 is not an executable file");
  }

  @Test
  void pytorchForwardProducesLoupesLogitsOnTheSameWeights() throws Exception {
    assumeTrue(torchAvailable(), "python3 with torch is not installed");

    ForwardBenchmark.Result r = ForwardBenchmark.run(
        new ForwardBenchmark.Options("random-gpt2:2x64x4@7", 2, 16, 0, 1, 1, PYTHON.toString()), out);

    assertThat(r.maxAbsLogitDiff()).isLessThan(1e-4);
    assertThat(r.torch()).isPositive();
    assertThat(r.loupeOverTorch()).isPositive();
  }

  @Test
  void pytorchBertForwardProducesLoupesLastHiddenStateOnTheSameWeights() throws Exception {
    assumeTrue(torchAvailable(), "python3 with torch is not installed");

    ForwardBenchmark.Result r = ForwardBenchmark.run(
        new ForwardBenchmark.Options("random-bert:2x64@3", 2, 16, 0, 1, 1, PYTHON.toString()), out);

    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("(last hidden state)")
        .doesNotContain("PyTorch comparison skipped");
    assertThat(r.maxAbsLogitDiff()).isLessThan(1e-4);
    assertThat(r.torch()).isPositive();
  }

  @Test
  void rejectsANonPositivePassCountNamingTheField() {
    assertThatThrownBy(() -> new ForwardBenchmark.Options("tiny", 8, 256, 2, 0, 5, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("passes must be positive, got 0");
  }

  private static boolean torchAvailable() {
    if (!Files.isExecutable(PYTHON)) {
      return false;
    }
    try {
      Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}
