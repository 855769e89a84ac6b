package dev.loupe.core.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.core.cli.LoupeCli;
import dev.loupe.sdk.probe.ProbeBenchmark;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe bench probes}: its errors, and one small round against scikit-learn where it is installed. */
class ProbeBenchCommandTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @TempDir
  Path work;

  private int cli(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  @Test
  void zeroRoundsIsAUsageErrorNamingTheOption() {
    assertThat(cli("bench", "probes", "--rounds", "0")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("--rounds", "at least 1");
  }

  @Test
  void aPythonWithoutSklearnIsNamed() {
    assertThat(cli("bench", "probes", "--python", "/bin/false")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("--python /bin/false", "sklearn");
  }

  @Test
  void aRoundReportsBothEnginesOnTheSameProblem() throws Exception {
    assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON);
    Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import sklearn, numpy").redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assumeTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "scikit-learn not importable");

    List<ProbeBenchmark.Round> rounds = ProbeBenchmark.run(PYTHON, work,
        new ProbeBenchmark.Dataset[] {ProbeBenchmark.binary(1000, 32, 5)}, 1, new PrintWriter(out));

    assertThat(rounds).hasSize(1);
    ProbeBenchmark.Round r = rounds.get(0);
    assertThat(r.loupe().engine()).isEqualTo("loupe");
    assertThat(r.sklearn().engine()).isEqualTo("sklearn");
    assertThat(r.loupe().seconds()).isPositive();
    assertThat(r.sklearn().seconds()).isPositive();
    // Same data, same objective: the two optima agree closely, and so do the accuracies.
    assertThat(Math.abs(r.loupe().objective() - r.sklearn().objective()) / r.sklearn().objective()).isLessThan(1e-3);
    assertThat(Math.abs(r.loupe().testAccuracy() - r.sklearn().testAccuracy())).isLessThanOrEqualTo(0.005);
    String table = ProbeBenchmark.table(rounds);
    assertThat(table.lines().toList()).hasSize(3);
    assertThat(table).contains("binary 1000x32", "sklearn / Loupe time");
  }
}
