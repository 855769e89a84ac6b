package dev.loupe.core.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StreamOptionsTest {

  @Test
  void roundTripsThroughJson() {
    StreamOptions options = new StreamOptions().setCredits(3).setMaxChunkBytes(1 << 20)
        .setSubscribeTimeout(Duration.ofSeconds(5)).setLivenessInterval(Duration.ofMillis(500))
        .setLivenessTimeout(Duration.ofSeconds(3)).setHookName("blocks.2.hook_resid_post").setWidth(384)
        .setExpectedRows(1_000_000);

    assertThat(StreamOptions.fromJson(new JsonObject(options.toJson().encode()))).isEqualTo(options);
  }

  @Test
  void defaultsAreEightCreditsAndFourMebibyteChunks() {
    StreamOptions options = StreamOptions.fromJson(new JsonObject());

    assertThat(options.getCredits()).isEqualTo(8);
    assertThat(options.getMaxChunkBytes()).isEqualTo(4 * 1024 * 1024);
    assertThat(options.getHookName()).isNull();
    assertThat(options.getWidth()).isZero();
  }

  @Test
  void badValuesAreRejectedNamingTheField() {
    assertThatThrownBy(() -> new StreamOptions().setCredits(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("credits").hasMessageContaining("0");
    assertThatThrownBy(() -> new StreamOptions().setExpectedRows(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expectedRows");
    assertThatThrownBy(() -> new StreamOptions().setMaxChunkBytes(100))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxChunkBytes");
    assertThatThrownBy(() -> new StreamOptions().setLivenessTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("livenessTimeout");
    assertThatThrownBy(() -> StreamOptions.fromJson(new JsonObject().put("credits", "many")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("wrong type");
  }

  @Test
  void addressesAreBuiltFromValidIdsOnly() {
    assertThat(StreamAddresses.control("job-1.resid")).isEqualTo("loupe.stream.job-1.resid.control");
    assertThat(StreamAddresses.data("s", "c-9")).isEqualTo("loupe.stream.s.to.c-9");
    assertThatThrownBy(() -> StreamAddresses.control("a b"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("streamId").hasMessageContaining("'a b'");
  }
}
