package dev.loupe.sdk.io;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HalfFloatsTest {

  @Test
  void everyHalfBitPatternSurvivesWideningAndNarrowing() {
    for (int h = 0; h < 0x10000; h++) {
      float f = HalfFloats.halfToFloat((short) h);
      if (Float.isNaN(f)) {
        assertThat(Float.isNaN(HalfFloats.halfToFloat(HalfFloats.floatToHalf(f)))).isTrue();
      } else {
        assertThat(HalfFloats.floatToHalf(f) & 0xffff).as("half 0x%04x", h).isEqualTo(h);
      }
    }
  }

  @Test
  void halfDecodesKnownValues() {
    assertThat(HalfFloats.halfToFloat((short) 0x3c00)).isEqualTo(1.0f);
    assertThat(HalfFloats.halfToFloat((short) 0xc000)).isEqualTo(-2.0f);
    assertThat(HalfFloats.halfToFloat((short) 0x7bff)).isEqualTo(65504f);
    assertThat(HalfFloats.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(HalfFloats.halfToFloat((short) 0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
  }

  @Test
  void halfRoundsToNearestEvenAndOverflowsToInfinity() {
    assertThat(HalfFloats.floatToHalf(1 + 0x1p-11f)).isEqualTo((short) 0x3c00); // tie -> even (down)
    assertThat(HalfFloats.floatToHalf(1 + 3 * 0x1p-11f)).isEqualTo((short) 0x3c02); // tie -> even (up)
    assertThat(HalfFloats.floatToHalf(65519f)).isEqualTo((short) 0x7bff);
    assertThat(HalfFloats.floatToHalf(65520f)).isEqualTo((short) 0x7c00);
    assertThat(HalfFloats.floatToHalf(0x1p-25f)).isEqualTo((short) 0); // tie -> even zero
    assertThat(HalfFloats.floatToHalf(0x1.8p-25f)).isEqualTo((short) 1);
  }

  @Test
  void bf16RoundTripsEveryPatternAndRoundsToNearestEven() {
    for (int h = 0; h < 0x10000; h++) {
      float f = HalfFloats.bf16ToFloat((short) h);
      if (!Float.isNaN(f)) {
        assertThat(HalfFloats.floatToBf16(f) & 0xffff).isEqualTo(h);
      }
    }
    assertThat(HalfFloats.floatToBf16(1.0f)).isEqualTo((short) 0x3f80);
    assertThat(HalfFloats.floatToBf16(Float.intBitsToFloat(0x3f808000))).isEqualTo((short) 0x3f80);
    assertThat(HalfFloats.floatToBf16(Float.intBitsToFloat(0x3f818000))).isEqualTo((short) 0x3f82);
    assertThat(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.intBitsToFloat(0x7f800001))))).isTrue();
  }
}
