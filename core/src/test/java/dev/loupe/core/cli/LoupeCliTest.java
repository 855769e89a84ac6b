package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Command-line behaviour that needs no plugin; running real plugins is tested in core/it. */
class LoupeCliTest {
  @TempDir
  Path home;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  @Test
  void versionPrintsTheSdkVersion() {
    assertThat(run("--version")).isZero();
    assertThat(out.toString()).startsWith("loupe ").contains("plugin SDK");
  }

  @Test
  void helpListsTheCommands() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString()).contains("plugins").contains("job").contains("models").contains("trace")
        .contains("generate");
  }

  @Test
  void noCommandIsAUsageError() {
    assertThat(run()).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("Usage: loupe");
  }

  @Test
  void aMissingJobFileIsAUsageErrorWithoutStackTrace() {
    int code = run("--home", home.toString(), "job", "activation-stats", "--config", home.resolve("nope.yaml").toString());

    assertThat(code).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("nope.yaml").contains("does not exist").doesNotContain("\tat ");
  }

  @Test
  void anUnknownMethodIsAUsageError() {
    int code = run("--home", home.toString(), "--plugins-dir", home.toString(), "job", "sae");

    assertThat(code).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("unknown method 'sae'");
  }

  @Test
  void pluginsWithNoneLoadedSaysWhereItLooked() {
    assertThat(run("--home", home.toString(), "plugins")).isZero();
    assertThat(out.toString()).contains("No analysis methods").contains(home.toString());
  }

  @Test
  void anUnexpectedErrorIsOneLineWithThePathOfTheLog() {
    StringWriter w = new StringWriter();
    int code = LoupeCli.handle(new IllegalStateException("disk on fire"), new PrintWriter(w, true));

    assertThat(code).isEqualTo(LoupeCli.JOB_FAILED);
    assertThat(w.toString().strip()).doesNotContain("\n")
        .contains("unexpected IllegalStateException: disk on fire")
        .contains(LoupeCli.logFile().toString());
  }
}
