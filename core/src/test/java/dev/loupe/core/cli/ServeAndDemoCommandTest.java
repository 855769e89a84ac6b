package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe serve} and {@code loupe demo} refusing bad options; the full demo runs in core/it with real plugins. */
class ServeAndDemoCommandTest {
  @TempDir
  Path home;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    String[] all = new String[args.length + 2];
    all[0] = "--home";
    all[1] = home.toString();
    System.arraycopy(args, 0, all, 2, args.length);
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), all);
  }

  @Test
  void serveRefusesAShortToken() {
    assertThat(run("serve", "--host", "0.0.0.0", "--port", "0", "--token", "short")).isEqualTo(LoupeCli.USAGE);

    assertThat(err.toString()).contains("--token").contains("16").doesNotContain("\tat ");
    assertThat(out.toString()).doesNotContain("serving");
  }

  @Test
  void serveRefusesATokenWithSpaces() {
    assertThat(run("serve", "--port", "0", "--token", "a token with spaces in it")).isEqualTo(LoupeCli.USAGE);

    assertThat(err.toString()).contains("--token").doesNotContain("\tat ");
  }

  @Test
  void serveRefusesAnUnknownHost() {
    assertThat(run("serve", "--host", "no-such-host.invalid")).isEqualTo(LoupeCli.USAGE);

    assertThat(err.toString()).contains("no-such-host.invalid").contains("unknown host").doesNotContain("\tat ");
  }

  @Test
  void demoWithAMissingMethodNamesItAndLeavesNoRunDirectory() {
    Path runDir = home.resolve("demo-run");

    assertThat(run("demo", "--method", "sae", "--tokens", "100", "--out", runDir.toString())).isEqualTo(LoupeCli.USAGE);

    assertThat(err.toString()).contains("'sae'").doesNotContain("\tat ");
    assertThat(runDir).doesNotExist();
  }

  @Test
  void demoRefusesZeroTokens() {
    assertThat(run("demo", "--tokens", "0")).isEqualTo(LoupeCli.USAGE);

    assertThat(err.toString()).contains("--tokens must be > 0");
  }
}
