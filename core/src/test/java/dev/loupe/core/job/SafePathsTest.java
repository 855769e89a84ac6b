package dev.loupe.core.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Names from requests resolve inside their root or are refused, naming the field. */
class SafePathsTest {
  @TempDir
  Path tmp;

  @Test
  void relativeNamesResolveInsideTheRoot() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("run/job"));
    Files.createDirectories(root.resolve("results"));
    Files.writeString(root.resolve("results/a.json"), "{}");

    assertThat(SafePaths.existing(root, "path", "results/a.json")).isEqualTo(root.toRealPath().resolve("results/a.json"));
    assertThat(SafePaths.lexical(root, "path", "not/yet/there.txt")).isEqualTo(root.resolve("not/yet/there.txt"));
    assertThatThrownBy(() -> SafePaths.existing(root, "path", "results/none.json")).isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void namesThatLeaveTheRootAreRefusedNamingTheField() {
    Path root = tmp.resolve("root");
    for (String bad : new String[] {"../x", "a/../../x", "a/..", "..", "/etc/passwd", "C:/x", "a//b", "./a", "a/./b",
        "a\\\\..\\\\b", "a\\u0000b", "", "a/"}) {
      assertThatThrownBy(() -> SafePaths.lexical(root, "path", bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("'path': ");
    }
  }

  @Test
  void linksThatLeadOutsideTheRootAreRefused() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    Path outside = Files.writeString(tmp.resolve("secret.txt"), "secret");
    Files.createSymbolicLink(root.resolve("link.txt"), outside);
    Files.createSymbolicLink(root.resolve("dir"), tmp);
    Files.writeString(root.resolve("inside.txt"), "ok");
    Files.createSymbolicLink(root.resolve("alias.txt"), root.resolve("inside.txt"));

    assertThatThrownBy(() -> SafePaths.existing(root, "path", "link.txt")).hasMessageContaining("outside");
    assertThatThrownBy(() -> SafePaths.existing(root, "path", "dir/secret.txt")).hasMessageContaining("outside");
    assertThat(SafePaths.existing(root, "path", "alias.txt")).isEqualTo(root.toRealPath().resolve("inside.txt"));
  }

  @Test
  void plainNamesAreLettersDigitsAndAFewMarks() {
    assertThat(SafePaths.name("id", "sae-demo_1.2")).isEqualTo("sae-demo_1.2");
    for (String bad : new String[] {"..", ".hidden", "-x", "a/b", "a b", "", "x".repeat(129)}) {
      assertThatThrownBy(() -> SafePaths.name("id", bad)).as(bad).hasMessageStartingWith("'id': ");
    }
  }
}
