package dev.loupe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoupeConfigTest {
  @TempDir
  Path home;

  @Test
  void defaultsResolveAgainstTheHome() {
    LoupeConfig c = LoupeConfig.defaults(home);

    assertThat(c.runDir()).isEqualTo(home.resolve("runs"));
    assertThat(c.pluginDirs()).contains(home.resolve("target/plugins"));
    assertThat(c.serverHost()).isEqualTo("127.0.0.1");
    assertThat(c.serverPort()).isEqualTo(7070);
    assertThat(c.cacheMaxBytes()).isEqualTo(512L << 20);
    assertThat(c.workers()).isEqualTo(2);
  }

  @Test
  void theShippedFileIsValidAndMatchesTheDefaults() {
    // core's tests run in core/, the repository's config/loupe.yaml is one level up.
    Path shipped = Path.of("").toAbsolutePath().getParent().resolve("config/loupe.yaml");
    LoupeConfig c = LoupeConfig.load(shipped, home);
    LoupeConfig d = LoupeConfig.defaults(home);

    assertThat(c.pluginDirs()).isEqualTo(d.pluginDirs());
    assertThat(c.runDir()).isEqualTo(d.runDir());
    assertThat(c.serverPort()).isEqualTo(d.serverPort());
    assertThat(c.cacheMaxBytes()).isEqualTo(d.cacheMaxBytes());
  }

  @Test
  void aFileOverridesSomeKeys() throws Exception {
    Files.createDirectories(home.resolve("config"));
    Files.writeString(home.resolve("config/loupe.yaml"), "server:\n  port: 8080\ncache:\n  max_bytes: 2GiB\njobs:\n  run_dir: /data/runs\n");

    LoupeConfig c = LoupeConfig.load(null, home);

    assertThat(c.serverPort()).isEqualTo(8080);
    assertThat(c.cacheMaxBytes()).isEqualTo(2L << 30);
    assertThat(c.runDir()).isEqualTo(Path.of("/data/runs"));
    assertThat(c.serverHost()).isEqualTo("127.0.0.1");
  }

  @Test
  void wrongKeysAreNamedWithTheirSection() {
    assertThatThrownBy(() -> LoupeConfig.fromDocument(Map.of("server", Map.of("prot", 1)), home, null))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).field()).isEqualTo("server.prot"));
    assertThatThrownBy(() -> LoupeConfig.fromDocument(Map.of("server", Map.of("port", 70000)), home, null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("server.port");
    assertThatThrownBy(() -> LoupeConfig.fromDocument(Map.of("cache", Map.of("max_bytes", "lots")), home, null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cache.max_bytes");
    assertThatThrownBy(() -> LoupeConfig.fromDocument(Map.of("srever", Map.of()), home, null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("srever");
  }

  @Test
  void aMissingExplicitFileIsAnError() {
    assertThatThrownBy(() -> LoupeConfig.load(home.resolve("nope.yaml"), home))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("nope.yaml");
  }

  @Test
  void byteSizesAcceptUnits() {
    assertThat(LoupeConfig.parseBytes("x", "1048576")).isEqualTo(1L << 20);
    assertThat(LoupeConfig.parseBytes("x", "512MB")).isEqualTo(512L << 20);
    assertThat(LoupeConfig.parseBytes("x", "1.5k")).isEqualTo(1536);
  }
}
