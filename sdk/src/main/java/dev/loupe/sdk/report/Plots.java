package dev.loupe.sdk.report;

import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Headless charts for reports (loss curves, histograms, metric-vs-parameter plots), each written
 * as a PNG for quick viewing and an SVG for papers, both atomically.
 *
 * <p>All methods are static, thread-safe (every call builds its own chart) and validate their
 * input before drawing anything: a bad series is reported by name and index instead of producing
 * an empty or misleading picture.
 */
public final class Plots {
  static {
    // Reports are drawn on servers and in CI without a display; this must be set before the
    // first AWT class initialises, which is why it lives in the class that every chart goes
    // through.
    System.setProperty("java.awt.headless", "true");
  }

  private Plots() {
  }

  /**
   * What a chart looks like apart from its data.
   *
   * @param title shown above the plot
   * @param xLabel x axis title
   * @param yLabel y axis title
   * @param logY whether the y axis is logarithmic (then every y value must be &gt; 0)
   * @param width image width in pixels
   * @param height image height in pixels
   */
  public record Chart(String title, String xLabel, String yLabel, boolean logY, int width, int height) {
    public Chart {
      requireText(title, "chart title");
      requireText(xLabel, "x axis label");
      requireText(yLabel, "y axis label");
      if (width < 100 || height < 100 || width > 10_000 || height > 10_000) {
        throw new IllegalArgumentException(
            "chart size must be between 100 and 10000 pixels per side, got " + width + "x" + height);
      }
    }

    /** An 800x500 chart with a linear y axis. */
    public static Chart of(String title, String xLabel, String yLabel) {
      return new Chart(title, xLabel, yLabel, false, 800, 500);
    }

    /** This chart with a logarithmic y axis. */
    public Chart withLogY() {
      return new Chart(title, xLabel, yLabel, true, width, height);
    }

    /** This chart with another image size in pixels. */
    public Chart withSize(int newWidth, int newHeight) {
      return new Chart(title, xLabel, yLabel, logY, newWidth, newHeight);
    }
  }

  /** How a series is drawn. */
  public enum Style {
    /** A line through the points, no markers: dense curves such as training loss. */
    LINE,
    /** Markers only: scatter plots. */
    POINTS,
    /** A line with a marker at each point: sparse measurements such as validation loss. */
    LINE_AND_POINTS
  }

  /**
   * One named series of (x, y) points. The arrays are copied; every value must be finite (NaN
   * and infinities are rejected rather than silently dropped, because a gap in a loss curve
   * usually means a diverged run that the reader should be told about).
   */
  public record Series(String name, double[] x, double[] y, Style style) {
    public Series {
      requireText(name, "series name");
      if (style == null) {
        throw new IllegalArgumentException("series '" + name + "': style must not be null");
      }
      if (x == null || y == null) {
        throw new IllegalArgumentException("series '" + name + "': x and y must not be null");
      }
      if (x.length == 0) {
        throw new IllegalArgumentException("series '" + name + "' is empty: it needs at least one point");
      }
      if (x.length != y.length) {
        throw new IllegalArgumentException("series '" + name + "' has " + x.length
            + " x values but " + y.length + " y values; they must be the same length");
      }
      x = x.clone();
      y = y.clone();
      requireFinite(x, "series '" + name + "' x");
      requireFinite(y, "series '" + name + "' y");
    }

    /** A series drawn as a line. */
    public static Series line(String name, double[] x, double[] y) {
      return new Series(name, x, y, Style.LINE);
    }

    /** A series drawn as markers only. */
    public static Series points(String name, double[] x, double[] y) {
      return new Series(name, x, y, Style.POINTS);
    }

    /** A series drawn as a line with a marker at each point. */
    public static Series lineAndPoints(String name, double[] x, double[] y) {
      return new Series(name, x, y, Style.LINE_AND_POINTS);
    }

    @Override
    public double[] x() {
      return x.clone();
    }

    @Override
    public double[] y() {
      return y.clone();
    }

    /** Number of points. */
    public int size() {
      return x.length;
    }
  }

  /** The two files a chart was written to. */
  public record Rendered(Path png, Path svg) {
  }

