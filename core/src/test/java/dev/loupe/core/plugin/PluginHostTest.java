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
  void anUnknownMethodNamesThePluginsThatFailedToLoad() throws Exception {
    zip("future.zip", "plugin.properties",
        "plugin.id=future\nplugin.version=1.0.0\nplugin.class=x.Y\nplugin.requires=>=99.0.0\n");
    try (PluginHost host = host()) {
      assertThatThrownBy(() -> host.method("future-method"))
          .isInstanceOf(UnknownMethodException.class)
          .hasMessageContaining("unknown method 'future-method'")
          .hasMessageContaining("1 plugin failed to load: future (" + dir.resolve("future.zip") + "): requires Loupe SDK "
              + ">=99.0.0 but this Loupe has SDK " + host.systemVersion());
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

  @Test
  void aDevelopmentModuleIsDescribedByItsManifestInTargetClasses() throws Exception {
    Path module = dir.resolve("my-plugin");
    Path meta = Files.createDirectories(module.resolve("target/classes/META-INF"));
    Files.writeString(meta.resolve("MANIFEST.MF"), "Manifest-Version: 1.0\nPlugin-Id: manifest-dev\n"
        + "Plugin-Version: 0.3.0\nPlugin-Class: org.pf4j.Plugin\nPlugin-Requires: 0.1.0\n\n");

    try (PluginHost host = PluginHost.builder().developmentPlugin(module).extractDir(extract).build()) {
      assertThat(host.plugins()).singleElement().satisfies(p -> {
        assertThat(p.id()).isEqualTo("manifest-dev");
        assertThat(p.version()).isEqualTo("0.3.0");
      });
      // It loads and starts, but a plugin without methods is worth a warning.
      assertThat(host.failures()).singleElement()
          .satisfies(f -> assertThat(f.reason()).contains("contributes no analysis methods"));
    }
  }

  @Test
  void aDevelopmentModuleIsDescribedByPluginPropertiesInTargetClasses() throws Exception {
    Path module = dir.resolve("other-plugin");
    Path classes = Files.createDirectories(module.resolve("target/classes"));
    Files.writeString(classes.resolve("plugin.properties"),
        "plugin.id=props-dev\nplugin.version=1.2.3\nplugin.class=org.pf4j.Plugin\nplugin.requires=>=0.1.0\n");

    try (PluginHost host = PluginHost.builder().developmentPlugin(module).extractDir(extract).build()) {
      assertThat(host.plugins()).extracting(LoadedPlugin::id).containsExactly("props-dev");
    }
  }
}
