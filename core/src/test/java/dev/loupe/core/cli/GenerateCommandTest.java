package dev.loupe.core.cli;

import dev.loupe.core.model.TokenSampler;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code loupe generate} on the tiny model: greedy decoding, seeded sampling, limits and errors. */
class GenerateCommandTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  private int[] generatedIds(String... args) throws Exception {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    int code = LoupeCli.run(new PrintWriter(o), new PrintWriter(e), args);
    assertThat(code).as(e.toString()).isZero();
    JsonNode tokens = new ObjectMapper().readTree(o.toString()).get("tokens");
    int[] ids = new int[tokens.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = tokens.get(i).asInt();
    }
    return ids;
  }

  @Test
  void greedyEqualsAHandRolledArgmaxLoop() throws Exception {
    int[] cli = generatedIds("generate", "--model", "tiny", "--text", "The cat", "--max-new-tokens", "12", "--json");

    int[] expected = new int[12];
    try (LocalModelSession s = LocalModelSession.open("tiny")) {
      int[] seq = s.encode("The cat");
      for (int step = 0; step < 12; step++) {
        try (RunResult r = s.run(new int[][] {seq}, Set.of())) {
          float[] logits = r.output().toFloatArray();
          int base = (seq.length - 1) * 256;
          int best = 0;
          for (int v = 1; v < 256; v++) {
            if (logits[base + v] > logits[base + best]) {
              best = v;
            }
          }
          expected[step] = best;
          seq = Arrays.copyOf(seq, seq.length + 1);
          seq[seq.length - 1] = best;
        }
      }
    }
    assertThat(cli).containsExactly(expected);
  }

  @Test
  void samplingWithTheSameSeedIsReproducibleAndAnotherSeedDiffers() throws Exception {
    String[] base = {"generate", "--model", "tiny", "--text", "Once", "--max-new-tokens", "16", "--temperature", "1.0",
        "--json", "--seed"};
    int[] a = generatedIds(with(base, "11"));
    int[] b = generatedIds(with(base, "11"));
    int[] c = generatedIds(with(base, "12"));

    assertThat(a).hasSize(16).containsExactly(b);
    assertThat(c).isNotEqualTo(a);
  }

  @Test
  void topKOfOneEqualsGreedy() throws Exception {
    int[] greedy = generatedIds("generate", "--model", "tiny", "--text", "Once", "--max-new-tokens", "8", "--json");
    int[] topOne = generatedIds("generate", "--model", "tiny", "--text", "Once", "--max-new-tokens", "8",
        "--temperature", "1.5", "--top-k", "1", "--seed", "3", "--json");

    assertThat(topOne).containsExactly(greedy);
  }

  @Test
  void streamsThePromptAndContinuationAndReportsSpeed() {
    assertThat(run("generate", "--model", "tiny", "--text", "Hi", "--max-new-tokens", "5")).isZero();

    assertThat(out.toString()).startsWith("Hi");
    assertThat(err.toString()).contains("generated 5 tokens").contains("tokens/s");
  }

  @Test
  void stopsOnceTheSequenceFillsTheContext() throws Exception {
    // tiny's context is 256 byte tokens: a 250-byte prompt leaves room for 7 predictions
    String prompt = "x".repeat(250);
    StringWriter o = new StringWriter();
    int code = LoupeCli.run(new PrintWriter(o), new PrintWriter(err), "generate", "--model", "tiny", "--text", prompt,
        "--max-new-tokens", "20", "--json");

    assertThat(code).isZero();
    JsonNode doc = new ObjectMapper().readTree(o.toString());
    assertThat(doc.get("tokens")).hasSize(7);
    assertThat(doc.get("stop").asText()).isEqualTo("context");
  }

  @Test
  void aPromptLongerThanTheContextKeepsItsLastTokens() throws Exception {
    String prompt = "a".repeat(100) + "b".repeat(200);
    StringWriter o = new StringWriter();
    int code = LoupeCli.run(new PrintWriter(o), new PrintWriter(err), "generate", "--model", "tiny", "--text", prompt,
        "--max-new-tokens", "3", "--json");

    assertThat(code).isZero();
    JsonNode doc = new ObjectMapper().readTree(o.toString());
    assertThat(doc.get("truncatedPromptTokens").asInt()).isEqualTo(44);
    assertThat(doc.get("promptTokens")).hasSize(256);
    assertThat(doc.get("tokens")).hasSize(1);
    assertThat(err.toString()).contains("keeping the last 256");
  }

  @Test
  void badSamplingSettingsAreUsageErrors() {
    assertThat(run("generate", "--model", "tiny", "--text", "Hi", "--top-p", "0")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("--top-p must be in (0, 1]");
  }

  @Test
  void aNonCausalModelIsRefusedWithAClearMessage() {
    ModelSession encoder = new EncoderOnly();

    assertThatThrownBy(() -> GenerateCommand.generate(encoder, new int[] {1, 2}, 4, new TokenSampler(0, 0, 1, 0), id -> { }))
        .isInstanceOf(LoupeCli.CliException.class)
        .hasMessageContaining("'bert-tiny'").hasMessageContaining("not a causal language model");
  }

  @Test
  void streamingHoldsBackAnIncompleteUtf8CharacterUntilItCompletes() {
    StringWriter shown = new StringWriter();
    GenerateCommand.StreamingText stream = new GenerateCommand.StreamingText(new ByteLevel(), new PrintWriter(shown));

    stream.accept('a');
    stream.accept(0xC3); // first byte of 'é'
    assertThat(shown.toString()).isEqualTo("a");
    stream.accept(0xA9);
    assertThat(shown.toString()).isEqualTo("aé");
    stream.accept(0xE2); // an incomplete '€' at the end is shown by finish(), as the tokenizer decodes it
    stream.finish();
    assertThat(shown.toString()).isEqualTo("aé\uFFFD");
  }

  private static String[] with(String[] base, String last) {
    String[] a = Arrays.copyOf(base, base.length + 1);
    a[base.length] = last;
    return a;
  }

  /** Decodes token ids as bytes of UTF-8, like a byte-level tokenizer; nothing else is used. */
  private static final class ByteLevel extends EncoderOnly {
    @Override
    public String decode(int[] tokenIds) {
      byte[] b = new byte[tokenIds.length];
      for (int i = 0; i < b.length; i++) {
        b[i] = (byte) tokenIds[i];
      }
      return new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /** An encoder: generation must stop at its info, before any forward pass. */
  private static class EncoderOnly implements ModelSession {
    @Override
    public ModelInfo info() {
      return new ModelInfo("bert-tiny", "bert", false, 2, 64, 2, 32, 256, 100, 128, 1000, List.of(), Map.of());
    }

    @Override
    public int[] encode(String text) {
      throw new AssertionError("not expected");
    }

    @Override
    public String decode(int[] tokenIds) {
      throw new AssertionError("not expected");
    }

    @Override
    public String tokenText(int tokenId) {
      throw new AssertionError("not expected");
    }

    @Override
    public RunResult run(int[][] tokens, Set<String> capture) {
      throw new AssertionError("not expected");
    }

    @Override
    public Trace trace(int[][] tokens) {
      throw new AssertionError("not expected");
    }

    @Override
    public NDArray unembed(NDArray residual) {
      throw new AssertionError("not expected");
    }
  }
}
