package dev.loupe.core.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PluginArchivesTest {
  @TempDir
  Path tmp;

  private Path zip(String entry, String content) throws IOException {
    Path z = tmp.resolve("p.zip");
    try (OutputStream raw = Files.newOutputStream(z); ZipOutputStream out = new ZipOutputStream(raw)) {
      out.putNextEntry(new ZipEntry(entry));
      out.write(content.getBytes(StandardCharsets.UTF_8));
      out.closeEntry();
    }
    return z;
  }

  @Test
  void aZipIsExpandedOnceAndReused() throws Exception {
    PluginArchives a = new PluginArchives(tmp.resolve("cache"));
    Path z = zip("lib/x.txt", "hello");

    Path first = a.expand(z);
    Path second = a.expand(z);

    assertThat(first).isEqualTo(second);
    assertThat(first.resolve("lib/x.txt")).hasContent("hello");
  }

  @Test
  void aRebuiltZipReplacesItsStaleExpansion() throws Exception {
    PluginArchives a = new PluginArchives(tmp.resolve("cache"));
    Path old = a.expand(zip("plugin.properties", "v=1"));
    Path z = zip("plugin.properties", "v=22");
    Files.setLastModifiedTime(z, FileTime.fromMillis(System.currentTimeMillis() + 5000));

    Path fresh = a.expand(z);

    assertThat(fresh).isNotEqualTo(old);
    assertThat(fresh.resolve("plugin.properties")).hasContent("v=22");
    assertThat(old).doesNotExist();
  }

  @Test
  void anEntryEscapingTheDirectoryIsRefused() throws Exception {
    PluginArchives a = new PluginArchives(tmp.resolve("cache"));
    Path z = zip("../../evil.txt", "x");

    assertThatThrownBy(() -> a.expand(z)).isInstanceOf(IOException.class).hasMessageContaining("outside");
    assertThat(tmp.resolve("evil.txt")).doesNotExist();
  }
}
