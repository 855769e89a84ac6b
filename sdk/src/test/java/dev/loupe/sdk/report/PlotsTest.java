package dev.loupe.sdk.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.report.Plots.Chart;
import dev.loupe.sdk.report.Plots.Rendered;
import dev.loupe.sdk.report.Plots.Series;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

class PlotsTest {
  @TempDir
  Path dir;

  private static final double[] STEPS = {0, 100, 200, 300, 400};
  private static final double[] LOSS = {8.0, 4.1, 3.0, 2.6, 2.4};

  @Test
  void lineChartWritesPngOfTheRequestedSizeAndSvg() throws Exception {
    Rendered out = Plots.xy(Chart.of("Loss", "step", "bits per byte").withSize(640, 400),
        List.of(Series.line("train", STEPS, LOSS)), dir.resolve("loss"));

    assertThat(out.png()).isEqualTo(dir.resolve("loss.png"));
    assertThat(out.svg()).isEqualTo(dir.resolve("loss.svg"));
    BufferedImage png = ImageIO.read(out.png().toFile());
    assertThat(png.getWidth()).isEqualTo(640);
    assertThat(png.getHeight()).isEqualTo(400);
    assertThat(parseSvg(out.svg()).getDocumentElement().getTagName()).isEqualTo("svg");
  }

  @Test
  void mixedStylesAndLogYRenderTogether() throws Exception {
    Rendered out = Plots.xy(Chart.of("Loss", "step", "bpb").withLogY(), List.of(
        Series.line("train", STEPS, LOSS),
        Series.lineAndPoints("validation", new double[] {200, 400}, new double[] {3.1, 2.5}),
        Series.points("probe", new double[] {50}, new double[] {6.0})), dir.resolve("mixed"));

    assertThat(ImageIO.read(out.png().toFile())).isNotNull();
    assertThat(Files.readString(out.svg())).contains("<svg");
  }

  @Test
  void histogramWritesBothFiles() throws Exception {
    Rendered out = Plots.histogram(Chart.of("Feature density", "log10 density", "features"),
        new double[] {-6, -5, -4, -3, -2}, new double[] {3, 0, 12, 40}, dir.resolve("sub/density"));

    assertThat(ImageIO.read(out.png().toFile()).getWidth()).isEqualTo(800);
    assertThat(parseSvg(out.svg()).getDocumentElement().getTagName()).isEqualTo("svg");
  }

  @Test
  void logHistogramAcceptsEmptyBins() throws Exception {
    Rendered out = Plots.histogram(Chart.of("Density", "x", "count").withLogY(),
        new double[] {0, 1, 2, 3}, new double[] {1000, 0, 2}, dir.resolve("log-hist"));

    assertThat(ImageIO.read(out.png().toFile())).isNotNull();
  }

