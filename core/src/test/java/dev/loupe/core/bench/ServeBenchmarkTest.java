package dev.loupe.core.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** A small {@code loupe bench serve}: a server JVM, a few followers (one stalled), prompts on tiny. */
class ServeBenchmarkTest {
  @Test
  void everyClientGetsEveryRowAndTheLatenciesAreMeasured() throws Exception {
    ServeBenchmark.Options o = new ServeBenchmark.Options(4, 1, 1, 2, "tiny", 50, 500, "Hello world");

    ServeBenchmark.Result r = ServeBenchmark.run(o, new PrintWriter(new StringWriter()));

    assertThat(r.errors()).isEmpty();
    assertThat(r.rows()).isEqualTo(100);
    assertThat(r.health().count()).isPositive();
    assertThat(r.prompt().count()).isPositive();
    assertThat(r.health().p50()).isPositive().isLessThanOrEqualTo(r.health().p99());
    assertThat(r.rssPeakBytes()).isGreaterThanOrEqualTo(r.rssBaselineBytes()).isPositive();
    assertThat(ServeBenchmark.table(r)).contains("GET /api/health").contains("client errors: 0");
  }

  @Test
  void badOptionsNameTheFlag() {
    assertThatThrownBy(() -> new ServeBenchmark.Options(2, 3, 1, 2, "tiny", 50, 500, "x"))
        .hasMessageContaining("--stalled");
    assertThatThrownBy(() -> new ServeBenchmark.Options(0, 0, 1, 2, "tiny", 50, 500, "x"))
        .hasMessageContaining("--clients");
  }
}
