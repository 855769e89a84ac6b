package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.corpus.Corpora;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe corpus info} and {@code loupe corpus label}, run in-process. */
class CorpusCommandTest {
  @TempDir
  Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  @Test
  void infoPrintsATableOfLanguagesAndSplits() {
    long docs = Corpora.describe("europarl:fr:validation").documents();

    assertThat(run("corpus", "info", "europarl:fr:validation")).isZero();

    assertThat(out.toString())
        .contains("corpus     europarl:fr:validation")
        .containsPattern("documents\\s+" + docs + "\\n")
        .containsPattern("fr\\s+" + docs + "\\s+100\\.0%")
        .containsPattern("validation\\s+" + docs + "\\s+100\\.0%")
        .containsPattern("train\\s+0\\s+0\\.0%");
  }

  @Test
  void infoJsonHasCountsPerLanguageAndSplit() throws Exception {
    assertThat(run("corpus", "info", "europarl:fr:validation", "--json")).isZero();

    JsonNode doc = new ObjectMapper().readTree(out.toString());
    long docs = doc.get("documents").asLong();
    assertThat(doc.get("ref").asText()).isEqualTo("europarl:fr:validation");
    assertThat(docs).isPositive();
    assertThat(doc.get("bytes").asLong()).isGreaterThan(docs);
    assertThat(doc.get("languages").get("fr").asLong()).isEqualTo(docs);
    assertThat(doc.get("splits").get("validation").asLong()).isEqualTo(docs);
    assertThat(doc.get("splits").get("test").asLong()).isZero();
  }

  @Test
  void infoOfABadReferenceIsAUsageErrorNamingIt() {
    assertThat(run("corpus", "info", "europarl:xx")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("error: corpus 'europarl:xx': unknown language code 'xx'");
  }

  @Test
  void helpDescribesTheReferenceForms() {
    assertThat(run("corpus", "--help")).isZero();
    assertThat(out.toString()).contains("europarl:fr+de").contains("europarl:fr:validation").contains("PATH:validation");
  }

  @Test
  void labelWritesALanguageTableForALocalCorpus() throws Exception {
    Path corpus = Files.writeString(dir.resolve("docs.txt"),
        "Le gouvernement a présenté hier un nouveau projet de loi sur la protection de l'environnement.\n\n"
            + "Die Kommission hat gestern einen neuen Vorschlag zum Schutz der Umwelt vorgelegt.\n\n"
            + "12 345\n");
    Path table = dir.resolve("labels.tsv");

    assertThat(run("corpus", "label", corpus.toString(), "--out", table.toString(), "--languages", "fr,de,en")).isZero();

    assertThat(Files.readString(table)).isEqualTo("docId\tlang\n0\tfr\n1\tde\n2\tund\n");
    assertThat(out.toString()).contains("labelled 3 documents").contains("docs/s");
  }

  @Test
  void labelRefusesAFilteredReference() {
    assertThat(run("corpus", "label", "europarl:fr")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("corpus 'europarl:fr': label takes a whole corpus");
  }
}
