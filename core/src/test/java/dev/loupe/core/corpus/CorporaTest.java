package dev.loupe.core.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening and describing corpora through references with language and split filters. */
class CorporaTest {
  @TempDir
  Path dir;

  private static List<Document> read(String ref) {
    try (Stream<Document> docs = Corpora.open(ref)) {
      return docs.toList();
    }
  }

  @Test
  void everyEuroparlSpeechIsInExactlyOneSplitNearNinetyFiveFive() {
    List<Document> all = read("europarl");
    Map<Split, List<Integer>> ids = new EnumMap<>(Split.class);
    for (Split s : Split.values()) {
      ids.put(s, read("europarl:" + s.label()).stream().map(Document::id).toList());
    }
    int total = ids.values().stream().mapToInt(List::size).sum();
    assertThat(total).isEqualTo(all.size()).isEqualTo(17_597);
    assertThat(ids.values().stream().flatMap(List::stream).distinct().count()).isEqualTo(all.size());
    assertThat(ids.get(Split.TRAIN).size() / (double) total).isBetween(0.88, 0.92);
    assertThat(ids.get(Split.VALIDATION).size() / (double) total).isBetween(0.04, 0.06);
    assertThat(ids.get(Split.TEST).size() / (double) total).isBetween(0.04, 0.06);
  }

  @Test
  void aSplitKeepsTheCorpusWideIds() {
    List<Document> validation = read("europarl:validation");
    List<Document> all = read("europarl");
    for (Document d : validation.subList(0, 20)) {
      assertThat(Split.of(d.id())).isEqualTo(Split.VALIDATION);
      assertThat(all.get(d.id()).text()).isEqualTo(d.text());
    }
  }

  @Test
  void aLanguageFilterYieldsOnlyThatLanguageAndAllOfIt() {
    List<Document> fr = read("europarl:fr");
    long labelled = IntStream.range(0, LanguageLabels.europarl().size())
        .filter(i -> "fr".equals(LanguageLabels.europarl().get(i))).count();
    assertThat(fr).hasSize((int) labelled).isNotEmpty();
    assertThat(fr).allSatisfy(d -> assertThat(d.label()).isEqualTo("fr"));
    assertThat(LanguageLabels.europarl().counts().get("fr")).isEqualTo(fr.size());
  }

  @Test
  void languagesAndSplitCombine() {
    List<Document> docs = read("europarl:fr+de:validation");
    assertThat(docs).isNotEmpty();
    assertThat(docs).allSatisfy(d -> {
      assertThat(d.label()).isIn("fr", "de");
      assertThat(Split.of(d.id())).isEqualTo(Split.VALIDATION);
    });
    assertThat(docs.stream().map(Document::label).distinct()).containsExactlyInAnyOrder("fr", "de");
  }

  @Test
  void aLocalFileOpensWholeOrBySplit() throws Exception {
    String text = IntStream.range(0, 200).mapToObj(i -> "document " + i).collect(Collectors.joining("\n\n"));
    Path file = Files.writeString(dir.resolve("docs.txt"), text);
    assertThat(read(file.toString())).hasSize(200);
    List<Document> validation = read(file + ":validation");
    assertThat(validation).isNotEmpty().allSatisfy(d -> assertThat(Split.of(d.id())).isEqualTo(Split.VALIDATION));
    assertThat(validation).allSatisfy(d -> assertThat(d.text()).isEqualTo("document " + d.id()));
  }

  @Test
  void aSplitThatLeavesNoDocumentIsRejectedNamingTheReference() throws Exception {
    // Document 0 alone: its split is train, so the validation split is empty.
    assertThat(Split.of(0)).isEqualTo(Split.TRAIN);
    Path file = Files.writeString(dir.resolve("one.txt"), "a single document\n");
    assertThatThrownBy(() -> Corpora.open(file + ":validation")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("corpus '" + file + ":validation' has no documents");
  }

  @Test
  void anEmptyFileIsRejectedNamingIt() throws Exception {
    Path file = Files.writeString(dir.resolve("empty.txt"), "\n\n");
    assertThatThrownBy(() -> Corpora.open(file.toString())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.toString()).hasMessageContaining("has no documents");
  }

  @Test
  void anUnreadableFileIsRejectedNamingIt() throws Exception {
    Path file = Files.writeString(dir.resolve("secret.txt"), "text\n");
    // As root every file stays readable, so there is nothing to check.
    assumeTrue(file.toFile().setReadable(false) && !Files.isReadable(file), "files cannot be made unreadable here");
    assertThatThrownBy(() -> Corpora.open(file.toString())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.toString()).hasMessageContaining("not readable");
  }

  @Test
  void describeCountsDocumentsBytesLanguagesAndSplits() {
    Corpora.CorpusStats stats = Corpora.describe("europarl:fr:validation");
    List<Document> docs = read("europarl:fr:validation");
    assertThat(stats.documents()).isEqualTo(docs.size());
    assertThat(stats.bytes()).isEqualTo(docs.stream()
        .mapToLong(d -> d.text().getBytes(java.nio.charset.StandardCharsets.UTF_8).length).sum());
    assertThat(stats.languages()).containsExactly(Map.entry("fr", (long) docs.size()));
    assertThat(stats.splits()).containsEntry(Split.VALIDATION, (long) docs.size())
        .containsEntry(Split.TRAIN, 0L).containsEntry(Split.TEST, 0L);
  }

  @Test
  void describeOfAnUnlabelledFileCountsItAsUnlabelled() throws Exception {
    Path file = Files.writeString(dir.resolve("docs.txt"), "première\n\nzweite\n");
    Corpora.CorpusStats stats = Corpora.describe(file.toString());
    assertThat(stats.documents()).isEqualTo(2);
    assertThat(stats.bytes()).isEqualTo("première".getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 6);
    assertThat(stats.languages()).containsExactly(Map.entry(Corpora.UNLABELLED, 2L));
  }

  @Test
  void aShuffledCorpusHasTheSameDocumentsInASeededOrder() {
    List<Integer> plain = read("europarl:fr:test").stream().map(Document::id).toList();
    List<Integer> a = read("europarl:fr:test:shuffled@3").stream().map(Document::id).toList();
    List<Integer> b = read("europarl:fr:test:shuffled@3").stream().map(Document::id).toList();
    List<Integer> c = read("europarl:fr:test:shuffled@4").stream().map(Document::id).toList();
    assertThat(a).containsExactlyInAnyOrderElementsOf(plain).isEqualTo(b).isNotEqualTo(plain).isNotEqualTo(c);
    // the first documents of the shuffled whole corpus mix languages
    assertThat(read("europarl:shuffled").stream().limit(60).map(Document::label).distinct().count())
        .isGreaterThanOrEqualTo(12);
  }
}
