package dev.loupe.core.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dataset definitions from YAML: the shipped file, and bad files named with the field. */
class DatasetRegistryTest {
  @TempDir
  Path dir;

  private static Path shipped() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isDirectory(p.resolve("config/datasets"))) {
      p = p.getParent();
    }
    assertThat(p).as("config/datasets above the working directory").isNotNull();
    return p.resolve("config/datasets");
  }

  @Test
  void theShippedDefinitionsLoad() {
    DatasetRegistry r = DatasetRegistry.load(List.of(shipped()));
    assertThat(r.names()).contains("language", "french", "position", "token-class", "word:Parlement", "word:de la");
    assertThat(r.get("language").classes()).hasSize(21).contains("fr", "de");
    assertThat(r.get("french").classes()).containsExactly("other", "fr");
    assertThatThrownBy(() -> r.get("klingon")).hasMessageContaining("no dataset named 'klingon'")
        .hasMessageContaining("language");
  }

  private DatasetRegistry load(String yaml) throws Exception {
    Files.writeString(dir.resolve("d.yaml"), yaml);
    return DatasetRegistry.load(List.of(dir, dir.resolve("missing")));
  }

  @Test
  void badDefinitionsNameTheFileEntryAndField() {
    assertThatThrownBy(() -> load("datasets:\n  - {name: x, kind: sentiment}\n")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("datasets[0].kind").hasMessageContaining("sentiment");
    assertThatThrownBy(() -> load("datasets:\n  - {name: x, kind: position, buckets: [0, 8], colour: red}\n"))
        .hasMessageContaining("unknown key 'colour'");
    assertThatThrownBy(() -> load("datasets:\n  - {kind: token-class}\n")).hasMessageContaining("datasets[0].name");
    assertThatThrownBy(() -> load("datasets:\n  - {name: x, kind: document-label, labels: [fr]}\n"))
        .hasMessageContaining("at least two labels");
    assertThatThrownBy(() -> load("datasets:\n  - {name: x, kind: document-label, labels: [fr, de], positive: [fr]}\n"))
        .hasMessageContaining("either 'labels'");
    assertThatThrownBy(() -> load("datasets:\n  - {name: x, kind: position, buckets: [0, a]}\n"))
        .hasMessageContaining("buckets[1]");
    assertThatThrownBy(() -> load("datasets:\n  - {name: x, kind: token-class}\n  - {name: x, kind: token-class}\n"))
        .hasMessageContaining("defined in").hasMessageContaining("again");
    assertThatThrownBy(() -> load("words: [a]\n")).hasMessageContaining("list 'datasets'");
  }
}