  @Test
  void rewritingReplacesTheFilesAndLeavesNoTemporaries() throws Exception {
    Path base = dir.resolve("curve");
    Plots.xy(Chart.of("A", "x", "y"), List.of(Series.line("a", STEPS, LOSS)), base);
    Plots.xy(Chart.of("A", "x", "y").withSize(300, 200), List.of(Series.line("a", STEPS, LOSS)), base);

    assertThat(ImageIO.read(dir.resolve("curve.png").toFile()).getWidth()).isEqualTo(300);
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("curve.png", "curve.svg");
    }
  }

  @Test
  void emptySeriesIsRejectedByName() {
    assertThatThrownBy(() -> Series.line("train", new double[0], new double[0]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("series 'train' is empty");
  }

  @Test
  void mismatchedLengthsAreRejected() {
    assertThatThrownBy(() -> Series.line("train", new double[] {1, 2, 3}, new double[] {1, 2}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("series 'train' has 3 x values but 2 y values");
  }

  @Test
  void nanIsRejectedWithItsIndex() {
    assertThatThrownBy(() -> Series.line("val", new double[] {1, 2, 3}, new double[] {1, Double.NaN, 2}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("series 'val' y[1] is NaN");
  }

  @Test
  void chartWithoutSeriesIsRejected() {
    assertThatThrownBy(() -> Plots.xy(Chart.of("Empty", "x", "y"), List.of(), dir.resolve("e")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("chart 'Empty' needs at least one series");
    assertThat(dir.resolve("e.png")).doesNotExist();
  }

  @Test
  void logYRejectsNonPositiveValues() {
    Chart chart = Chart.of("Loss", "step", "bpb").withLogY();
    assertThatThrownBy(() -> Plots.xy(chart,
        List.of(Series.line("train", new double[] {1, 2}, new double[] {3, 0})), dir.resolve("l")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("series 'train' y (log-y chart)[1] is 0.0");
  }

  @Test
  void duplicateSeriesNamesAreRejected() {
    Series a = Series.line("train", STEPS, LOSS);
    assertThatThrownBy(() -> Plots.xy(Chart.of("Loss", "x", "y"), List.of(a, a), dir.resolve("d")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("two series named 'train'");
  }

  @Test
  void histogramNeedsOneMoreEdgeThanCounts() {
    assertThatThrownBy(() -> Plots.histogram(Chart.of("H", "x", "n"),
        new double[] {0, 1}, new double[] {1, 2}, dir.resolve("h")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has 2 counts, so it needs 3 bin edges, got 2");
  }

  @Test
  void histogramEdgesMustIncrease() {
    assertThatThrownBy(() -> Plots.histogram(Chart.of("H", "x", "n"),
        new double[] {0, 2, 2}, new double[] {1, 2}, dir.resolve("h")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("strictly increasing, but edge[2] = 2.0 follows edge[1] = 2.0");
  }

  @Test
  void histogramRejectsNegativeCounts() {
    assertThatThrownBy(() -> Plots.histogram(Chart.of("H", "x", "n"),
        new double[] {0, 1, 2}, new double[] {1, -1}, dir.resolve("h")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("count[1] = -1.0");
  }

  @Test
  void logHistogramOfOnlyZerosIsRejected() {
    assertThatThrownBy(() -> Plots.histogram(Chart.of("H", "x", "n").withLogY(),
        new double[] {0, 1, 2}, new double[] {0, 0}, dir.resolve("h")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("only zero counts");
  }

  @Test
  void basePathWithExtensionIsRejected() {
    assertThatThrownBy(() -> Plots.xy(Chart.of("A", "x", "y"),
        List.of(Series.line("a", STEPS, LOSS)), dir.resolve("curve.png")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("without .png/.svg extension");
  }

  @Test
  void headlessIsSetByUsingPlots() throws IOException {
    Plots.xy(Chart.of("A", "x", "y"), List.of(Series.line("a", STEPS, LOSS)), dir.resolve("h"));
    assertThat(System.getProperty("java.awt.headless")).isEqualTo("true");
  }

  @Test
  void tickLabelsAreShort() {
    assertThat(Plots.tickLabel(0.0)).isEqualTo("0");
    assertThat(Plots.tickLabel(1120.0)).isEqualTo("1120");
    assertThat(Plots.tickLabel(12500.0)).isEqualTo("12.5k");
    assertThat(Plots.tickLabel(3_000_000.0)).isEqualTo("3M");
    assertThat(Plots.tickLabel(2.5e9)).isEqualTo("2.5G");
    assertThat(Plots.tickLabel(0.25)).isEqualTo("0.25");
    assertThat(Plots.tickLabel(1.0 / 3)).isEqualTo("0.3333");
    assertThat(Plots.tickLabel(-1e-5)).isEqualTo("-1e-5");
  }

  @Test
  void logAxisLabelsOnlyOneTwoAndFive() {
    assertThat(Plots.logTickLabel(100.0)).isEqualTo("100");
    assertThat(Plots.logTickLabel(20.0)).isEqualTo("20");
    assertThat(Plots.logTickLabel(0.5)).isEqualTo("0.5");
    assertThat(Plots.logTickLabel(70.0)).isEmpty();
    assertThat(Plots.logTickLabel(3.0)).isEmpty();
  }

  @Test
  void axisStepsAreRound() {
    assertThat(Plots.roundStep(998)).isEqualTo(1000);
    assertThat(Plots.roundStep(1001)).isEqualTo(2000);
    assertThat(Plots.roundStep(0.21)).isEqualTo(0.25);
    assertThat(Plots.roundStep(3.7)).isEqualTo(5);
  }

  private static Document parseSvg(Path svg) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    // The SVG may name the W3C DTD; tests run offline, so it must not be fetched.
    factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
    factory.setNamespaceAware(true);
    DocumentBuilder builder = factory.newDocumentBuilder();
    return builder.parse(svg.toFile());
  }
}
