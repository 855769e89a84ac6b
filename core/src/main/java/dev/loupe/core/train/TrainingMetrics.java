package dev.loupe.core.train;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.sdk.report.Plots;
import dev.loupe.sdk.report.Plots.Chart;
import dev.loupe.sdk.report.Plots.Series;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The loss history of a training run, read from the {@code metrics.jsonl} the trainer writes
 * into its run directory, and drawn as {@code loss_curve.png}/{@code .svg} for the model card.
 *
 * <p>Each non-blank line is one JSON object with an integer {@code step}; a line with
 * {@code train_loss} (mean cross-entropy in nats per byte) is a training point, one with
 * {@code val_bpb} a validation point; other fields and other kinds of lines are ignored.
 *
 * @param train training points in file order
 * @param validation validation points in file order
 */
public record TrainingMetrics(List<TrainPoint> train, List<ValidationPoint> validation) {
  /** File name of the loss curve next to the model card, without extension. */
  public static final String LOSS_CURVE = "loss_curve";

  private static final ObjectMapper JSON = new ObjectMapper()
      // Python's json module writes NaN for a diverged loss; parse it so the error can say so.
      .configure(JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS, true);
  private static final double LN2 = Math.log(2);

  public TrainingMetrics {
    if (train == null || validation == null) {
      throw new IllegalArgumentException("train and validation points must not be null");
    }
    train = List.copyOf(train);
    validation = List.copyOf(validation);
  }

  /**
   * One training step's loss.
   *
   * @param trainLoss mean cross-entropy per byte in nats
   */
  public record TrainPoint(long step, double trainLoss) {
    /** The loss in bits per byte ({@code loss / ln 2}), comparable with validation bpb. */
    public double bitsPerByte() {
      return trainLoss / LN2;
    }
  }

  /** Validation bits per byte measured at a step. */
  public record ValidationPoint(long step, double bitsPerByte) {
  }

  /**
   * Reads a metrics file.
   *
   * @throws IllegalArgumentException naming the file and line for a line that is not a JSON
   *     object, lacks an integer {@code step}, or has a non-numeric or non-finite loss (a
   *     half-written last line included: metrics are never silently skipped)
   * @throws IOException if the file cannot be read
   */
  public static TrainingMetrics read(Path metricsJsonl) throws IOException {
    if (metricsJsonl == null) {
      throw new IllegalArgumentException("metrics file path must not be null");
    }
    List<TrainPoint> train = new ArrayList<>();
    List<ValidationPoint> validation = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(metricsJsonl, StandardCharsets.UTF_8)) {
      String line;
      int number = 0;
      while ((line = reader.readLine()) != null) {
        number++;
        if (line.isBlank()) {
          continue;
        }
        String where = metricsJsonl + " line " + number;
        JsonNode node;
        try {
          node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
          throw new IllegalArgumentException(where + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (node == null || !node.isObject()) {
          throw new IllegalArgumentException(where + " must be a JSON object, got: " + abbreviate(line));
        }
        JsonNode step = node.get("step");
        if (step == null || !step.canConvertToLong() || !step.isIntegralNumber() || step.asLong() < 0) {
          throw new IllegalArgumentException(where + " needs \"step\" as a non-negative integer, got: " + step);
        }
        if (node.has("train_loss")) {
          train.add(new TrainPoint(step.asLong(), finiteNumber(node, "train_loss", where)));
        }
        if (node.has("val_bpb")) {
          validation.add(new ValidationPoint(step.asLong(), finiteNumber(node, "val_bpb", where)));
        }
      }
    }
    return new TrainingMetrics(train, validation);
  }

  /** Draws the loss curve into {@code dir/loss_curve.png} and {@code .svg}. */
  public Plots.Rendered drawLossCurve(Path dir) throws IOException {
    return drawLossCurve(dir, Map.of());
  }

  /**
   * Draws training loss (in bits per byte) and validation bpb against step, with a horizontal
   * line for each reference score (e.g. {@code "bigram baseline" -> 2.9}) so the curve can be
   * read against the baselines in the model card.
   *
   * @throws IllegalArgumentException if there are no points at all
   * @throws IOException if the files cannot be written
   */
  public Plots.Rendered drawLossCurve(Path dir, Map<String, Double> references) throws IOException {
    if (dir == null || references == null) {
      throw new IllegalArgumentException("dir and references must not be null");
    }
    if (train.isEmpty() && validation.isEmpty()) {
      throw new IllegalArgumentException("no train_loss or val_bpb points to draw a loss curve from");
    }
    List<Series> series = new ArrayList<>();
    double minStep = Double.POSITIVE_INFINITY;
    double maxStep = Double.NEGATIVE_INFINITY;
    if (!train.isEmpty()) {
      double[] x = new double[train.size()];
      double[] y = new double[train.size()];
      for (int i = 0; i < x.length; i++) {
        x[i] = train.get(i).step();
        y[i] = train.get(i).bitsPerByte();
        minStep = Math.min(minStep, x[i]);
        maxStep = Math.max(maxStep, x[i]);
      }
      series.add(Series.line("train", x, y));
    }
    if (!validation.isEmpty()) {
      double[] x = new double[validation.size()];
      double[] y = new double[validation.size()];
      for (int i = 0; i < x.length; i++) {
        x[i] = validation.get(i).step();
        y[i] = validation.get(i).bitsPerByte();
        minStep = Math.min(minStep, x[i]);
        maxStep = Math.max(maxStep, x[i]);
      }
      series.add(Series.lineAndPoints("validation", x, y));
    }
    // Reference lines span the steps that were drawn, so they never stretch the x axis.
    double[] span = {minStep, maxStep};
    references.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(ref -> {
      if (ref.getValue() == null) {
        throw new IllegalArgumentException("reference line '" + ref.getKey() + "' has no value");
      }
      series.add(Series.line(ref.getKey(), span, new double[] {ref.getValue(), ref.getValue()}));
    });
    return Plots.xy(Chart.of("Training loss", "step", "bits per byte"), series, dir.resolve(LOSS_CURVE));
  }

  private static double finiteNumber(JsonNode node, String field, String where) {
    JsonNode value = node.get(field);
    if (value == null || !value.isNumber()) {
      throw new IllegalArgumentException(where + ": \"" + field + "\" must be a number, got " + value);
    }
    double v = value.asDouble();
    if (!Double.isFinite(v)) {
      throw new IllegalArgumentException(where + ": \"" + field + "\" is " + v + " (did the run diverge?)");
    }
    return v;
  }

  private static String abbreviate(String line) {
    return line.length() <= 80 ? line : line.substring(0, 77) + "...";
  }
}
