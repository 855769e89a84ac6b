package dev.loupe.core.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextCorpusTest {
  @TempDir
  Path dir;

  private static List<Document> read(TextCorpus c) {
    try (Stream<Document> docs = c.documents()) {
      return docs.collect(Collectors.toList());
    }
  }

  @Test
  void plainTextSplitsIntoBlankLineSeparatedParagraphs() throws IOException {
    Path f = Files.writeString(dir.resolve("c.txt"), "\n\nFirst line\nsecond line\n\n  \n\nNext doc\n");
    List<Document> docs = read(TextCorpus.open(f));
    assertThat(docs).containsExactly(new Document(0, "First line\nsecond line", null), new Document(1, "Next doc", null));
  }

  @Test
  void jsonlReadsTheConfiguredTextAndLabelFields() throws IOException {
    Path f = Files.writeString(dir.resolve("c.jsonl"),
        "{\"body\": \"Guten Tag\", \"lang\": \"de\"}\n\n{\"body\": \"Bonjour\", \"lang\": \"fr\"}\n");
    TextCorpus c = TextCorpus.open(f, "body", "lang");
    assertThat(c.format()).isEqualTo(TextCorpus.Format.JSONL);
    assertThat(read(c)).containsExactly(new Document(0, "Guten Tag", "de"), new Document(1, "Bonjour", "fr"));
  }

  @Test
  void aJsonlLineWithoutTheTextFieldIsNamedByFileAndLine() throws IOException {
    Path f = Files.writeString(dir.resolve("c.jsonl"), "{\"text\": \"ok\"}\n{\"txt\": \"typo\"}\n");
    TextCorpus c = TextCorpus.open(f);
    assertThatThrownBy(() -> read(c)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("c.jsonl:2").hasMessageContaining("'text'");
  }

  @Test
  void gzipIsReadTransparently() throws IOException {
    Path f = dir.resolve("c.jsonl.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
      out.write("{\"text\": \"zipped\"}\n".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(read(TextCorpus.open(f))).containsExactly(new Document(0, "zipped", null));
  }

  @Test
  void aDirectoryGivesOneDocumentPerTxtFileInSortedOrder() throws IOException {
    Files.writeString(dir.resolve("b.txt"), "bee");
    Files.writeString(dir.resolve("a.txt"), "ay\n\nstill ay");
    Files.writeString(dir.resolve("empty.txt"), "  \n");
    Files.writeString(dir.resolve("notes.md"), "ignored");
    assertThat(read(TextCorpus.open(dir))).containsExactly(new Document(0, "ay\n\nstill ay", null),
        new Document(1, "bee", null));
  }

  @Test
  void missingAndEmptyCorporaAreNamed() throws IOException {
    Path missing = dir.resolve("nope.txt");
    assertThatThrownBy(() -> TextCorpus.open(missing)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(missing.toString()).hasMessageContaining("does not exist");
    Path blank = Files.writeString(dir.resolve("blank.txt"), "\n \n");
    assertThatThrownBy(() -> TextCorpus.open(blank)).hasMessageContaining(blank.toString())
        .hasMessageContaining("no documents");
  }

  @Test
  void windowsCutLongDocumentsAndRememberWhereTheyStart() throws IOException {
    Path f = Files.writeString(dir.resolve("c.txt"), "abcdefg\n\nxy\n");
    List<TokenWindow> windows;
    try (Stream<TokenWindow> w = TokenWindows.of(TextCorpus.open(f).documents(),
        s -> s.chars().toArray(), 3)) {
      windows = w.collect(Collectors.toList());
    }
    assertThat(windows).extracting(TokenWindow::docId).containsExactly(0, 0, 0, 1);
    assertThat(windows).extracting(TokenWindow::start).containsExactly(0, 3, 6, 0);
    assertThat(windows.get(1).tokens()).containsExactly('d', 'e', 'f');
    assertThat(windows.get(2).tokens()).containsExactly('g');
    assertThat(windows.get(3).tokens()).containsExactly('x', 'y');
  }
}
