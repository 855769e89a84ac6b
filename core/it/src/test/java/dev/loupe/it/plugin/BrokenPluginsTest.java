package dev.loupe.it.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.plugin.PluginFailure;
import dev.loupe.core.plugin.PluginHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A plugin directory full of trouble: every problem is reported and the good plugin still loads. */
class BrokenPluginsTest {
  @TempDir
  static Path tmp;

  private static PluginHost host;

  @BeforeAll
  static void load() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("plugins"));
    Files.copy(PluginFixtures.activationStatsZip(), dir.resolve("activation-stats.zip"));
    PluginFixtures.garbageManifestZip(dir.resolve("garbage.zip"));
    PluginFixtures.throwingPlugin(dir.resolve("boom.jar"));
    PluginFixtures.futurePlugin(dir.resolve("future.jar"));
    PluginFixtures.emptyPlugin(dir.resolve("hollow.jar"));
    PluginFixtures.bundlingPlugin(dir.resolve("bundler.jar"));
    // The same method id from a second plugin ('zz' sorts after the original).
    PluginFixtures.withPluginId(PluginFixtures.activationStatsZip(), "stats-copy", dir.resolve("zz-stats-copy.zip"));
    host = PluginHost.builder().pluginDir(dir).extractDir(tmp.resolve("expanded")).build();
  }

  @AfterAll
  static void close() {
    host.close();
  }

  private static PluginFailure failureOf(String file) {
    List<PluginFailure> f = host.failures().stream()
        .filter(x -> x.path() != null && x.path().getFileName().toString().equals(file)).toList();
    assertThat(f).as("failures of " + file + " among " + host.failures()).hasSize(1);
    return f.get(0);
  }

  @Test
  void theGoodPluginStillLoads() {
    assertThat(host.method("activation-stats").pluginId()).isEqualTo("activation-stats");
    assertThat(host.methods()).hasSize(1);
    assertThat(host.failures()).hasSize(6);
  }

  @Test
  void aGarbageDescriptorIsReportedWithItsPath() {
    assertThat(failureOf("garbage.zip").reason()).contains("invalid plugin descriptor");
  }

  @Test
  void aPluginWhoseStartThrowsIsReportedWithTheMessage() {
    PluginFailure f = failureOf("boom.jar");
    assertThat(f.pluginId()).isEqualTo("boom");
    assertThat(f.reason()).isEqualTo("failed to start: cannot reach the licence server");
  }

  @Test
  void aPluginForAnotherSdkIsRefusedSayingWhy() {
    PluginFailure f = failureOf("future.jar");
    assertThat(f.pluginId()).isEqualTo("future");
    assertThat(f.reason()).contains("requires Loupe SDK >=99.0.0").contains("SDK " + host.systemVersion());
  }

  @Test
  void aPluginWithoutMethodsIsReported() {
    assertThat(failureOf("hollow.jar").reason()).contains("contributes no analysis methods").contains("@org.pf4j.Extension");
  }

  @Test
  void aPluginBundlingTheSdkIsToldToMarkItProvided() {
    assertThat(failureOf("bundler.jar").reason()).contains("bundles its own copy of the Loupe SDK").contains("provided");
  }

  @Test
  void aDuplicateMethodIdIsReportedAndTheFirstKept() {
    PluginFailure f = failureOf("zz-stats-copy.zip");
    assertThat(f.pluginId()).isEqualTo("stats-copy");
    assertThat(f.reason()).contains("method id 'activation-stats' is already provided by plugin 'activation-stats'");
  }
}
