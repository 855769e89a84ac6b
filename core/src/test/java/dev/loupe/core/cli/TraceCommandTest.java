package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import dev.loupe.sdk.model.RunResult;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe trace} on the tiny model: the file it writes, the top next tokens and its errors. */
class TraceCommandTest {
  @TempDir
  Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  @Test
  void writesTheSameLogitsAsADirectRunAndEveryHookWithItsShape() throws Exception {
    Path file = dir.resolve("trace.safetensors");
    int code = run("trace", "--model", "tiny", "--text", "Hello world",
        "--hooks", "blocks.1.hook_resid_post,blocks.0.attn.hook_pattern,blocks.2.mlp.hook_post", "--out", file.toString());

    assertThat(code).as(err.toString()).isZero();
    float[] expected;
    int[] ids;
    try (LocalModelSession s = LocalModelSession.open("tiny"); RunResult r = s.run(new int[][] {s.encode("Hello world")}, Set.of())) {
      ids = s.encode("Hello world");
      expected = r.output().toFloatArray();
    }
    int n = ids.length;
    try (SafetensorsFile f = Safetensors.open(file)) {
      assertThat(f.dtype("logits")).isEqualTo(DType.F32);
      assertThat(f.shape("logits")).containsExactly(1, n, 256);
      assertThat(f.readFloats("logits")).containsExactly(expected);
      assertThat(f.dtype("tokens")).isEqualTo(DType.I32);
      assertThat(f.shape("tokens")).containsExactly(1, n);
      assertThat(f.readInts("tokens")).containsExactly(ids);
      assertThat(f.shape("blocks.1.hook_resid_post")).containsExactly(1, n, 128);
      assertThat(f.shape("blocks.0.attn.hook_pattern")).containsExactly(1, 4, n, n);
      assertThat(f.shape("blocks.2.mlp.hook_post")).containsExactly(1, n, 512);
    }
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(file); // no temporary file left behind
    }
  }

  @Test
  void topNextTokensAreSortedProbabilitiesSummingToAtMostOne() throws Exception {
    assertThat(run("trace", "--model", "tiny", "--tokens", "72,101,108", "--top", "5", "--json")).isZero();

    JsonNode doc = new ObjectMapper().readTree(out.toString());
    assertThat(doc.get("tokens")).hasSize(3);
    assertThat(doc.get("tokens").get(0).get("id").asInt()).isEqualTo(72);
    JsonNode top = doc.get("top");
    assertThat(top).hasSize(5);
    double sum = 0;
    double previous = 1;
    for (JsonNode t : top) {
      double p = t.get("prob").asDouble();
      assertThat(p).isPositive().isLessThanOrEqualTo(previous);
      previous = p;
      sum += p;
    }
    assertThat(sum).isLessThanOrEqualTo(1.0);
  }

  @Test
  void textOutputShowsTokensAndTopNext() {
    assertThat(run("trace", "--model", "tiny", "--text", "ab", "--top", "3")).isZero();

    assertThat(out.toString()).contains("tiny: 2 tokens").contains("'a'").contains("'b'").contains("top 3 next tokens");
  }

  @Test
  void anUnknownHookIsAUsageErrorNamingItAndTheInfoCommand() {
    int code = run("trace", "--model", "tiny", "--text", "hi", "--hooks", "blocks.9.hook_resid_post");

    assertThat(code).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("'blocks.9.hook_resid_post'").contains("loupe model info tiny");
  }

  @Test
  void aDirectoryAsOutIsAUsageError() {
    assertThat(run("trace", "--model", "tiny", "--text", "hi", "--out", dir.toString())).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("--out").contains("is a directory");
  }

  @Test
  void bothTextAndTokensIsAUsageError() {
    assertThat(run("trace", "--model", "tiny", "--text", "hi", "--tokens", "1,2")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("exactly one of --text or --tokens");
  }

  @Test
  void neitherTextNorTokensIsAUsageError() {
    assertThat(run("trace", "--model", "tiny")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("exactly one of --text or --tokens");
  }

  @Test
  void aTokenOutsideTheVocabularyIsAUsageErrorNamingItsIndex() {
    assertThat(run("trace", "--model", "tiny", "--tokens", "1,2,256")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("--tokens[2] = 256").contains("[0, 256)");
  }
}
