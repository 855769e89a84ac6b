package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ByteTokenizerTest {
  private final ByteTokenizer tok = ByteTokenizer.instance();

  @Test
  void idsAreTheUtf8Bytes() {
    assertThat(tok.encode("aé")).containsExactly(0x61, 0xc3, 0xa9);
    assertThat(tok.decode(new int[] {0x61, 0xc3, 0xa9})).isEqualTo("aé");
  }

  @Test
  void tokenTextEscapesUnprintableBytes() {
    assertThat(tok.tokenText(' ')).isEqualTo(" ");
    assertThat(tok.tokenText('A')).isEqualTo("A");
    assertThat(tok.tokenText(10)).isEqualTo("\\x0a");
    assertThat(tok.tokenText(0xc3)).isEqualTo("\\xc3");
  }

  @Test
  void idsOutsideTheBytesAreNamed() {
    assertThatThrownBy(() -> tok.decode(new int[] {65, 256})).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tokenIds[1] = 256");
    assertThatThrownBy(() -> tok.tokenText(-1)).hasMessageContaining("-1");
  }

  @Test
  void tokenizerJsonMapsEveryByteToItsOwnId() throws Exception {
    JsonNode root = new ObjectMapper().readTree(tok.toTokenizerJson());
    JsonNode vocab = root.path("model").path("vocab");
    assertThat(root.path("model").path("type").asText()).isEqualTo("BPE");
    assertThat(root.path("pre_tokenizer").path("type").asText()).isEqualTo("ByteLevel");
    assertThat(vocab.size()).isEqualTo(256);
    Set<Integer> ids = new HashSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      assertThat(e.getKey()).hasSize(1);
      ids.add(e.getValue().asInt());
    }
    assertThat(ids).hasSize(256);
    assertThat(vocab.get("A").asInt()).isEqualTo('A');
    assertThat(vocab.get("\u0120").asInt()).as("GPT-2's symbol for the space byte").isEqualTo(' ');
    assertThat(vocab.get("\u010a").asInt()).as("GPT-2's symbol for newline").isEqualTo('\n');
  }
}
