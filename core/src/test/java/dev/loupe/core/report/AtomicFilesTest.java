package dev.loupe.core.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
  @TempDir
  Path dir;

  @Test
  void writesIntoNewParentDirectories() throws Exception {
    Path target = dir.resolve("a/b/card.md");

    AtomicFiles.write(target, "hello".getBytes(StandardCharsets.UTF_8));

    assertThat(target).hasContent("hello");
  }

  @Test
  void replacesAnExistingFile() throws Exception {
    Path target = Files.writeString(dir.resolve("card.md"), "old");

    AtomicFiles.write(target, "new".getBytes(StandardCharsets.UTF_8));

    assertThat(target).hasContent("new");
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(target);
    }
  }

  @Test
  void failedRenameLeavesTheTargetAndNoTemporaryFile() throws Exception {
    // A non-empty directory cannot be replaced by a file, so the rename fails.
    Path target = Files.createDirectory(dir.resolve("card.md"));
    Files.writeString(target.resolve("keep"), "x");

    assertThatThrownBy(() -> AtomicFiles.write(target, new byte[] {1})).isInstanceOf(IOException.class);

    assertThat(target.resolve("keep")).hasContent("x");
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(target);
    }
  }
}
