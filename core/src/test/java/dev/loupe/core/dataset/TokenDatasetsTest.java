package dev.loupe.core.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.core.corpus.LanguageLabels;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each dataset kind labels rows as its definition says, on the demo model's byte tokens. */
class TokenDatasetsTest {
  private static LocalModelSession demo;

  @BeforeAll
  static void open() {
    demo = LocalModelSession.open("demo");
  }

  @AfterAll
  static void close() {
    demo.close();
  }

  /** One document's text as rows (positions from 0), values zero. */
  private static ActivationBatch rows(int docId, int[] tokens, int firstPosition) {
    int n = tokens.length;
    int[] docs = new int[n];
    int[] positions = new int[n];
    for (int i = 0; i < n; i++) {
      docs[i] = docId;
      positions[i] = firstPosition + i;
    }
    return new ActivationBatch("demo", "h", 0, n, 1, new float[n], tokens.clone(), docs, positions, null);
  }

  private static int firstDocOf(String language) {
    LanguageLabels labels = LanguageLabels.europarl();
    for (int i = 0; i < labels.size(); i++) {
      if (language.equals(labels.get(i))) {
        return i;
      }
    }
    throw new AssertionError("no " + language + " document");
  }

  @Test
  void documentLabelsAreTheSpeechesLanguages() {
    int fr = firstDocOf("fr");
    int de = firstDocOf("de");
    int it = firstDocOf("it");
    ActivationBatch b = new ActivationBatch("demo", "h", 0, 3, 1, new float[3], new int[] {65, 66, 67},
        new int[] {fr, de, it}, new int[] {0, 0, 0}, null);
    TokenDataset classes = new TokenDatasets.DocumentLabel("lang", List.of("de", "fr"), false, LanguageLabels.europarl());
    assertThat(classes.labeller(demo).labels(b)).containsExactly(1, 0, Labeller.NONE);
    TokenDataset french = new TokenDatasets.DocumentLabel("french", List.of("fr"), true, LanguageLabels.europarl());
    assertThat(french.classes()).containsExactly("other", "fr");
    assertThat(french.labeller(demo).labels(b)).containsExactly(1, 0, 0);
  }

  @Test
  void positionsAreBucketedWithinTheContextWindow() {
    TokenDataset pos = new TokenDatasets.Position("position", new int[] {0, 8, 32, 128}, 0);
    assertThat(pos.classes()).containsExactly("0-7", "8-31", "32-127", "128+");
    int[] tokens = new int[300];
    int[] labels = pos.labeller(demo).labels(rows(0, tokens, 0));
    assertThat(labels[0]).isZero();
    assertThat(labels[7]).isZero();
    assertThat(labels[8]).isEqualTo(1);
    assertThat(labels[127]).isEqualTo(2);
    assertThat(labels[200]).isEqualTo(3);
    // demo's context is 256 tokens: position 260 is position 4 of its window
    assertThat(labels[260]).isZero();
    assertThatThrownBy(() -> new TokenDatasets.Position("p", new int[] {0, 8, 8}, 0)).hasMessageContaining("increase");
  }

  @Test
  void tokenClassesComeFromTheTokensText() {
    TokenDataset tc = new TokenDatasets.TokenClass("token-class");
    int[] tokens = {'7', 'P', 'p', ' ', ',', 0xC3};
    assertThat(tc.labeller(demo).labels(rows(0, tokens, 0))).containsExactly(0, 1, 2, 3, 4, 5);
  }

  @Test
  void wordCompletionMarksTheLastByteOfTheWordOnWordBoundariesOnly() {
    TokenDataset w = new TokenDatasets.WordCompletion("word:Parlement", "Parlement");
    String text = "Le Parlement vote. Parlementaire Parlement, EuroParlement tt";
    int[] tokens = demo.encode(text);
    int[] labels = w.labeller(demo).labels(rows(5, tokens, 0));
    List<Integer> positives = new ArrayList<>();
    List<Integer> negatives = new ArrayList<>();
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] == 1) {
        positives.add(i);
      } else if (labels[i] == 0) {
        negatives.add(i);
      }
    }
    // "Le Parlement" ends at byte 11, the second standalone "Parlement" at byte 41
    assertThat(positives).containsExactly(11, 41);
    // every other 't' is a negative: inside "Parlementaire", "EuroParlement" (no boundary before), "tt"
    // (the last 't' of the text has no next token in the batch and is left out)
    for (int i : negatives) {
      assertThat(tokens[i]).isEqualTo('t');
    }
    assertThat(negatives).contains(text.indexOf("Parlementaire") + 8, text.indexOf("EuroParlement") + 12,
        text.length() - 2);
    assertThat(labels[text.length() - 1]).isEqualTo(Labeller.NONE);
    for (int i = 0; i < labels.length; i++) {
      if (tokens[i] != 't') {
        assertThat(labels[i]).as("row %d", i).isEqualTo(Labeller.NONE);
      }
    }
  }

  @Test
  void wordCompletionCarriesContextAcrossBatchesOfOneDocument() {
    TokenDataset w = new TokenDatasets.WordCompletion("word:Union", "Union");
    int[] tokens = demo.encode("the Union is");
    Labeller l = w.labeller(demo);
    // split inside the word: "the Un" | "ion is"
    int[] first = l.labels(rows(9, java.util.Arrays.copyOfRange(tokens, 0, 6), 0));
    int[] second = l.labels(rows(9, java.util.Arrays.copyOfRange(tokens, 6, tokens.length), 6));
    assertThat(first).containsOnly(Labeller.NONE);
    assertThat(second[2]).isEqualTo(1); // the 'n' at position 8 completes "Union" before a space
  }

  @Test
  void nearMissNegativesAreTheSameTokenEndingPartOfTheWord() {
    TokenDataset w = new TokenDatasets.WordCompletion("word-hard:Commission", "Commission", true);
    assertThat(w.classes()).containsExactly("near miss", "completes Commission");
    String text = "La Commission et la mission, Kommission, Commissioner, fin, discussion! Commission.";
    int[] tokens = demo.encode(text);
    int[] labels = w.labeller(demo).labels(rows(3, tokens, 0));
    List<Integer> positives = new ArrayList<>();
    List<Integer> negatives = new ArrayList<>();
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] == 1) {
        positives.add(i);
      } else if (labels[i] == 0) {
        negatives.add(i);
      }
    }
    int first = text.indexOf("Commission") + 9;
    int last = text.lastIndexOf("Commission") + 9;
    assertThat(positives).containsExactly(first, last);
    // near misses: "mission", "Kommission", the "Commission" inside "Commissioner", "discussion"
    assertThat(negatives).containsExactly(text.indexOf("mission,") + 6, text.indexOf("Kommission") + 9,
        text.indexOf("Commissioner") + 9, text.indexOf("discussion") + 9);
    // the 'n' of "fin" ends no part of the word: left out, where the plain dataset counts it
    assertThat(labels[text.indexOf("fin") + 2]).isEqualTo(Labeller.NONE);
    int[] plain = new TokenDatasets.WordCompletion("word:Commission", "Commission").labeller(demo)
        .labels(rows(3, tokens, 0));
    assertThat(plain[text.indexOf("fin") + 2]).isZero();
  }

  @Test
  void nearMissNeedsAWordOfThreeCharacters() {
    assertThatThrownBy(() -> new TokenDatasets.WordCompletion("w", "de", true))
        .hasMessageContaining("at least 3 characters");
  }
}
