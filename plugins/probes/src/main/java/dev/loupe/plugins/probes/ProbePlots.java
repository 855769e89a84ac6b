package dev.loupe.plugins.probes;

import dev.loupe.sdk.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The probes job's charts, drawn headless with XChart (provided by the host with the SDK) and written as PNG and SVG,
 * each atomically (a reader never sees half a file): F1 against k for the k-sparse sweeps, and a
 * per-input (layer) line chart for the layer sweep.
 */
final class ProbePlots {
  static {
    // Jobs run on servers without a display; this must be set before the first AWT class loads.
    System.setProperty("java.awt.headless", "true");
  }

  private ProbePlots() {
  }

  /**
   * One line: a name, its points, and its look: {@code colour} picks the hue, {@code dash} the
   * stroke (0 solid, 1 dashed, 2 dotted), so lines of one input share a colour and lines of one
   * ranking a stroke.
   */
  record Line(String name, double[] x, double[] y, int colour, int dash) {
    Line(String name, double[] x, double[] y, int colour) {
      this(name, x, y, colour, 0);
    }
  }

  /** Distinct colours that stay distinguishable in print (the ten "tableau" hues). */
  private static final Color[] PALETTE = {
      new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44), new Color(214, 39, 40),
      new Color(148, 103, 189), new Color(140, 86, 75), new Color(227, 119, 194), new Color(127, 127, 127),
      new Color(188, 189, 34), new Color(23, 190, 207)};

  /** Dash patterns cycled once the colours run out, so 10+ lines stay apart. */
  private static final float[][] DASHES = {null, {6f, 4f}, {2f, 3f}};

  /**
   * F1 against k (log axis) for one dataset: one line per input and ranking.
   *
   * @return the PNG and SVG written (base path + .png / .svg)
   */
  static List<Path> f1VsK(String title, List<Line> lines, Path base) throws IOException {
    XYChart chart = new XYChartBuilder().width(1000).height(560).title(title).xAxisTitle("k (features in the probe)")
        .yAxisTitle("test F1").build();
    style(chart.getStyler(), lines.size());
    chart.getStyler().setXAxisLogarithmic(true);
    // decade ticks only: 1..9 per decade would run the labels into each other
    chart.getStyler().setXAxisLogarithmicDecadeOnly(true);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax(1.0);
    chart.getStyler().setXAxisDecimalPattern("#");
    Set<String> names = new HashSet<>();
    for (int i = 0; i < lines.size(); i++) {
      Line l = lines.get(i);
      if (!names.add(l.name())) {
        throw new IllegalArgumentException("chart '" + title + "' has two lines named '" + l.name() + "'");
      }
      XYSeries s = chart.addSeries(l.name(), l.x(), l.y());
      s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
      s.setMarker(SeriesMarkers.CIRCLE);
      colour(l, s);
    }
    return write(chart, base);
  }

  /**
   * One line per dataset over the inputs in sweep order (categories on the x axis).
   *
   * @param categories the x labels, one per input
   */
  static List<Path> perInput(String title, String yTitle, List<String> categories, List<Line> lines, double yMin,
      double yMax, Path base) throws IOException {
    CategoryChart chart = new CategoryChartBuilder().width(1000).height(560).title(title)
        .xAxisTitle("input (layer), in sweep order").yAxisTitle(yTitle).build();
    style(chart.getStyler(), lines.size());
    chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
    // every line's points over its category, not side by side as grouped bars would be
    chart.getStyler().setOverlapped(true);
    chart.getStyler().setYAxisMin(yMin);
    chart.getStyler().setYAxisMax(yMax);
    Set<String> names = new HashSet<>();
    for (int i = 0; i < lines.size(); i++) {
      Line l = lines.get(i);
      if (!names.add(l.name())) {
        throw new IllegalArgumentException("chart '" + title + "' has two lines named '" + l.name() + "'");
      }
      // NaN marks an input the line has no value for (a mechanistic probe skips non-residual inputs): a gap.
      java.util.List<Double> ys = new java.util.ArrayList<>();
      for (double y : l.y()) {
        ys.add(Double.isNaN(y) ? null : y);
      }
      CategorySeries s = chart.addSeries(l.name(), categories, ys);
      s.setMarker(SeriesMarkers.CIRCLE);
      colour(l, s);
    }
    return write(chart, base);
  }

  private static void colour(Line l, org.knowm.xchart.internal.series.MarkerSeries s) {
    Color c = PALETTE[l.colour() % PALETTE.length];
    s.setLineColor(c);
    s.setMarkerColor(c);
    float[] dash = DASHES[(l.dash() + l.colour() / PALETTE.length) % DASHES.length];
    s.setLineStyle(dash == null ? new BasicStroke(2f)
        : new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, dash, 0f));
  }

  private static void style(org.knowm.xchart.style.AxesChartStyler st, int lines) {
    st.setChartBackgroundColor(Color.WHITE);
    // a few lines fit in one row below the plot; more need a column beside it
    st.setLegendPosition(lines > 4 ? Styler.LegendPosition.OutsideE : Styler.LegendPosition.OutsideS);
    st.setLegendLayout(lines > 4 ? Styler.LegendLayout.Vertical : Styler.LegendLayout.Horizontal);
    st.setAntiAlias(true);
    st.setPlotGridLinesColor(new Color(225, 225, 225));
  }

  private static List<Path> write(Chart<?, ?> chart, Path base) throws IOException {
    // Render both in memory first, so a drawing failure leaves no file behind.
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    BitmapEncoder.saveBitmap(chart, png, BitmapEncoder.BitmapFormat.PNG);
    ByteArrayOutputStream svg = new ByteArrayOutputStream();
    VectorGraphicsEncoder.saveVectorGraphic(chart, svg, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    Files.createDirectories(base.toAbsolutePath().getParent());
    Path pngPath = base.resolveSibling(base.getFileName() + ".png");
    Path svgPath = base.resolveSibling(base.getFileName() + ".svg");
    AtomicFiles.write(pngPath, png.toByteArray());
    AtomicFiles.write(svgPath, svg.toByteArray());
    return List.of(pngPath, svgPath);
  }

  /** A file-name-safe form of a dataset or input name ({@code word:Parlement} -> {@code word-Parlement}). */
  static String fileName(String name) {
    String s = name.replaceAll("[^A-Za-z0-9._-]+", "-").replaceAll("^[-.]+", "");
    return s.isEmpty() ? "x" : s;
  }
}
