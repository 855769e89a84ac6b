package dev.loupe.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.Document;
import dev.loupe.core.corpus.LanguageDetector;
import dev.loupe.core.train.LmTrainer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The models Loupe trained and ships in models/: they load by name, fit the size rules, and know their languages. */
class ShippedModelsTest {
  private static NDManager manager;
  private static LoadedModel demo;
  private static LoadedModel demoFt;

  @BeforeAll
  static void load() {
    manager = NDManager.newBaseManager();
    demo = ModelRegistry.withDefaults().load("demo", manager);
    demoFt = ModelRegistry.withDefaults().load("demo-ft", manager);
  }

  @AfterAll
  static void close() {
    demo.close();
    demoFt.close();
    manager.close();
  }

  @Test
  void bothLoadByNameAsSmallByteLevelGpt2Models() throws Exception {
    for (LoadedModel m : List.of(demo, demoFt)) {
      Path dir = ShippedModels.locate(m.id()).orElseThrow();
      assertThat(Files.size(dir.resolve(HfDirectory.WEIGHTS))).as(m.id()).isLessThanOrEqualTo(16L << 20);
      assertThat(dir.resolve("MODEL_CARD.md")).isRegularFile();
      assertThat(dir.resolve("loss_curve.png")).isRegularFile();
      Gpt2Config c = m.gpt2().config();
      assertThat(c.nLayer()).isGreaterThanOrEqualTo(4);
      assertThat(c.nEmbd()).isGreaterThanOrEqualTo(192);
      assertThat(c.nPositions()).isGreaterThanOrEqualTo(256);
      // tokenizer.json is byte-level: "é" is its two UTF-8 bytes
      assertThat(m.tokenizer().encode("é")).containsExactly(0xC3, 0xA9);
    }
    assertThat(Files.readString(ShippedModels.locate("demo-ft").orElseThrow().resolve("MODEL_CARD.md")))
        .contains("| fr (French) |").contains("parent");
  }

  @Test
  void demoContinuesEachPromptInItsLanguage() {
    LanguageDetector detector = new LanguageDetector();
    // A sentence of context each: after a bare "Mr President, " this small model often drifts into
    // German (the card's samples show it), so the prompts say a little more.
    String[][] cases = {{"Monsieur le Président, mesdames et messieurs, je voudrais ", "fr"},
        {"Herr Präsident, meine Damen und Herren, ich möchte ", "de"},
        {"Mr President, ladies and gentlemen, I would like to thank the ", "en"},
        {"Señor Presidente, señorías, quisiera ", "es"}};
    for (String[] c : cases) {
      String continuation = sample(demo, c[0], 160, 1);
      assertThat(detector.detect(continuation)).as("continuation of '%s': %s", c[0], continuation).isEqualTo(c[1]);
    }
  }

  @Test
  void theFrenchFineTuneCodesFrenchBetterAndGermanWorseThanItsParent() {
    List<String> french = validation("europarl:fr:validation", 12);
    assertThat(bitsPerByte(demoFt, french)).isLessThan(bitsPerByte(demo, french) - 0.2);
    List<String> german = validation("europarl:de:validation", 12);
    assertThat(bitsPerByte(demo, german)).isLessThan(bitsPerByte(demoFt, german) - 0.5);
  }

  @Test
  void aMissingShippedModelNamesTheRecipeThatMakesIt(@TempDir Path empty) {
    ShippedModels nowhere = new ShippedModels(List.of(empty));
    assertThat(nowhere.handles("demo")).isTrue();
    assertThat(nowhere.find("demo")).isEmpty();
    assertThatThrownBy(() -> nowhere.load("demo", manager)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("models/demo/config.json").hasMessageContaining(empty.toString())
        .hasMessageContaining("train-lm --config config/models/demo.yaml");
  }

  private static List<String> validation(String ref, int n) {
    try (Stream<Document> docs = Corpora.open(ref)) {
      return docs.filter(d -> d.text().length() > 400).limit(n).map(Document::text).collect(Collectors.toList());
    }
  }

  private static double bitsPerByte(LoadedModel m, List<String> docs) {
    double bits = Arrays.stream(LmTrainer.documentBits(m.model(), m.tokenizer(), docs, 256, manager)).sum();
    long bytes = docs.stream().mapToLong(d -> d.getBytes(StandardCharsets.UTF_8).length).sum();
    return bits / bytes;
  }

  private static String sample(LoadedModel m, String prompt, int n, long seed) {
    TokenSampler sampler = new TokenSampler(0.7, 0, 0.95, seed);
    int[] p = m.tokenizer().encode(prompt);
    int[] seq = Arrays.copyOf(p, p.length + n);
    for (int len = p.length; len < seq.length; len++) {
      try (NDManager step = manager.newSubManager()) {
        float[] last = m.model().forward(new int[][] {Arrays.copyOf(seq, len)}, ForwardHooks.none(), step).logits()
            .get(0, len - 1).toFloatArray();
        seq[len] = sampler.next(last, 0, last.length);
      }
    }
    return m.tokenizer().decode(Arrays.copyOfRange(seq, p.length, seq.length));
  }
}
