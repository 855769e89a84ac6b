package dev.loupe.sdk.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loupe's logistic regression against scikit-learn's on identical float32 data (skipped without sklearn). */
class SklearnAgreementTest {
  private static final Path PYTHON = Path.of("/usr/bin/python3");

  @TempDir
  Path folder;

  @BeforeAll
  static void requireSklearn() throws Exception {
    assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON);
    Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import sklearn, numpy").redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assumeTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "scikit-learn not importable by " + PYTHON);
  }

  private void assertAgrees(ProbeBenchmark.Dataset data, double c) throws Exception {
    ProbeBenchmark.writeNpy(data, folder);
    ProbeBenchmark.SklearnFit reference = ProbeBenchmark.runSklearn(PYTHON, folder, data.name(), c, 1e-10, 100_000, 120);
    LogisticModel ours = LogisticRegression.builder().c(c).tolerance(1e-10).maxIterations(100_000).build()
        .fit(data.trainX(), data.trainY());

    double[][] w = ours.coefficients();
    assertThat(w.length).isEqualTo(reference.coefficients().length);
    double scale = 0;
    for (double[] row : reference.coefficients()) {
      for (double v : row) {
        scale = Math.max(scale, Math.abs(v));
      }
    }
    for (int o = 0; o < w.length; o++) {
      for (int j = 0; j < w[o].length; j++) {
        double expected = reference.coefficients()[o][j];
        // 1e-3 relative. sklearn 1.2 stops on scipy's default relative decrease (2.2e-9) well before its
        // gradient tolerance, which leaves ~1e-5 absolute error; hence the floor for near-zero weights.
        assertThat(w[o][j]).as("coefficient [%d][%d]", o, j)
            .isCloseTo(expected, within(1e-3 * Math.max(Math.abs(expected), 1e-2 * scale)));
      }
      assertThat(ours.intercepts()[o]).as("intercept %d", o)
          .isCloseTo(reference.intercepts()[o], within(1e-3 * Math.max(Math.abs(reference.intercepts()[o]), 1e-2 * scale)));
    }
    // Same objective, and Loupe gets at least as low (sklearn stops earlier, see above).
    assertThat(ours.report().objective()).isLessThanOrEqualTo(reference.timing().objective() * (1 + 1e-9));
    assertThat(ours.report().objective()).isCloseTo(reference.timing().objective(),
        within(1e-6 * reference.timing().objective()));
    double testAccuracy = ProbeBenchmark.accuracy(ours, data.testX(), data.testY(), data.classes());
    assertThat(testAccuracy).isCloseTo(reference.timing().testAccuracy(), within(0.005));
  }

  @Test
  void binaryCoefficientsAndTestAccuracyMatchScikitLearn() throws Exception {
    assertAgrees(ProbeBenchmark.binary(2000, 24, 11), 0.3);
  }

  @Test
  void multinomialCoefficientsAndTestAccuracyMatchScikitLearn() throws Exception {
    assertAgrees(ProbeBenchmark.multinomial(2400, 16, 5, 12), 1.0);
  }
}
