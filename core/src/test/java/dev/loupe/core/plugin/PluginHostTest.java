package dev.loupe.core.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host's behaviour with plugins that cannot load; loading real plugins is tested in core/it. */
class PluginHostTest {
  @TempDir
  Path dir;
  @TempDir
  Path extract;

  private PluginHost host() {
    return PluginHost.builder().pluginDir(dir).extractDir(extract).build();
  }

  private void zip(String name, String entry, String content) throws Exception {
    try (OutputStream raw = Files.newOutputStream(dir.resolve(name)); ZipOutputStream z = new ZipOutputStream(raw)) {
      z.putNextEntry(new ZipEntry(entry));
      z.write(content.getBytes(StandardCharsets.UTF_8));
      z.closeEntry();
    }
  }

  @Test
  void anEmptyDirectoryGivesNoMethodsAndNoFailures() {
    try (PluginHost host = host()) {
      assertThat(host.methods()).isEmpty();
      assertThat(host.failures()).isEmpty();
      assertThatThrownBy(() -> host.method("sae"))
          .isInstanceOf(UnknownMethodException.class)
          .hasMessageContaining("'sae'");
    }
  }

  @Test
  void aMissingPluginDirectoryIsSkipped() {
    try (PluginHost host = PluginHost.builder().pluginDir(dir.resolve("absent")).extractDir(extract).build()) {
      assertThat(host.failures()).isEmpty();
    }
  }

  @Test
  void aZipWithoutDescriptorIsRecordedNotThrown() throws Exception {
    zip("garbage.zip", "META-INF/MANIFEST.MF", "this is: not\n a manifest at all\n\n");
    try (PluginHost host = host()) {
      assertThat(host.failures()).singleElement().satisfies(f -> {
        assertThat(f.path()).isEqualTo(dir.resolve("garbage.zip"));
        assertThat(f.reason()).contains("invalid plugin descriptor").contains("neither a plugin.properties");
      });
    }
  }

  @Test
  void aDescriptorWithoutIdIsRecorded() throws Exception {
    zip("noid.zip", "plugin.properties", "plugin.version=1.0.0\nplugin.class=x.Y\n");
    try (PluginHost host = host()) {
      assertThat(host.failures()).singleElement()
          .satisfies(f -> assertThat(f.reason()).contains("plugin.id / Plugin-Id is missing"));
    }
  }

  @Test
  void aFileThatIsNotAZipIsRecorded() throws Exception {
    Files.writeString(dir.resolve("broken.zip"), "not a zip");
    try (PluginHost host = host()) {
      assertThat(host.failures()).singleElement()
          .satisfies(f -> assertThat(f.reason()).startsWith("cannot read plugin zip"));
    }
  }

  @Test
  void anUnbuiltDevelopmentModuleIsRecorded() {
    try (PluginHost host = PluginHost.builder().developmentPlugin(dir).extractDir(extract).build()) {
      assertThat(host.failures()).singleElement()
          .satisfies(f -> assertThat(f.reason()).contains("target/classes").contains("mvn compile"));
    }
  }
}
