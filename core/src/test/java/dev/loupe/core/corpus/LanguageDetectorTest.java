package dev.loupe.core.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The Lingua-backed detector on known sentences, including closely related language pairs. */
class LanguageDetectorTest {
  // One detector for the class: building it loads the models (seconds).
  private static final LanguageDetector EUROPARL = new LanguageDetector();

  static Stream<Arguments> sentences() {
    return Stream.of(
        Arguments.of("fr", "Le gouvernement a présenté hier un nouveau projet de loi sur la protection de l'environnement et des ressources en eau."),
        Arguments.of("de", "Die Kommission hat gestern einen neuen Vorschlag zum Schutz der Umwelt und der Wasserressourcen vorgelegt."),
        Arguments.of("en", "The committee presented a new proposal yesterday on the protection of the environment and of water resources."),
        Arguments.of("es", "La comisión presentó ayer una nueva propuesta sobre la protección del medio ambiente y de los recursos hídricos."),
        Arguments.of("pt", "A comissão apresentou ontem uma nova proposta sobre a proteção do ambiente e dos recursos hídricos do país."),
        Arguments.of("it", "La commissione ha presentato ieri una nuova proposta sulla tutela dell'ambiente e delle risorse idriche."),
        Arguments.of("nl", "De commissie heeft gisteren een nieuw voorstel ingediend over de bescherming van het milieu en de watervoorraden."),
        Arguments.of("pl", "Komisja przedstawiła wczoraj nowy wniosek dotyczący ochrony środowiska i zasobów wodnych w całej Europie."),
        Arguments.of("fi", "Komissio esitteli eilen uuden ehdotuksen ympäristön ja vesivarojen suojelemisesta koko Euroopassa."),
        Arguments.of("hu", "A Bizottság tegnap új javaslatot terjesztett elő a környezet és a vízkészletek védelméről egész Európában."),
        Arguments.of("el", "Η Επιτροπή παρουσίασε χθες μια νέα πρόταση για την προστασία του περιβάλλοντος και των υδάτινων πόρων."),
        Arguments.of("bg", "Комисията представи вчера ново предложение за опазване на околната среда и водните ресурси в Европа."),
        // Closely related pairs: the same sentence in both languages.
        Arguments.of("da", "Vi skal sikre, at borgerne får bedre adgang til oplysninger om, hvordan deres penge bliver brugt."),
        Arguments.of("sv", "Vi måste se till att medborgarna får bättre tillgång till information om hur deras pengar används."),
        Arguments.of("cs", "Musíme zajistit, aby občané měli lepší přístup k informacím o tom, jak se utrácejí jejich peníze."),
        Arguments.of("sk", "Musíme zabezpečiť, aby občania mali lepší prístup k informáciám o tom, ako sa míňajú ich peniaze."),
        Arguments.of("pt", "Temos de garantir que os cidadãos tenham um melhor acesso à informação sobre a forma como o seu dinheiro é gasto."),
        Arguments.of("es", "Tenemos que garantizar que los ciudadanos tengan un mejor acceso a la información sobre cómo se gasta su dinero."),
        Arguments.of("da", "Kommissionen fremlagde i går et nyt forslag om beskyttelse af miljøet og vandressourcerne i hele Europa."),
        Arguments.of("sv", "Kommissionen lade i går fram ett nytt förslag om skydd av miljön och vattenresurserna i hela Europa."),
        Arguments.of("cs", "Komise včera předložila nový návrh na ochranu životního prostředí a vodních zdrojů v celé Evropě."),
        Arguments.of("sk", "Komisia včera predložila nový návrh na ochranu životného prostredia a vodných zdrojov v celej Európe."));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("sentences")
  void detectsTheLanguageOfAKnownSentence(String expected, String sentence) {
    assertThat(EUROPARL.detect(sentence)).isEqualTo(expected);
  }

  @Test
  void concurrentCallersGetTheSameAnswersAsOneCaller() {
    List<String> texts = sentences().map(a -> (String) a.get()[1]).toList();
    Map<String, String> sequential = texts.stream().collect(Collectors.toMap(t -> t, EUROPARL::detect));
    Map<String, String> parallel = texts.parallelStream().collect(Collectors.toConcurrentMap(t -> t, EUROPARL::detect));
    assertThat(parallel).isEqualTo(sequential);
  }

  @Test
  void textWithoutLettersIsUndetermined() {
    assertThat(EUROPARL.detect("")).isNull();
    assertThat(EUROPARL.detect("   ")).isNull();
    assertThat(EUROPARL.detect(null)).isNull();
    assertThat(EUROPARL.detect("12 345 - 678.")).isNull();
  }

  @Test
  void onlyTheConfiguredLanguagesAreCandidates() {
    LanguageDetector frDe = new LanguageDetector(List.of("fr", "DE"));
    assertThat(frDe.languages()).containsExactly("de", "fr");
    // Spanish is not a candidate, so the closest of the two comes back instead.
    assertThat(frDe.detect("Le gouvernement a présenté hier un nouveau projet de loi.")).isEqualTo("fr");
    assertThat(frDe.detect("Die Kommission hat gestern einen neuen Vorschlag vorgelegt.")).isEqualTo("de");
  }

  @Test
  void defaultLanguagesAreTheTwentyOneOfEuroparl() {
    assertThat(EUROPARL.languages()).hasSize(21).containsAll(LanguageDetector.EUROPARL_LANGUAGES);
  }

  @Test
  void longTextsAreCutAtAWordBoundaryNearThePrefixLength() {
    String text = "parole ".repeat(500);
    String prefix = LanguageDetector.prefix(text);
    assertThat(prefix.length()).isLessThanOrEqualTo(LanguageDetector.PREFIX_CHARS).isGreaterThan(LanguageDetector.PREFIX_CHARS - 10);
    assertThat(prefix).endsWith("parole");
    assertThat(LanguageDetector.prefix("kurz")).isEqualTo("kurz");
  }

  @Test
  void anUnknownCodeIsRejectedListingTheKnownOnes() {
    assertThatThrownBy(() -> new LanguageDetector(List.of("fr", "xx")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown language code 'xx'")
        .hasMessageContaining("fr, ");
  }

  @Test
  void oneLanguageIsNotAChoice() {
    assertThatThrownBy(() -> new LanguageDetector(List.of("fr", "fr")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least two languages");
  }
}
