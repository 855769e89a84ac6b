package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TokenContextTest {

  @Test
  void aRowCarriesTheTokensDirectlyBeforeItInItsDocument() {
    TokenContext ctx = new TokenContext(3, 4);
    assertThat(ctx.next(7, 0, 10)).isEmpty();
    assertThat(ctx.next(7, 1, 11)).containsExactly(10);
    assertThat(ctx.next(7, 2, 12)).containsExactly(10, 11);
    assertThat(ctx.next(7, 3, 13)).containsExactly(10, 11, 12);
    assertThat(ctx.next(7, 4, 14)).containsExactly(11, 12, 13);
  }

  @Test
  void documentsKeepSeparateContexts() {
    TokenContext ctx = new TokenContext(2, 4);
    ctx.next(1, 0, 100);
    ctx.next(2, 0, 200);
    assertThat(ctx.next(1, 1, 101)).containsExactly(100);
    assertThat(ctx.next(2, 1, 201)).containsExactly(200);
  }

  @Test
  void tokensAcrossAGapInPositionsAreNotContext() {
    TokenContext ctx = new TokenContext(4, 4);
    ctx.next(1, 0, 100);
    ctx.next(1, 1, 101);
    assertThat(ctx.next(1, 5, 105)).isEmpty();
    assertThat(ctx.next(1, 6, 106)).containsExactly(105);
  }
}
