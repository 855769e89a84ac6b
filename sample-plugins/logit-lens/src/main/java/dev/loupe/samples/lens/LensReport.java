package dev.loupe.samples.lens;

import dev.loupe.sdk.io.AtomicFiles;
import dev.loupe.sdk.model.ModelInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code report.md}: what a person reads after the job. One table with a row per layer (the
 * numbers of the {@code summary} result, with small text bars so the trend across layers shows at
 * a glance), then the example rows with every layer's top token. Plain Markdown, so it reads in a
 * terminal, on GitHub and in Loupe's UI alike.
 */
final class LensReport {
  /**
   * An example row with its tokens as text: its index in the stream, its document and position,
   * the text up to and including the row's token, the actual next token, the model's top token
   * and each layer's.
   */
  record ExampleRow(long row, int doc, int position, String context, String next, String finalTop1, List<String> lensTop1) {
  }

  private static final int BAR = 16;
  private static final String[] EIGHTHS = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};

  private LensReport() {
  }

  static void write(Path file, ModelInfo model, List<LogitLensMethod.Layer> layers, LayerStats[] stats,
      List<ExampleRow> examples, boolean bars) throws IOException {
    String md = markdown(model, layers, stats, examples, bars);
    // Written to a temporary file and renamed, so a reader never sees half a report.
    AtomicFiles.write(file, md.getBytes(StandardCharsets.UTF_8));
  }

  static String markdown(ModelInfo model, List<LogitLensMethod.Layer> layers, LayerStats[] stats,
      List<ExampleRow> examples, boolean bars) {
    StringBuilder md = new StringBuilder();
    LogitLensMethod.Layer last = layers.stream().filter(LogitLensMethod.Layer::isFinal).findFirst().orElseThrow();
    md.append("# Logit lens: ").append(model.id()).append("\n\n");
    md.append(String.format(Locale.ROOT, "%,d rows (%,d followed by their next token in the same document). Each "
            + "layer's residual stream is decoded with the model's final norm and unembedding, as if it were the last "
            + "layer, and compared with the model's own prediction (`%s`, input `%s`) and with the actual next "
            + "token.%n%n", stats[0].rows(), stats[0].rowsWithNext(), last.hook(), last.input()));

    double maxKl = 0;
    for (LayerStats s : stats) {
      maxKl = Math.max(maxKl, s.meanKl());
    }
    md.append("| input | hook | agrees with the model | next-token accuracy | KL(model ‖ lens), nats | mean rank of next"
        + " | loss, nats |\n|---|---|---|---|---|---:|---:|\n");
    for (int i = 0; i < layers.size(); i++) {
      LayerStats s = stats[i];
      md.append("| ").append(layers.get(i).input()).append(" | `").append(layers.get(i).hook()).append("` | ")
          .append(withBar(s.top1Agreement(), 1.0, bars)).append(" | ")
          .append(withBar(s.accuracy(), 1.0, bars)).append(" | ")
          .append(withBar(s.meanKl(), maxKl, bars)).append(" | ")
          .append(number(s.meanRank(), "%.1f")).append(" | ")
          .append(number(s.loss(), "%.3f")).append(" |\n");
    }
    md.append("""

        - *agrees with the model*: fraction of rows where the lens's most likely token is the model's own.
        - *next-token accuracy*: fraction of rows (with a next token) where it is the token that actually follows.
        - *KL(model ‖ lens)*: mean KL divergence of the lens's next-token distribution from the model's.
        - *mean rank of next*: where the actual next token ranks among the lens's logits (1: first).
        - *loss*: mean cross-entropy of the actual next token under the lens.
        """);

    if (!examples.isEmpty()) {
      md.append("\n## Examples\n\nEach layer's most likely next token on a sample of rows; the text ends with the "
          + "row's own token.\n\n| text | next |");
      for (LogitLensMethod.Layer l : layers) {
        md.append(' ').append(l.input()).append(l.isFinal() ? " (model)" : "").append(" |");
      }
      md.append("\n|---|---|");
      md.append("---|".repeat(layers.size()));
      md.append('\n');
      for (ExampleRow e : examples) {
        md.append("| ").append(text(e.context())).append(" | ").append(token(e.next())).append(" |");
        for (String t : e.lensTop1()) {
          // Bold where the layer already predicts the token that follows.
          String c = token(t);
          md.append(' ').append(t.equals(e.next()) ? "**" + c + "**" : c).append(" |");
        }
        md.append('\n');
      }
    }
    return md.toString();
  }

  /** A number with, optionally, a bar of its share of {@code max} drawn in eighths of a block. */
  static String withBar(double x, double max, boolean bars) {
    if (!Double.isFinite(x)) {
      return "n/a";
    }
    String n = String.format(Locale.ROOT, "%.3f", x);
    if (!bars) {
      return n;
    }
    return n + " `" + bar(max > 0 ? x / max : 0, BAR) + "`";
  }

  /** A bar of {@code width} characters filled to {@code fraction} (clamped to [0, 1]). */
  static String bar(double fraction, int width) {
    int eighths = (int) Math.round(Math.max(0, Math.min(1, fraction)) * width * 8);
    String s = "█".repeat(eighths / 8) + EIGHTHS[eighths % 8];
    return s + " ".repeat(width - s.length());
  }

  private static String number(double x, String format) {
    return Double.isFinite(x) ? String.format(Locale.ROOT, format, x) : "n/a";
  }

  /** A token as a Markdown code span, its spaces made visible: a token is often just a space. */
  static String token(String text) {
    return text(text.replace(' ', '␣'));
  }

  /**
   * Text as a Markdown code span that survives a table row: line breaks and tabs made visible,
   * the column separator escaped, backticks (which would end the span) replaced.
   */
  static String text(String text) {
    String s = text.replace("\r", "␍").replace("\n", "⏎").replace("\t", "⇥").replace('`', 'ʻ').replace("|", "\\|");
    return "`" + s + "`";
  }
}
