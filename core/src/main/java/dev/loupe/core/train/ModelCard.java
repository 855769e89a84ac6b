package dev.loupe.core.train;

import dev.loupe.sdk.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;

/**
 * The MODEL_CARD.md shipped with each of Loupe's small byte-level language models: what the
 * model is, what it was trained on and how, and how well it compresses each language of the
 * validation split compared with n-gram baselines (and its parent, for fine-tunes).
 *
 * <p>Build the record, then {@link #render()} or {@link #write(Path)}. Every number in the card
 * comes from a field; nothing is filled in by the writer.
 *
 * @param modelName the model's name (one line), used as the title
 * @param description a short paragraph on what the model is for (may be empty)
 * @param architecture shape and size of the network
 * @param data what it was trained and validated on
 * @param recipe how it was trained
 * @param validation validation bits per byte per language against the baselines
 * @param sampling how the samples were generated (one line, e.g. "temperature 0.8, top-k 40")
 * @param samples example generations (may be empty)
 * @param lossCurveImage relative path of the loss curve image next to the card (e.g.
 *     {@code loss_curve.png}), or null when there is none
 */
public record ModelCard(
    String modelName,
    String description,
    Architecture architecture,
    TrainingData data,
    Recipe recipe,
    ValidationTable validation,
    String sampling,
    List<Sample> samples,
    String lossCurveImage) {

  /** The card's file name in a model directory. */
  public static final String FILE_NAME = "MODEL_CARD.md";
  /** The loss curve image that {@link TrainingMetrics#drawLossCurve} writes. */
  public static final String LOSS_CURVE_PNG = TrainingMetrics.LOSS_CURVE + ".png";

  public ModelCard {
    singleLine(modelName, "modelName");
    require(description, "description (use \"\" for none)");
    require(architecture, "architecture");
    require(data, "data");
    require(recipe, "recipe");
    require(validation, "validation");
    require(samples, "samples");
    samples = List.copyOf(samples);
    if (!samples.isEmpty()) {
      singleLine(sampling, "sampling");
    }
    if (lossCurveImage != null) {
      singleLine(lossCurveImage, "lossCurveImage");
    }
  }

  /**
   * Shape and size of the network.
   *
   * @param kind one line on the architecture family, e.g. "GPT-2 style decoder, pre-LN, GELU"
   * @param context maximum sequence length in bytes
   * @param vocab vocabulary size (256 for byte models)
   * @param parameters number of trainable parameters
   * @param fileBytes size of the weights file in bytes
   */
  public record Architecture(String kind, int layers, int dModel, int heads, int dMlp, int context,
      int vocab, long parameters, long fileBytes) {
    public Architecture {
      singleLine(kind, "architecture.kind");
      positive(layers, "architecture.layers");
      positive(dModel, "architecture.dModel");
      positive(heads, "architecture.heads");
      positive(dMlp, "architecture.dMlp");
      positive(context, "architecture.context");
      positive(vocab, "architecture.vocab");
      positive(parameters, "architecture.parameters");
      positive(fileBytes, "architecture.fileBytes");
      if (dModel % heads != 0) {
        throw new IllegalArgumentException("architecture.dModel (" + dModel
            + ") must be divisible by architecture.heads (" + heads + ")");
      }
    }
  }

  /**
   * The data the model saw.
   *
   * @param corpus one line naming the corpus and split, e.g. "Europarl (Lucene test framework
   *     9.12.0), 90/5/5 split by document id"
   */
  public record TrainingData(String corpus, long trainDocuments, long trainBytes,
      long validationDocuments, long validationBytes) {
    public TrainingData {
      singleLine(corpus, "data.corpus");
      positive(trainDocuments, "data.trainDocuments");
      positive(trainBytes, "data.trainBytes");
      positive(validationDocuments, "data.validationDocuments");
      positive(validationBytes, "data.validationBytes");
    }
  }

  /**
   * How the model was trained.
   *
   * @param optimizer one line, e.g. "AdamW (β1 0.9, β2 0.95, weight decay 0.1)"
   * @param lrSchedule one line, e.g. "peak 1e-3, 200 warm-up steps, cosine to 1e-4"
   * @param batchSequences sequences per optimizer step
   * @param sequenceLength bytes per sequence
   * @param steps optimizer steps taken
   * @param tokensSeen training tokens (bytes) consumed
   * @param hardware one line, e.g. "2 CPU cores (x86-64), PyTorch 2.7.1 via DJL 0.34.0"
   * @param wallTime training wall-clock time
   */
  public record Recipe(String optimizer, String lrSchedule, int batchSequences, int sequenceLength,
      long steps, long tokensSeen, long seed, String hardware, Duration wallTime) {
    public Recipe {
      singleLine(optimizer, "recipe.optimizer");
      singleLine(lrSchedule, "recipe.lrSchedule");
      positive(batchSequences, "recipe.batchSequences");
      positive(sequenceLength, "recipe.sequenceLength");
      positive(steps, "recipe.steps");
      positive(tokensSeen, "recipe.tokensSeen");
      singleLine(hardware, "recipe.hardware");
      require(wallTime, "recipe.wallTime");
      if (wallTime.isNegative()) {
        throw new IllegalArgumentException("recipe.wallTime must not be negative, got " + wallTime);
      }
    }
  }

  /**
   * Validation bits per byte of one language (or of all, for the overall row).
   *
   * @param label ISO 639-1 code (or any label), one line
   * @param bytes validation bytes with this label
   * @param parent the parent model's bpb for a fine-tune, or null
   */
  public record BpbRow(String label, long bytes, double model, double unigram, double bigram, Double parent) {
    public BpbRow {
      singleLine(label, "validation row label");
      if (bytes < 0) {
        throw new IllegalArgumentException("validation row '" + label + "': bytes must be >= 0, got " + bytes);
      }
      bpb(model, label, "model");
      bpb(unigram, label, "unigram");
      bpb(bigram, label, "bigram");
      if (parent != null) {
        bpb(parent, label, "parent");
      }
    }

    private static void bpb(double value, String label, String column) {
      if (!Double.isFinite(value) || value < 0) {
        throw new IllegalArgumentException("validation row '" + label + "': " + column
            + " bits per byte must be finite and >= 0, got " + value);
      }
    }
  }

  /**
   * The per-language table: one row per label, then the overall row.
   *
   * @param smoothing the add-k constant of the n-gram baselines, stated under the table
   */
  public record ValidationTable(List<BpbRow> rows, BpbRow overall, double smoothing) {
    public ValidationTable {
      require(rows, "validation.rows");
      require(overall, "validation.overall");
      rows = List.copyOf(rows);
      if (!(smoothing > 0) || !Double.isFinite(smoothing)) {
        throw new IllegalArgumentException("validation.smoothing must be finite and > 0, got " + smoothing);
      }
      boolean withParent = overall.parent() != null;
      for (BpbRow row : rows) {
        if ((row.parent() != null) != withParent) {
          throw new IllegalArgumentException("validation row '" + row.label() + "' "
              + (withParent ? "lacks" : "has") + " a parent score but the overall row "
              + (withParent ? "has one" : "does not") + "; give it for all rows or none");
        }
      }
    }

    /** Whether the table has a parent column (the model is a fine-tune). */
    public boolean hasParent() {
      return overall.parent() != null;
    }

    /**
     * The table of a model scored per label next to its baselines (and parent, or null), all
     * on the same documents.
     *
     * @throws IllegalArgumentException if the scores do not cover the same labels and bytes
     *     (they would then not be comparable)
     */
    public static ValidationTable of(LabeledBitsPerByte model, LabeledBitsPerByte unigram,
        LabeledBitsPerByte bigram, LabeledBitsPerByte parent, double smoothing) {
      require(model, "model scores");
      require(unigram, "unigram scores");
      require(bigram, "bigram scores");
      sameDocuments(model, unigram, "unigram");
      sameDocuments(model, bigram, "bigram");
      if (parent != null) {
        sameDocuments(model, parent, "parent");
      }
      List<BpbRow> rows = new ArrayList<>();
      for (Map.Entry<String, BitsPerByte> e : model.byLabel().entrySet()) {
        String label = e.getKey();
        rows.add(row(label, e.getValue(), unigram.byLabel().get(label), bigram.byLabel().get(label),
            parent == null ? null : parent.byLabel().get(label)));
      }
      BpbRow overall = row("all", model.overall(), unigram.overall(), bigram.overall(),
          parent == null ? null : parent.overall());
      return new ValidationTable(rows, overall, smoothing);
    }

    private static BpbRow row(String label, BitsPerByte model, BitsPerByte unigram, BitsPerByte bigram,
        BitsPerByte parent) {
      return new BpbRow(label, model.bytes(), model.bitsPerByte(), unigram.bitsPerByte(),
          bigram.bitsPerByte(), parent == null ? null : parent.bitsPerByte());
    }

    private static void sameDocuments(LabeledBitsPerByte model, LabeledBitsPerByte other, String name) {
      SortedMap<String, BitsPerByte> a = model.byLabel();
      SortedMap<String, BitsPerByte> b = other.byLabel();
      if (!a.keySet().equals(b.keySet())) {
        throw new IllegalArgumentException(name + " scores cover labels " + b.keySet()
            + " but the model's cover " + a.keySet());
      }
      for (String label : a.keySet()) {
        if (a.get(label).bytes() != b.get(label).bytes()) {
          throw new IllegalArgumentException(name + " scores of '" + label + "' cover " + b.get(label).bytes()
              + " bytes but the model's cover " + a.get(label).bytes());
        }
      }
    }
  }

  /** A generation: the prompt given and the text the model continued it with. */
  public record Sample(String prompt, String continuation) {
    public Sample {
      require(prompt, "sample prompt");
      require(continuation, "sample continuation");
    }
  }

  /** Writes the card to {@code dir/MODEL_CARD.md} atomically and returns its path. */
  public Path write(Path dir) throws IOException {
    if (dir == null) {
      throw new IllegalArgumentException("model directory must not be null");
    }
    java.nio.file.Files.createDirectories(dir);
    Path card = dir.resolve(FILE_NAME);
    AtomicFiles.write(card, render().getBytes(StandardCharsets.UTF_8));
    return card;
  }

  /** The card as Markdown. */
  public String render() {
    StringBuilder md = new StringBuilder();
    md.append("# ").append(modelName).append("\n\n");
    if (!description.isBlank()) {
      md.append(description.strip()).append("\n\n");
    }
    md.append("A byte-level causal language model: its tokens are the bytes of UTF-8 text (ids 0-255),"
        + " so it needs no tokenizer file and can read any text.\n\n");

    Architecture a = architecture;
    md.append("## Architecture\n\n");
    md.append("| | |\n|---|---|\n");
    field(md, "type", a.kind());
    field(md, "layers", Integer.toString(a.layers()));
    field(md, "d_model", Integer.toString(a.dModel()));
    field(md, "heads", a.heads() + " (d_head " + a.dModel() / a.heads() + ")");
    field(md, "d_mlp", Integer.toString(a.dMlp()));
    field(md, "context", grouped(a.context()) + " bytes");
    field(md, "vocabulary", Integer.toString(a.vocab()));
    field(md, "parameters", grouped(a.parameters()) + " (" + scaled(a.parameters()) + ")");
    field(md, "weights file", binarySize(a.fileBytes()));
    md.append('\n');

    TrainingData d = data;
    md.append("## Data\n\n");
    md.append("| | |\n|---|---|\n");
    field(md, "corpus", d.corpus());
    field(md, "training", grouped(d.trainDocuments()) + " documents, " + grouped(d.trainBytes()) + " bytes");
    field(md, "validation", grouped(d.validationDocuments()) + " documents, " + grouped(d.validationBytes())
        + " bytes");
    md.append('\n');

    Recipe r = recipe;
    md.append("## Training recipe\n\n");
    md.append("| | |\n|---|---|\n");
    field(md, "optimizer", r.optimizer());
    field(md, "learning rate", r.lrSchedule());
    field(md, "batch", r.batchSequences() + " × " + grouped(r.sequenceLength()) + " = "
        + grouped((long) r.batchSequences() * r.sequenceLength()) + " bytes per step");
    field(md, "steps", grouped(r.steps()));
    field(md, "tokens seen", grouped(r.tokensSeen()) + " (" + scaled(r.tokensSeen()) + ", "
        + String.format(Locale.ROOT, "%.2f", (double) r.tokensSeen() / d.trainBytes()) + " epochs)");
    field(md, "seed", Long.toString(r.seed()));
    field(md, "hardware", r.hardware());
    field(md, "wall time", duration(r.wallTime()));
    md.append('\n');

    renderValidation(md);

    if (lossCurveImage != null) {
      md.append("## Loss curve\n\n");
      md.append("Training loss (converted to bits per byte) and validation bits per byte by step.\n\n");
      md.append("![Training and validation loss](").append(lossCurveImage.replace(" ", "%20")).append(")\n\n");
    }

    if (!samples.isEmpty()) {
      md.append("## Samples\n\n");
      md.append("Sampling: ").append(sampling).append(". Each prompt is followed by the model's continuation,"
          + " shown verbatim (control characters as visible symbols).\n\n");
      for (int i = 0; i < samples.size(); i++) {
        Sample s = samples.get(i);
        md.append("**Sample ").append(i + 1).append("**, prompt:\n\n");
        codeBlock(md, s.prompt());
        md.append("continuation:\n\n");
        codeBlock(md, s.continuation());
      }
    }
    return md.toString();
  }

  private void renderValidation(StringBuilder md) {
    ValidationTable v = validation;
    md.append("## Validation bits per byte\n\n");
    md.append("Bits per byte on the validation split, per language (lower is better). Baselines are byte"
        + " unigram and bigram models with add-").append(number(v.smoothing()))
        .append(" smoothing fit on the training split; the bigram model conditions a document's first byte"
            + " on a document boundary.\n\n");
    md.append("| language | bytes | model |");
    if (v.hasParent()) {
      md.append(" parent |");
    }
    md.append(" unigram | bigram |\n");
    md.append("|---|---:|---:|");
    if (v.hasParent()) {
      md.append("---:|");
    }
    md.append("---:|---:|\n");
    for (BpbRow row : v.rows()) {
      bpbRow(md, cell(languageName(row.label())), row, v.hasParent());
    }
    bpbRow(md, "**all**", v.overall(), v.hasParent());
    md.append('\n');
  }

  private static void bpbRow(StringBuilder md, String label, BpbRow row, boolean withParent) {
    md.append("| ").append(label).append(" | ").append(grouped(row.bytes())).append(" | ")
        .append(bpb(row.model())).append(" |");
    if (withParent) {
      md.append(' ').append(bpb(row.parent())).append(" |");
    }
    md.append(' ').append(bpb(row.unigram())).append(" | ").append(bpb(row.bigram())).append(" |\n");
  }

  /** "fr (French)" for a known ISO 639 code, else the label as given. */
  static String languageName(String label) {
    if (label.length() < 2 || label.length() > 3 || !label.chars().allMatch(c -> c >= 'a' && c <= 'z')) {
      return label;
    }
    String name = Locale.forLanguageTag(label).getDisplayLanguage(Locale.ENGLISH);
    return name.isEmpty() || name.equals(label) ? label : label + " (" + name + ")";
  }

  /**
   * A fenced code block that shows {@code text} verbatim: the fence is longer than any run of
   * backticks inside, so model output cannot close it early, and control characters (which
   * would otherwise be invisible or break the terminal) are shown as Unicode control pictures.
   */
  static void codeBlock(StringBuilder md, String text) {
    StringBuilder visible = new StringBuilder(text.length());
    int longestRun = 0;
    int run = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      run = c == '`' ? run + 1 : 0;
      longestRun = Math.max(longestRun, run);
      if (c == '\n' || c == '\t') {
        visible.append(c);
      } else if (c < 0x20) {
        visible.append((char) (0x2400 + c));
      } else if (c == 0x7f) {
        visible.append('\u2421');
      } else {
        visible.append(c);
      }
    }
    String fence = "`".repeat(Math.max(3, longestRun + 1));
    md.append(fence).append("text\n").append(visible);
    if (visible.length() == 0 || visible.charAt(visible.length() - 1) != '\n') {
      md.append('\n');
    }
    md.append(fence).append("\n\n");
  }

  private static void field(StringBuilder md, String name, String value) {
    md.append("| ").append(name).append(" | ").append(cell(value)).append(" |\n");
  }

  /** Table cells cannot contain a raw pipe. */
  private static String cell(String value) {
    return value.replace("|", "\\|");
  }

  private static String bpb(double value) {
    return String.format(Locale.ROOT, "%.3f", value);
  }

  private static String number(double value) {
    return value == Math.rint(value) && Math.abs(value) < 1e15
        ? Long.toString((long) value) : String.format(Locale.ROOT, "%s", value);
  }

  static String grouped(long value) {
    return String.format(Locale.ROOT, "%,d", value);
  }

  /** 3.21 M, 850 k, 1.20 B: a rough size next to the exact count. */
  static String scaled(long value) {
    if (value >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.2f B", value / 1e9);
    }
    if (value >= 1_000_000L) {
      return String.format(Locale.ROOT, "%.2f M", value / 1e6);
    }
    if (value >= 1_000L) {
      return String.format(Locale.ROOT, "%.1f k", value / 1e3);
    }
    return Long.toString(value);
  }

  static String binarySize(long bytes) {
    if (bytes >= 1L << 30) {
      return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
    if (bytes >= 1L << 20) {
      return String.format(Locale.ROOT, "%.2f MiB", bytes / (double) (1L << 20));
    }
    if (bytes >= 1L << 10) {
      return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
    return bytes + " bytes";
  }

  static String duration(Duration d) {
    long s = d.getSeconds();
    if (s >= 3600) {
      return String.format(Locale.ROOT, "%d h %02d min %02d s", s / 3600, s % 3600 / 60, s % 60);
    }
    if (s >= 60) {
      return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }

  private static void require(Object value, String field) {
    if (value == null) {
      throw new IllegalArgumentException("model card field " + field + " must not be null");
    }
  }

  private static void singleLine(String value, String field) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("model card field " + field + " must not be blank");
    }
    if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
      throw new IllegalArgumentException("model card field " + field + " must be one line, got: " + value);
    }
  }

  private static void positive(long value, String field) {
    if (value <= 0) {
      throw new IllegalArgumentException("model card field " + field + " must be > 0, got " + value);
    }
  }
}
