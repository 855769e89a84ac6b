package dev.loupe.core.train;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ByteNgramBaselineTest {
  private static final double EXACT = 1e-12;

  private static byte[] ascii(String s) {
    return s.getBytes(UTF_8);
  }

  private static double log2(double x) {
    return Math.log(x) / Math.log(2);
  }

  @Test
  void unigramWithAddOneMatchesHandComputedProbabilities() {
    ByteNgramBaseline model = ByteNgramBaseline.unigram(1).add(ascii("ab"));

    // p(a) = (1 + 1) / (2 + 256), p(c) = (0 + 1) / (2 + 256)
    assertThat(model.probability(-1, 'a')).isCloseTo(2.0 / 258, within(EXACT));
    assertThat(model.score(ascii("a")).bitsPerByte()).isCloseTo(log2(129), within(EXACT));
    assertThat(model.score(ascii("ac")).bits()).isCloseTo(log2(129) + log2(258), within(EXACT));
  }

  @Test
  void unigramWithAddHalf() {
    ByteNgramBaseline model = ByteNgramBaseline.unigram(0.5).add(ascii("aab"));

    // p(a) = (2 + 0.5) / (3 + 128)
    assertThat(model.score(ascii("a")).bits()).isCloseTo(log2(131 / 2.5), within(EXACT));
  }

  @Test
  void bigramConditionsTheFirstByteOnTheDocumentBoundary() {
    ByteNgramBaseline model = ByteNgramBaseline.bigram(1).add(ascii("ab"));

    // Seen: <s>->a, a->b. p(a|<s>) = 2/257, p(b|a) = 2/257.
    assertThat(model.score(ascii("ab")).bitsPerByte()).isCloseTo(log2(257 / 2.0), within(EXACT));
    // p(b|<s>) = 1/257; context b was never seen, so p(a|b) = 1/256 (uniform).
    assertThat(model.score(ascii("ba")).bits()).isCloseTo(log2(257) + log2(256), within(EXACT));
  }

  @Test
  void documentsDoNotShareContext() {
    ByteNgramBaseline model = ByteNgramBaseline.bigram(1).fit(List.of(ascii("a"), ascii("b")));

    // Had "a" and "b" been joined, a->b would be counted; it is not: p(b|a) = 1/256.
    assertThat(model.probability('a', 'b')).isCloseTo(1.0 / 256, within(EXACT));
    assertThat(model.probability(-1, 'b')).isCloseTo(2.0 / 258, within(EXACT));
    assertThat(model.trainingBytes()).isEqualTo(2);
  }

  @Test
  void scoresOfSeveralDocumentsAddUp() {
    ByteNgramBaseline model = ByteNgramBaseline.bigram(1).add(ascii("abab"));
    BitsPerByte both = model.score(List.of(ascii("ab"), ascii("ba")));

    assertThat(both.bytes()).isEqualTo(4);
    assertThat(both.bits()).isCloseTo(model.score(ascii("ab")).bits() + model.score(ascii("ba")).bits(), within(EXACT));
  }

  @Test
  void probabilitiesOfEveryContextSumToOne() {
    ByteNgramBaseline model = ByteNgramBaseline.bigram(0.1).add(ascii("hello world, hello loupe"));
    for (int previous = -1; previous < 256; previous += 37) {
      double sum = 0;
      for (int next = 0; next < 256; next++) {
        sum += model.probability(previous, next);
      }
      assertThat(sum).as("context %d", previous).isCloseTo(1.0, within(1e-9));
    }
  }

  @Test
  void uniformRandomBytesCostAboutEightBits() {
    Random random = new Random(42);
    byte[] train = new byte[1 << 20];
    byte[] test = new byte[1 << 16];
    random.nextBytes(train);
    random.nextBytes(test);

    double unigram = ByteNgramBaseline.unigram(1).add(train).score(test).bitsPerByte();
    double bigram = ByteNgramBaseline.bigram(1).add(train).score(test).bitsPerByte();

    assertThat(unigram).isCloseTo(8.0, within(0.01));
    // 16 samples per context: smoothing keeps the bigram near uniform, a little above 8.
    assertThat(bigram).isBetween(8.0, 8.1);
  }

  @Test
  void bigramBeatsUnigramOnStructuredText() {
    List<byte[]> train = new ArrayList<>();
    String[] words = {"the", "parliament", "commission", "council", "report", "member", "states", "vote"};
    Random random = new Random(7);
    for (int d = 0; d < 400; d++) {
      StringBuilder sb = new StringBuilder();
      for (int w = 0; w < 30; w++) {
        sb.append(words[random.nextInt(words.length)]).append(w % 10 == 9 ? ". " : " ");
      }
      train.add(ascii(sb.toString()));
    }
    byte[] heldOut = ascii("the council and the commission vote on the report of the member states. ");

    double unigram = ByteNgramBaseline.unigram(0.5).fit(train).score(heldOut).bitsPerByte();
    double bigram = ByteNgramBaseline.bigram(0.5).fit(train).score(heldOut).bitsPerByte();

    assertThat(unigram).isLessThan(5.0);
    assertThat(bigram).isLessThan(unigram - 1.0);
  }

  @Test
  void scoresPerLabelAndOverall() {
    record Doc(String lang, String text) {
    }
    ByteNgramBaseline model = ByteNgramBaseline.unigram(1).add(ascii("ab"));
    List<Doc> docs = List.of(new Doc("fr", "a"), new Doc("en", "ac"), new Doc("fr", "b"));

    LabeledBitsPerByte scores = model.scoreByLabel(docs, Doc::lang, d -> ascii(d.text()));

    assertThat(scores.byLabel()).containsOnlyKeys("en", "fr");
    assertThat(scores.byLabel().firstKey()).isEqualTo("en");
    assertThat(scores.byLabel().get("fr").bitsPerByte()).isCloseTo(log2(129), within(EXACT));
    assertThat(scores.byLabel().get("en").bits()).isCloseTo(log2(129) + log2(258), within(EXACT));
    assertThat(scores.overall().bytes()).isEqualTo(4);
    assertThat(scores.overall().bitsPerByte()).isCloseTo((3 * log2(129) + log2(258)) / 4, within(EXACT));
  }

  @Test
  void unlabelledDocumentIsRejectedByPosition() {
    ByteNgramBaseline model = ByteNgramBaseline.unigram(1);
    List<String> docs = List.of("x", "y");

    assertThatThrownBy(() -> model.scoreByLabel(docs, d -> d.equals("y") ? null : "en", ByteNgramBaselineTest::ascii))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("document #1 has no label");
  }

  @Test
  void smoothingConstantMustBePositive() {
    assertThatThrownBy(() -> ByteNgramBaseline.bigram(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("add-k smoothing constant must be finite and > 0, got 0.0");
  }

  @Test
  void bitsPerByteOfNothingIsAnError() {
    BitsPerByte empty = ByteNgramBaseline.unigram(1).score(new byte[0]);

    assertThat(empty.bytes()).isZero();
    assertThatThrownBy(empty::bitsPerByte).isInstanceOf(IllegalStateException.class).hasMessageContaining("zero bytes");
  }

  @Test
  void scoresSeeLaterTrainingData() {
    ByteNgramBaseline model = ByteNgramBaseline.unigram(1).add(ascii("a"));
    double before = model.score(ascii("b")).bits();
    model.add(ascii("bbbb"));

    assertThat(model.score(ascii("b")).bits()).isLessThan(before);
  }
}
