package dev.loupe.core.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.cli.LoupeCli;
import dev.loupe.sdk.sparse.TrainerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SaeBenchmarkTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int cli(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  @Test
  void tableShowsTheRatioAndADashWherePyTorchWasSkipped() {
    String table = SaeBenchmark.table(List.of(
        new SaeBenchmark.Row(256, 4096, "relu", 5000, 4000, 1.25, 40, 80, 0.5, 70, 0.6),
        new SaeBenchmark.Row(384, 6144, "topk k=32", 3000, Double.NaN, Double.NaN, 30, 80, 0.375, Double.NaN,
            Double.NaN)));

    List<String> lines = table.lines().toList();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).contains("d_in", "activation", "Loupe tokens/s", "PyTorch tokens/s", "Loupe/PyTorch",
        "Loupe/matmul rate");
    assertThat(lines.get(1).trim().split("\\s{2,}")).containsExactly("256", "relu", "5000", "4000", "1.25", "0.50");
    assertThat(lines.get(2).trim().split("\\s{2,}")).containsExactly("384", "topk k=32", "3000", "-", "-", "0.38");
  }

  @Test
  void jsonCarriesTheOptionsAndNullForSkippedPyTorchFigures() throws Exception {
    SaeBenchmark.Options o = new SaeBenchmark.Options(List.of(256), 16, 4096, 32, 2, 5, 2, null);
    JsonNode j = new ObjectMapper().readTree(SaeBenchmark.json(o, List.of(
        new SaeBenchmark.Row(256, 4096, "relu", 5000, Double.NaN, Double.NaN, 40, 80, 0.5, Double.NaN, Double.NaN))));

    assertThat(j.get("d_in").get(0).asInt()).isEqualTo(256);
    assertThat(j.get("batch").asInt()).isEqualTo(4096);
    JsonNode r = j.get("results").get(0);
    assertThat(r.get("d_sae").asInt()).isEqualTo(4096);
    assertThat(r.get("loupe_tokens_per_s").asDouble()).isEqualTo(5000);
    assertThat(r.get("torch_tokens_per_s").isNull()).isTrue();
    assertThat(r.get("loupe_over_torch").isNull()).isTrue();
    assertThat(r.get("torch_matmul_gflops").isNull()).isTrue();
    assertThat(r.get("loupe_matmul_fraction").asDouble()).isEqualTo(0.5);
  }

  @Test
  void optionsNameTheBadValue() {
    assertThatThrownBy(() -> new SaeBenchmark.Options(List.of(256, -1), 16, 4096, 32, 2, 5, 2, null))
        .hasMessageContaining("d_in must be positive, got -1");
    assertThatThrownBy(() -> new SaeBenchmark.Options(List.of(256), 0, 4096, 32, 2, 5, 2, null))
        .hasMessageContaining("expansion must be positive, got 0");
    assertThatThrownBy(() -> new SaeBenchmark.Options(List.of(8), 2, 4096, 32, 2, 5, 2, null))
        .hasMessageContaining("k = 32 exceeds d_sae");
  }

  @Test
  void cliRejectsABadDInWithExitCode2() {
    assertThat(cli("bench", "sae", "--d-in", "256,0")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("d_in must be positive, got 0");
  }

  @Test
  void cliRejectsANonPositiveExpansionWithExitCode2() {
    assertThat(cli("bench", "sae", "--expansion", "0")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("expansion must be positive, got 0");
  }

  @Test
  void measuresLoupeForBothActivationsAndSaysWhyPyTorchWasSkipped() throws Exception {
    StringWriter log = new StringWriter();
    List<SaeBenchmark.Row> rows = SaeBenchmark.run(
        new SaeBenchmark.Options(List.of(32), 4, 256, 32, 1, 2, 1, "/nonexistent/python3"),
        TrainerConfig.builder().build(), new PrintWriter(log, true));

    assertThat(rows).extracting(SaeBenchmark.Row::activation).containsExactly("relu", "topk k=32");
    assertThat(rows).allSatisfy(r -> {
      assertThat(r.dSae()).isEqualTo(128);
      assertThat(r.loupeTokensPerSecond()).isPositive();
      assertThat(r.loupeStepGflops()).isPositive();
      assertThat(r.matmulGflops()).isPositive();
      assertThat(r.matmulFraction()).isPositive();
      assertThat(r.torchTokensPerSecond()).isNaN();
      assertThat(r.torchMatmulGflops()).isNaN();
    });
    assertThat(log.toString()).contains("/nonexistent/python3 is not an executable file");
  }

  @Test
  void cliJsonRunMeasuresLoupeAndPyTorch() throws Exception {
    assumeTrue(torchAvailable(), "python3 with torch is not installed");

    int code = cli("bench", "sae", "--d-in", "32", "--expansion", "4", "--batch", "256", "--warmup", "1",
        "--steps", "2", "--rounds", "1", "--json");

    assertThat(code).as(err.toString()).isEqualTo(LoupeCli.OK);
    JsonNode results = new ObjectMapper().readTree(out.toString()).get("results");
    assertThat(results).hasSize(2);
    for (JsonNode r : results) {
      assertThat(r.get("loupe_tokens_per_s").asDouble()).isPositive();
      assertThat(r.get("torch_tokens_per_s").asDouble()).isPositive();
      assertThat(r.get("loupe_over_torch").asDouble()).isPositive();
      assertThat(r.get("torch_matmul_gflops").asDouble()).isPositive();
    }
    assertThat(err.toString()).contains("PyTorch 1.", "eager");
  }

  private static boolean torchAvailable() throws Exception {
    if (!Files.isExecutable(PYTHON)) {
      return false;
    }
    Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch").redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
  }
}
