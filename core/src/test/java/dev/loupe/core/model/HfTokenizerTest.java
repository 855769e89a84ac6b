package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenizer.json that ByteTokenizer writes, run by the Hugging Face tokenizers library. */
class HfTokenizerTest {
  private static final ByteTokenizer BYTES = ByteTokenizer.instance();
  private static HfTokenizer hf;

  @TempDir
  Path dir;

  @BeforeAll
  static void load() {
    hf = HfTokenizer.fromJson(BYTES.toTokenizerJson(), "ByteTokenizer");
  }

  @AfterAll
  static void close() {
    hf.close();
  }

  /** Random text over ASCII, controls, Latin-1, CJK and astral-plane code points (emoji, math letters). */
  private static String randomText(Random r, int codePoints) {
    int[][] ranges = {{0x00, 0x7f}, {0x80, 0x7ff}, {0x800, 0xd7ff}, {0xe000, 0xfffd}, {0x10000, 0x10ffff}};
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < codePoints; i++) {
      int[] range = ranges[r.nextInt(ranges.length)];
      sb.appendCodePoint(range[0] + r.nextInt(range[1] - range[0] + 1));
    }
    return sb.toString();
  }

  @Test
  void encodesArbitraryUtf8ToTheSameIdsAsByteTokenizer() {
    Random r = new Random(7);
    for (int i = 0; i < 200; i++) {
      String text = randomText(r, r.nextInt(40));
      assertThat(hf.encode(text)).as("ids of %s", text).containsExactly(BYTES.encode(text));
    }
    assertThat(hf.encode("héllo 世界 🙂\r\n\t\u0000 ")).containsExactly(BYTES.encode("héllo 世界 🙂\r\n\t\u0000 "));
  }

  @Test
  void decodeReturnsTheEncodedText() {
    Random r = new Random(8);
    for (int i = 0; i < 200; i++) {
      String text = randomText(r, r.nextInt(40));
      assertThat(hf.decode(hf.encode(text))).isEqualTo(text);
    }
  }

  @Test
  void longTextIsNotTruncated() {
    String text = "Loupe looks inside transformers. ".repeat(100);
    assertThat(hf.encode(text)).hasSize(text.getBytes(StandardCharsets.UTF_8).length);
  }

  @Test
  void vocabularyAndTokenTextMatchByteTokenizer() {
    assertThat(hf.vocabSize()).isEqualTo(ByteTokenizer.VOCAB_SIZE);
    for (int id = 0; id < ByteTokenizer.VOCAB_SIZE; id++) {
      assertThat(hf.tokenText(id)).as("token %d", id).isEqualTo(BYTES.tokenText(id));
    }
  }

  @Test
  void mergedTokensEncodeAsOneIdAndDisplayAsTheirText() throws Exception {
    // Two merges over the byte alphabet: "t h" and the two bytes of "é" (shown as Ã and © by ByteLevel).
    ObjectNode root = (ObjectNode) new ObjectMapper().readTree(BYTES.toTokenizerJson());
    ObjectNode model = (ObjectNode) root.get("model");
    ((ObjectNode) model.get("vocab")).put("th", 256).put("\u00c3\u00a9", 257);
    model.putArray("merges").add("t h").add("\u00c3 \u00a9");
    try (HfTokenizer merged = HfTokenizer.fromJson(root.toString(), "merged")) {
      assertThat(merged.vocabSize()).isEqualTo(258);
      assertThat(merged.encode("thé!")).containsExactly(256, 257, '!');
      assertThat(merged.decode(new int[] {256, 257, '!'})).isEqualTo("thé!");
      assertThat(merged.tokenText(257)).isEqualTo("é");
      assertThat(merged.tokenText(0xc3)).isEqualTo("\\xc3");
    }
  }

  @Test
  void idsOutsideTheVocabularyAreNamed() {
    assertThatThrownBy(() -> hf.decode(new int[] {65, 300})).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tokenIds[1] = 300").hasMessageContaining("[0, 256)");
    assertThatThrownBy(() -> hf.tokenText(-1)).hasMessageContaining("token id = -1");
  }

  @Test
  void writesBackTheDocumentItWasBuiltFrom() {
    assertThat(hf.toTokenizerJson()).isEqualTo(BYTES.toTokenizerJson());
  }

  @Test
  void loadsATokenizerFile() throws Exception {
    Path file = dir.resolve("tokenizer.json");
    Files.writeString(file, BYTES.toTokenizerJson());
    try (HfTokenizer t = HfTokenizer.load(file)) {
      assertThat(t.encode("ok")).containsExactly('o', 'k');
    }
  }

  @Test
  void aMissingFileIsNamed() {
    Path file = dir.resolve("tokenizer.json");
    assertThatThrownBy(() -> HfTokenizer.load(file)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.toString()).hasMessageContaining("does not exist");
  }

  @Test
  void aDocumentTheLibraryRejectsIsNamed() {
    String broken = BYTES.toTokenizerJson().replace("\"BPE\"", "\"NoSuchModel\"");
    assertThatThrownBy(() -> HfTokenizer.fromJson(broken, "broken.json")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("broken.json");
  }
}
