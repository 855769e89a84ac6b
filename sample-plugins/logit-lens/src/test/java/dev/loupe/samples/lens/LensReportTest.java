package dev.loupe.samples.lens;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The report's small pieces: text bars and table-safe tokens. */
class LensReportTest {

  @Test
  void barsFillInEighthsOfABlockAndKeepTheirWidth() {
    assertThat(LensReport.bar(0.5, 4)).isEqualTo("██  ");
    assertThat(LensReport.bar(1.0 / 32, 4)).isEqualTo("▏   ");
    assertThat(LensReport.bar(0, 4)).isEqualTo("    ");
    assertThat(LensReport.bar(1.7, 4)).isEqualTo("████");
    assertThat(LensReport.withBar(0.25, 1.0, true)).isEqualTo("0.250 `████            `");
    assertThat(LensReport.withBar(Double.NaN, 1.0, true)).isEqualTo("n/a");
  }

  @Test
  void tokensShowTheirWhitespaceAndNeverBreakATableRow() {
    assertThat(LensReport.token(" le")).isEqualTo("`␣le`");
    assertThat(LensReport.token("\n")).isEqualTo("`⏎`");
    assertThat(LensReport.text("a|b `c`")).isEqualTo("`a\\|b ʻcʻ`");
  }
}
