package dev.loupe.core.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The docId-to-language table, its TSV form and the copy shipped for Europarl. */
class LanguageLabelsTest {
  @TempDir
  Path dir;

  private static InputStream tsv(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aWrittenTableReadsBackWithUndeterminedAsNull() throws Exception {
    Path file = dir.resolve("labels.tsv");
    LanguageLabels.of(new String[] {"fr", null, "de"}).write(file);

    assertThat(Files.readString(file)).isEqualTo("docId\tlang\n0\tfr\n1\tund\n2\tde\n");
    LanguageLabels back = LanguageLabels.read(Files.newInputStream(file), file.toString());
    assertThat(back.size()).isEqualTo(3);
    assertThat(back.get(0)).isEqualTo("fr");
    assertThat(back.get(1)).isNull();
    assertThat(back.counts()).containsExactly(
        java.util.Map.entry("de", 1), java.util.Map.entry("fr", 1), java.util.Map.entry("und", 1));
  }

  @Test
  void writingLeavesNoTempFileBehind() throws Exception {
    LanguageLabels.of(new String[] {"fr"}).write(dir.resolve("labels.tsv"));
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("labels.tsv");
    }
  }

  @Test
  void aTableWithoutTheHeaderIsRejected() {
    assertThatThrownBy(() -> LanguageLabels.read(tsv("0\tfr\n"), "x.tsv"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x.tsv: first line is '0\tfr'");
  }

  @Test
  void aGapInTheIdsIsRejectedNamingTheLine() {
    assertThatThrownBy(() -> LanguageLabels.read(tsv("docId\tlang\n0\tfr\n2\tde\n"), "x.tsv"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x.tsv:3 is '2\tde'; expected '1\\t<language code>'");
  }

  @Test
  void anIdOutsideTheTableIsRejected() {
    LanguageLabels l = LanguageLabels.of(new String[] {"fr"});
    assertThatThrownBy(() -> l.get(1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("document id 1");
  }

  @Test
  void theShippedEuroparlTableCoversEverySpeech() {
    LanguageLabels europarl = LanguageLabels.europarl();
    assertThat(europarl.size()).isEqualTo(17_597);
    assertThat(europarl.counts().keySet()).containsAll(LanguageDetector.EUROPARL_LANGUAGES);
    // Only stray one-line fragments ("- Rapport Gargani", ".") are left undetermined.
    assertThat(europarl.counts().get(LanguageLabels.UNDETERMINED)).isLessThan(50);
  }

  @Test
  void theShippedEuroparlTableAgreesWithTheDetectorOnASample() {
    LanguageDetector detector = new LanguageDetector();
    LanguageLabels shipped = LanguageLabels.europarl();
    List<Document> sample;
    try (Stream<Document> docs = Corpora.open(Corpora.EUROPARL)) {
      // 40 speeches spread over the whole file.
      sample = docs.filter(d -> d.id() % 440 == 7).toList();
    }
    assertThat(sample).hasSize(40);
    for (Document d : sample) {
      assertThat(detector.detect(d.text())).as("speech %d", d.id()).isEqualTo(shipped.get(d.id()));
    }
  }
}
