package dev.loupe.core.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Parsing corpus references: the forms, their round trip and the messages for bad ones. */
class CorpusRefTest {
  @TempDir
  Path dir;

  @Test
  void theBareNameIsTheWholeCorpus() {
    assertThat(CorpusRef.parse("europarl")).isEqualTo(new CorpusRef("europarl", List.of(), null));
  }

  @Test
  void languagesAndSplitAreParsed() {
    CorpusRef r = CorpusRef.parse("europarl:fr+de:validation");
    assertThat(r.source()).isEqualTo("europarl");
    assertThat(r.languages()).containsExactly("fr", "de");
    assertThat(r.split()).isEqualTo(Split.VALIDATION);
    assertThat(r.builtIn()).isTrue();
  }

  @Test
  void aSingleFilterIsASplitWhenItNamesOneElseLanguages() {
    assertThat(CorpusRef.parse("europarl:train")).isEqualTo(new CorpusRef("europarl", List.of(), Split.TRAIN));
    assertThat(CorpusRef.parse("europarl:fr")).isEqualTo(new CorpusRef("europarl", List.of("fr"), null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"europarl", "europarl:fr", "europarl:fr+de", "europarl:train", "europarl:fr:validation",
      "europarl:sv+da+fi:test"})
  void toStringGivesBackTheReference(String ref) {
    CorpusRef r = CorpusRef.parse(ref);
    assertThat(r.toString()).isEqualTo(ref);
    assertThat(CorpusRef.parse(r.toString())).isEqualTo(r);
  }

  @Test
  void shortAndUpperCaseFormsNormalise() {
    assertThat(CorpusRef.parse("europarl:FR:val").toString()).isEqualTo("europarl:fr:validation");
  }

  @Test
  void anExistingPathIsTakenWholeEvenWithAColonInItsName() throws Exception {
    Path file = Files.writeString(dir.resolve("notes:validation"), "one document\n");
    CorpusRef r = CorpusRef.parse(file.toString());
    assertThat(r.source()).isEqualTo(file.toString());
    assertThat(r.split()).isNull();
    assertThat(r.builtIn()).isFalse();
  }

  @Test
  void anExistingPathTakesASplitSuffix() throws Exception {
    Path file = Files.writeString(dir.resolve("notes.txt"), "one document\n");
    CorpusRef r = CorpusRef.parse(file + ":validation");
    assertThat(r).isEqualTo(new CorpusRef(file.toString(), List.of(), Split.VALIDATION));
    assertThat(CorpusRef.parse(r.toString())).isEqualTo(r);
  }

  @Test
  void anEmptyReferenceIsRejected() {
    assertThatThrownBy(() -> CorpusRef.parse(" ")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("corpus reference is empty");
  }

  @Test
  void anUnknownCorpusNameIsRejectedWithTheForms() {
    assertThatThrownBy(() -> CorpusRef.parse("wikipedia")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("corpus 'wikipedia' is neither a built-in corpus nor an existing path")
        .hasMessageContaining("europarl:LANGS");
  }

  @Test
  void anUnknownLanguageIsRejectedListingTheValidCodes() {
    assertThatThrownBy(() -> CorpusRef.parse("europarl:fr+xx")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("corpus 'europarl:fr+xx': unknown language code 'xx'")
        .hasMessageContaining("bg, cs, da, de");
  }

  @Test
  void aLanguageOutsideEuroparlIsRejected() {
    assertThatThrownBy(() -> CorpusRef.parse("europarl:ja")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown language code 'ja'");
  }

  @Test
  void anUnknownSplitIsRejected() {
    assertThatThrownBy(() -> CorpusRef.parse("europarl:fr:dev")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("corpus 'europarl:fr:dev': unknown split 'dev'; expected train, validation or test");
  }

  @Test
  void anUnknownSplitOfAnExistingPathIsRejected() throws Exception {
    Path file = Files.writeString(dir.resolve("notes.txt"), "one document\n");
    assertThatThrownBy(() -> CorpusRef.parse(file + ":dev")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown split 'dev'");
  }

  @Test
  void tooManyPartsAreRejected() {
    assertThatThrownBy(() -> CorpusRef.parse("europarl:fr:train:x")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("too many parts");
  }

  @Test
  void aLanguageNamedTwiceIsRejected() {
    assertThatThrownBy(() -> CorpusRef.parse("europarl:fr+fr")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("language 'fr' is named twice");
  }

  @Test
  void aLanguageFilterOnAPathIsRejected() {
    assertThatThrownBy(() -> new CorpusRef("corpus.txt", List.of("fr"), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("corpus 'corpus.txt': a language filter needs a labelled built-in corpus");
  }

  @Test
  void aShuffledSuffixKeepsTheSelectionAndAddsASeed() {
    CorpusRef r = CorpusRef.parse("europarl:fr+de:validation:shuffled@7");
    assertThat(r.languages()).containsExactly("fr", "de");
    assertThat(r.split()).isEqualTo(Split.VALIDATION);
    assertThat(r.shuffleSeed()).isEqualTo(7L);
    assertThat(r.toString()).isEqualTo("europarl:fr+de:validation:shuffled@7");
    assertThat(CorpusRef.parse("europarl:shuffled").shuffleSeed()).isEqualTo(CorpusRef.DEFAULT_SHUFFLE_SEED);
    assertThat(CorpusRef.parse("europarl:shuffled").toString()).isEqualTo("europarl:shuffled");
    assertThat(CorpusRef.parse("europarl").shuffleSeed()).isNull();
  }

  @Test
  void aBadShuffleSuffixIsNamed() {
    assertThatThrownBy(() -> CorpusRef.parse("europarl:shuffled@x")).hasMessageContaining("seed 'x'");
    assertThatThrownBy(() -> CorpusRef.parse("europarl:shuffledly")).hasMessageContaining("'shuffledly'");
    assertThatThrownBy(() -> CorpusRef.parse("europarl:shuffled:shuffled")).hasMessageContaining("shuffled twice");
  }
}