  /**
   * Draws series against a numeric x axis: line charts, scatter plots or a mix (each series has
   * its own {@link Style}). Writes {@code basePath + ".png"} and {@code basePath + ".svg"}.
   *
   * @param basePath the output path without extension, e.g. {@code run/loss_curve}
   * @throws IllegalArgumentException if there are no series, two share a name, or a log-y chart
   *     has a y value &lt;= 0 (the message names the series and point)
   * @throws IOException if a file cannot be written (neither is then left half-written)
   */
  public static Rendered xy(Chart chart, List<Series> series, Path basePath) throws IOException {
    requireChart(chart);
    if (series == null || series.isEmpty()) {
      throw new IllegalArgumentException("chart '" + chart.title() + "' needs at least one series, got none");
    }
    Set<String> names = new HashSet<>();
    for (Series s : series) {
      if (s == null) {
        throw new IllegalArgumentException("chart '" + chart.title() + "' has a null series");
      }
      if (!names.add(s.name())) {
        throw new IllegalArgumentException(
            "chart '" + chart.title() + "' has two series named '" + s.name() + "'; names must be unique");
      }
      if (chart.logY()) {
        requirePositive(s.y, "series '" + s.name() + "' y (log-y chart)");
      }
    }
    XYChart xy = newChart(chart);
    double minX = Double.POSITIVE_INFINITY;
    double maxX = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (double x : s.x) {
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
      }
    }
    roundXAxis(xy, minX, maxX, series.get(0).y[0]);
    for (int i = 0; i < series.size(); i++) {
      Series s = series.get(i);
      XYSeries drawn = xy.addSeries(s.name(), s.x, s.y);
      // Explicit colours: XChart's palette index would count the hidden bounds series.
      Color color = PALETTE[i % PALETTE.length];
      drawn.setLineColor(color);
      drawn.setMarkerColor(color);
      drawn.setFillColor(color);
      switch (s.style()) {
        case LINE -> {
          drawn.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
          drawn.setMarker(SeriesMarkers.NONE);
        }
        case POINTS -> {
          drawn.setXYSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
          drawn.setMarker(SeriesMarkers.CIRCLE);
        }
        case LINE_AND_POINTS -> {
          drawn.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
          drawn.setMarker(SeriesMarkers.CIRCLE);
        }
        default -> throw new IllegalStateException("unknown style " + s.style());
      }
    }
    // One series needs no legend; its name is in the title or axis label.
    xy.getStyler().setLegendVisible(series.size() > 1);
    return write(xy, basePath);
  }

  /**
   * Draws a histogram of precomputed bins: bar {@code i} spans {@code [binEdges[i], binEdges[i+1])}
   * and has height {@code counts[i]} (counts or densities). On a log-y chart empty bins are drawn
   * at the floor of the axis (half the smallest non-zero count), since zero has no logarithm.
   *
   * @param binEdges strictly increasing finite edges, one more than there are bins
   * @param counts finite, non-negative bar heights
   * @param basePath the output path without extension
   * @throws IllegalArgumentException for fewer than one bin, edges not strictly increasing,
   *     lengths that do not match, negative or non-finite counts, or a log-y chart whose counts
   *     are all zero
   * @throws IOException if a file cannot be written
   */
  public static Rendered histogram(Chart chart, double[] binEdges, double[] counts, Path basePath)
      throws IOException {
    requireChart(chart);
    if (binEdges == null || counts == null) {
      throw new IllegalArgumentException("histogram '" + chart.title() + "': bin edges and counts must not be null");
    }
    if (counts.length == 0) {
      throw new IllegalArgumentException("histogram '" + chart.title() + "' has no bins: counts is empty");
    }
    if (binEdges.length != counts.length + 1) {
      throw new IllegalArgumentException("histogram '" + chart.title() + "' has " + counts.length
          + " counts, so it needs " + (counts.length + 1) + " bin edges, got " + binEdges.length);
    }
    requireFinite(binEdges, "histogram '" + chart.title() + "' bin edges");
    requireFinite(counts, "histogram '" + chart.title() + "' counts");
    for (int i = 1; i < binEdges.length; i++) {
      if (!(binEdges[i] > binEdges[i - 1])) {
        throw new IllegalArgumentException("histogram '" + chart.title() + "' bin edges must be strictly increasing, but edge["
            + i + "] = " + binEdges[i] + " follows edge[" + (i - 1) + "] = " + binEdges[i - 1]);
      }
    }
    double minPositive = Double.POSITIVE_INFINITY;
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] < 0) {
        throw new IllegalArgumentException("histogram '" + chart.title() + "' counts must be >= 0, but count["
            + i + "] = " + counts[i]);
      }
      if (counts[i] > 0) {
        minPositive = Math.min(minPositive, counts[i]);
      }
    }
    if (chart.logY() && minPositive == Double.POSITIVE_INFINITY) {
      throw new IllegalArgumentException("histogram '" + chart.title()
          + "' has only zero counts, which a log-y axis cannot show");
    }
    double floor = chart.logY() ? minPositive / 2 : 0.0;

    // The outline of all bars as one closed polygon: for each bin its top-left and top-right
    // corner, starting and ending on the floor. One polygon keeps the SVG small for many bins.
    int n = counts.length;
    double[] px = new double[2 * n + 2];
    double[] py = new double[2 * n + 2];
    px[0] = binEdges[0];
    py[0] = floor;
    for (int i = 0; i < n; i++) {
      double h = Math.max(counts[i], floor);
      px[1 + 2 * i] = binEdges[i];
      py[1 + 2 * i] = h;
      px[2 + 2 * i] = binEdges[i + 1];
      py[2 + 2 * i] = h;
    }
    px[2 * n + 1] = binEdges[n];
    py[2 * n + 1] = floor;

    XYChart xy = newChart(chart);
    roundXAxis(xy, binEdges[0], binEdges[n], floor);
    XYSeries bars = xy.addSeries(chart.yLabel(), px, py);
    bars.setXYSeriesRenderStyle(XYSeriesRenderStyle.PolygonArea);
    bars.setMarker(SeriesMarkers.NONE);
    bars.setFillColor(new Color(70, 110, 180, 170));
    bars.setLineColor(new Color(40, 70, 130));
    xy.getStyler().setLegendVisible(false);
    xy.getStyler().setYAxisMin(floor);
    return write(xy, basePath);
  }

  /**
   * Widens the x axis to round numbers: XChart starts its ticks at the smallest x, so a run
   * logged from step 10 would otherwise be labelled 10, 260, 510, ...
   */
  private static void roundXAxis(XYChart xy, double min, double max, double anyY) {
    if (!(max > min)) {
      return;
    }
    double step = roundStep((max - min) / 5);
    double lo = Math.floor(min / step) * step;
    double hi = Math.ceil(max / step) * step;
    xy.getStyler().setXAxisMin(lo);
    xy.getStyler().setXAxisMax(hi);
    // XChart 4 treats x values that are equally spaced in insertion order (e.g. a loss logged
    // every 10 steps) like categories and puts ticks only on data values (10, 260, 510, ...).
    // A hidden series listed first, running backwards over the rounded range, breaks that
    // pattern so the ordinary round-number ticks are used. Its name is blank, which Series
    // forbids, so it cannot clash with a caller's series.
    XYSeries bounds = xy.addSeries(HIDDEN_SERIES, new double[] {hi, lo}, new double[] {anyY, anyY});
    bounds.setEnabled(false);
    bounds.setShowInLegend(false);
  }

  private static final String HIDDEN_SERIES = " ";

  /** Distinct colours that stay distinguishable in print (the ten "tableau" hues). */
  private static final Color[] PALETTE = {
      new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44), new Color(214, 39, 40),
      new Color(148, 103, 189), new Color(140, 86, 75), new Color(227, 119, 194), new Color(127, 127, 127),
      new Color(188, 189, 34), new Color(23, 190, 207)};

  /** The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least {@code raw}. */
  static double roundStep(double raw) {
    double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    for (double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (m * magnitude >= raw * (1 - 1e-9)) {
        return m * magnitude;
      }
    }
    return 10 * magnitude;
  }

  private static XYChart newChart(Chart chart) {
    XYChart xy = new XYChartBuilder()
        .width(chart.width())
        .height(chart.height())
        .title(chart.title())
        .xAxisTitle(chart.xLabel())
        .yAxisTitle(chart.yLabel())
        .build();
    xy.getStyler()
        .setChartBackgroundColor(Color.WHITE)
        // Below the plot: inside, the legend hides the end of a loss curve or a reference line.
        .setLegendPosition(Styler.LegendPosition.OutsideS)
        .setLegendLayout(Styler.LegendLayout.Horizontal)
        .setAntiAlias(true);
    xy.getStyler().setYAxisLogarithmic(chart.logY());
    // Decade-only ticks leave a log axis spanning less than one decade (e.g. 1.5 to 8 bits) with
    // no labels at all.
    xy.getStyler().setYAxisLogarithmicDecadeOnly(false);
    xy.getStyler().setPlotGridLinesColor(new Color(225, 225, 225));
    // XChart's default tick labels run into each other for step and token counts
    // ("1,1201,400"); short labels and wider spacing keep them legible.
    xy.getStyler().setXAxisTickMarkSpacingHint(90);
    xy.getStyler().setXAxisMaxLabelCount(10);
    xy.getStyler().setXAxisTickLabelsFormattingFunction(Plots::tickLabel);
    // A log axis gets a tick at every 1..9 of each decade; labelling only 1, 2 and 5 keeps
    // the labels from overlapping while the grid still shows the scale.
    xy.getStyler().setYAxisTickLabelsFormattingFunction(chart.logY() ? Plots::logTickLabel : Plots::tickLabel);
    return xy;
  }

  /**
   * A short axis label: at most four significant digits, thousands as k/M/G, tiny values in
   * exponent form (e.g. {@code 12.5k}, {@code 3M}, {@code 0.25}, {@code 1e-5}).
   */
  static String tickLabel(Double value) {
    double v = value;
    double abs = Math.abs(v);
    if (abs == 0) {
      return "0";
    }
    if (abs >= 1e9) {
      return significant(v / 1e9) + "G";
    }
    if (abs >= 1e6) {
      return significant(v / 1e6) + "M";
    }
    if (abs >= 1e4) {
      return significant(v / 1e3) + "k";
    }
    if (abs < 1e-3) {
      String e = String.format(Locale.ROOT, "%.2e", v);
      String mantissa = trimZeros(e.substring(0, e.indexOf('e')));
      int exponent = Integer.parseInt(e.substring(e.indexOf('e') + 1));
      return mantissa + "e" + exponent;
    }
    return significant(v);
  }

  /** {@link #tickLabel} for values whose leading digit is 1, 2 or 5; empty for the others. */
  static String logTickLabel(Double value) {
    double abs = Math.abs(value);
    if (abs == 0 || !Double.isFinite(abs)) {
      return tickLabel(value);
    }
    double mantissa = abs / Math.pow(10, Math.floor(Math.log10(abs)));
    long lead = Math.round(mantissa);
    boolean labelled = Math.abs(mantissa - lead) < 1e-6 * mantissa && (lead == 1 || lead == 2 || lead == 5 || lead == 10);
    return labelled ? tickLabel(value) : "";
  }

  private static String significant(double v) {
    return trimZeros(new BigDecimal(v).round(new MathContext(4)).toPlainString());
  }

  private static String trimZeros(String s) {
    if (s.indexOf('.') < 0) {
      return s;
    }
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  private static Rendered write(XYChart xy, Path basePath) throws IOException {
    if (basePath == null) {
      throw new IllegalArgumentException("output base path must not be null");
    }
    String base = basePath.getFileName() == null ? "" : basePath.getFileName().toString();
    String lower = base.toLowerCase(Locale.ROOT);
    if (base.isEmpty() || lower.endsWith(".png") || lower.endsWith(".svg")) {
      throw new IllegalArgumentException("output base path must be a file name without .png/.svg extension "
          + "(both files are written), got '" + basePath + "'");
    }
    // Render both in memory first so that a drawing failure leaves no file behind.
    byte[] png = BitmapEncoder.getBitmapBytes(xy, BitmapEncoder.BitmapFormat.PNG);
    ByteArrayOutputStream svg = new ByteArrayOutputStream();
    VectorGraphicsEncoder.saveVectorGraphic(xy, svg, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    Path pngPath = basePath.resolveSibling(base + ".png");
    Path svgPath = basePath.resolveSibling(base + ".svg");
    java.nio.file.Files.createDirectories(pngPath.toAbsolutePath().getParent());
    dev.loupe.sdk.io.AtomicFiles.write(pngPath, png);
    dev.loupe.sdk.io.AtomicFiles.write(svgPath, svg.toByteArray());
    return new Rendered(pngPath, svgPath);
  }

  private static void requireChart(Chart chart) {
    if (chart == null) {
      throw new IllegalArgumentException("chart must not be null");
    }
  }

  private static void requireText(String value, String what) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(what + " must not be blank");
    }
  }

  private static void requireFinite(double[] values, String what) {
    for (int i = 0; i < values.length; i++) {
      if (!Double.isFinite(values[i])) {
        throw new IllegalArgumentException(what + "[" + i + "] is " + values[i] + "; values must be finite");
      }
    }
  }

  private static void requirePositive(double[] values, String what) {
    for (int i = 0; i < values.length; i++) {
      if (!(values[i] > 0)) {
        throw new IllegalArgumentException(what + "[" + i + "] is " + values[i] + "; values must be > 0");
      }
    }
  }
}
