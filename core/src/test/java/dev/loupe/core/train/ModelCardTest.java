package dev.loupe.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.core.train.ModelCard.Architecture;
import dev.loupe.core.train.ModelCard.BpbRow;
import dev.loupe.core.train.ModelCard.Recipe;
import dev.loupe.core.train.ModelCard.Sample;
import dev.loupe.core.train.ModelCard.TrainingData;
import dev.loupe.core.train.ModelCard.ValidationTable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCardTest {
  @TempDir
  Path dir;

  private static final Architecture ARCH =
      new Architecture("GPT-2 style decoder, pre-LN, GELU", 4, 256, 4, 1024, 256, 256, 3_214_080, 12_901_234);
  private static final TrainingData DATA =
      new TrainingData("Europarl (21 languages), 90/5/5 split by document id", 9000, 19_000_000, 500, 1_050_000);
  private static final Recipe RECIPE = new Recipe("AdamW (weight decay 0.1)", "peak 1e-3, warm-up 200, cosine",
      32, 256, 5000, 40_960_000, 1234, "2 CPU cores, PyTorch 2.7.1 via DJL", Duration.ofSeconds(3 * 3600 + 125));

  private static ValidationTable table(Double parentAll) {
    List<BpbRow> rows = List.of(
        new BpbRow("de", 520_000, 1.8234, 4.4001, 3.3456, parentAll == null ? null : 2.0),
        new BpbRow("fr", 530_000, 1.7012, 4.3, 3.25, parentAll == null ? null : 1.9));
    return new ValidationTable(rows, new BpbRow("all", 1_050_000, 1.7617, 4.35, 3.2975, parentAll), 0.5);
  }

  private static ModelCard card(ValidationTable table, List<Sample> samples) {
    return new ModelCard("loupe-byte-4l-256", "A small model for interpretability tests.", ARCH, DATA, RECIPE,
        table, "temperature 0.8, top-k 40", samples, ModelCard.LOSS_CURVE_PNG);
  }

  @Test
  void tableHasOneRowPerLanguageAndTheOverallRow() {
    String md = card(table(null), List.of()).render();

    assertThat(md).contains("| language | bytes | model | unigram | bigram |");
    assertThat(md).contains("| de (German) | 520,000 | 1.823 | 4.400 | 3.346 |");
    assertThat(md).contains("| fr (French) | 530,000 | 1.701 | 4.300 | 3.250 |");
    assertThat(md).contains("| **all** | 1,050,000 | 1.762 | 4.350 | 3.298 |");
    assertThat(md).contains("add-0.5 smoothing");
    assertThat(md).doesNotContain("parent");
  }

  @Test
  void fineTuneCardHasAParentColumn() {
    String md = card(table(1.95), List.of()).render();

    assertThat(md).contains("| language | bytes | model | parent | unigram | bigram |");
    assertThat(md).contains("| de (German) | 520,000 | 1.823 | 2.000 | 4.400 | 3.346 |");
    assertThat(md).contains("| **all** | 1,050,000 | 1.762 | 1.950 | 4.350 | 3.298 |");
  }

  @Test
  void architectureDataAndRecipeAreFormatted() {
    String md = card(table(null), List.of()).render();

    assertThat(md).startsWith("# loupe-byte-4l-256\n");
    assertThat(md).contains("| heads | 4 (d_head 64) |");
    assertThat(md).contains("| parameters | 3,214,080 (3.21 M) |");
    assertThat(md).contains("| weights file | 12.30 MiB |");
    assertThat(md).contains("| training | 9,000 documents, 19,000,000 bytes |");
    assertThat(md).contains("| batch | 32 × 256 = 8,192 bytes per step |");
    assertThat(md).contains("| tokens seen | 40,960,000 (40.96 M, 2.16 epochs) |");
    assertThat(md).contains("| wall time | 3 h 02 min 05 s |");
    assertThat(md).contains("![Training and validation loss](loss_curve.png)");
  }

  @Test
  void samplesAreFencedSafely() {
    Sample tricky = new Sample("Code: ```", "a\u0007b ```` end");
    String md = card(table(null), List.of(new Sample("Mr President,", " I would like"), tricky)).render();

    assertThat(md).contains("Sampling: temperature 0.8, top-k 40.");
    assertThat(md).contains("```text\nMr President,\n```\n");
    // Prompt holds a run of 3 backticks, so its fence needs 4; continuation has 4, so 5.
    assertThat(md).contains("````text\nCode: ```\n````\n");
    assertThat(md).contains("`````text\na\u2407b ```` end\n`````\n");
  }

  @Test
  void tableIsBuiltFromLabelledScores() {
    LabeledBitsPerByte model = scores(Map.of("en", new BitsPerByte(150, 100), "fr", new BitsPerByte(400, 200)));
    LabeledBitsPerByte unigram = scores(Map.of("en", new BitsPerByte(450, 100), "fr", new BitsPerByte(900, 200)));
    LabeledBitsPerByte bigram = scores(Map.of("en", new BitsPerByte(300, 100), "fr", new BitsPerByte(700, 200)));

    ValidationTable t = ValidationTable.of(model, unigram, bigram, null, 1);

    assertThat(t.rows()).extracting(BpbRow::label).containsExactly("en", "fr");
    assertThat(t.rows().get(0).model()).isEqualTo(1.5);
    assertThat(t.overall().model()).isEqualTo(550.0 / 300);
    assertThat(t.overall().bigram()).isEqualTo(1000.0 / 300);
    assertThat(t.overall().bytes()).isEqualTo(300);
    assertThat(t.hasParent()).isFalse();
  }

  @Test
  void scoresOfDifferentDocumentsAreRejected() {
    LabeledBitsPerByte model = scores(Map.of("en", new BitsPerByte(150, 100)));
    LabeledBitsPerByte other = scores(Map.of("en", new BitsPerByte(150, 99)));

    assertThatThrownBy(() -> ValidationTable.of(model, model, other, null, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bigram scores of 'en' cover 99 bytes but the model's cover 100");
  }

  @Test
  void parentMustBeGivenForAllRowsOrNone() {
    List<BpbRow> rows = List.of(new BpbRow("de", 1, 1, 2, 3, null));
    BpbRow overall = new BpbRow("all", 1, 1, 2, 3, 1.5);

    assertThatThrownBy(() -> new ValidationTable(rows, overall, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("validation row 'de' lacks a parent score");
  }

  @Test
  void badFieldsAreNamed() {
    assertThatThrownBy(() -> new Architecture("gpt2", 4, 256, 3, 1024, 256, 256, 10, 10))
        .hasMessageContaining("architecture.dModel (256) must be divisible by architecture.heads (3)");
    assertThatThrownBy(() -> new BpbRow("fr", 10, Double.NaN, 4, 3, null))
        .hasMessageContaining("validation row 'fr': model bits per byte must be finite");
    assertThatThrownBy(() -> new TrainingData("Europarl\nsecond line", 1, 1, 1, 1))
        .hasMessageContaining("data.corpus must be one line");
  }

  @Test
  void writeReplacesTheCardAtomically() throws Exception {
    Files.writeString(dir.resolve("MODEL_CARD.md"), "old");

    Path written = card(table(null), List.of()).write(dir);

    assertThat(written).isEqualTo(dir.resolve("MODEL_CARD.md"));
    assertThat(Files.readString(written, StandardCharsets.UTF_8)).startsWith("# loupe-byte-4l-256");
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("MODEL_CARD.md");
    }
  }

  @Test
  void cardWithoutLossCurveHasNoBrokenImageLink() {
    ModelCard noCurve = new ModelCard("m", "", ARCH, DATA, RECIPE, table(null), null, List.of(), null);

    assertThat(noCurve.render()).doesNotContain("![").doesNotContain("## Samples");
  }

  @Test
  void unknownLabelsAreShownAsGiven() {
    assertThat(ModelCard.languageName("xx-unknown")).isEqualTo("xx-unknown");
    assertThat(ModelCard.languageName("el")).isEqualTo("el (Greek)");
  }

  private static LabeledBitsPerByte scores(Map<String, BitsPerByte> byLabel) {
    LabeledBitsPerByte.Tally tally = new LabeledBitsPerByte.Tally();
    new TreeMap<>(byLabel).forEach(tally::add);
    return tally.result();
  }
}
