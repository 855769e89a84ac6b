package dev.loupe.core.stream;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SyntheticActivationsTest {

  @Test
  void sameSeedAndSequenceGiveTheSameBatchAndOthersDiffer() {
    assertThat(SyntheticActivations.batch(5, 2, 8, 16).values())
        .isEqualTo(SyntheticActivations.batch(5, 2, 8, 16).values())
        .isNotEqualTo(SyntheticActivations.batch(5, 3, 8, 16).values())
        .isNotEqualTo(SyntheticActivations.batch(6, 2, 8, 16).values());
  }

  @Test
  void valuesLieInMinusOneToOne() {
    for (float v : SyntheticActivations.batch(1, 1, 64, 64).values()) {
      assertThat(v).isBetween(-1f, 1f);
    }
  }
}
