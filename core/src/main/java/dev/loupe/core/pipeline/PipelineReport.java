package dev.loupe.core.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.sdk.report.Plots;
import dev.loupe.sdk.io.AtomicFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A pipeline's report: one self-contained HTML page (plots as PNG files beside it, SVG copies for
 * print) with a section per completed step: what a harvest stored, a job's summary numbers and its
 * training curves from {@code metrics.jsonl}, an evaluation's table; every section links the raw
 * JSON and weights it came from. Readable offline.
 */
final class PipelineReport {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Metric curves plotted when a job recorded them, in this order. */
  private static final List<List<String>> CURVES = List.of(List.of("loss"), List.of("fve", "eval_fve"),
      List.of("l0", "eval_l0"), List.of("dead_fraction", "eval_dead_fraction"));

  private PipelineReport() {
  }

  static Path write(Path dir, String title, Pipeline pipeline, Map<String, Map<String, Object>> outputs)
      throws IOException {
    Path plots = dir.resolve("plots");
    Files.createDirectories(plots);
    StringBuilder h = new StringBuilder();
    h.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title><style>")
        .append("body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}")
        .append("table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}")
        .append("th:first-child,td:first-child{text-align:left}code{background:#f4f4f4;padding:1px 4px}")
        .append("img{max-width:100%}</style></head><body>");
    h.append("<h1>").append(esc(title)).append("</h1><p>Pipeline <code>").append(esc(pipeline.name)).append("</code>")
        .append(pipeline.description.isEmpty() ? "" : ": " + esc(pipeline.description)).append("; variables ")
        .append(esc(String.valueOf(pipeline.vars))).append(".</p>");
    for (Pipeline.Step s : pipeline.steps) {
      Map<String, Object> out = outputs.get(s.id());
      if (out == null) {
        continue;
      }
      h.append("<h2>").append(esc(s.id())).append(" <small>(").append(s.kind()).append(")</small></h2>");
      switch (s.kind()) {
        case "harvest" -> harvest(h, dir, out);
        case "job" -> job(h, dir, plots, s.id(), out);
        case "eval" -> eval(h, dir, out);
        default -> h.append("<p>This report.</p>");
      }
    }
    h.append("</body></html>");
    Path file = dir.resolve("report.html");
    AtomicFiles.write(file, h.toString().getBytes(StandardCharsets.UTF_8));
    return file;
  }

  private static void harvest(StringBuilder h, Path dir, Map<String, Object> out) {
    h.append(String.format(Locale.ROOT, "<p>%,d tokens; activation stores:</p><table><tr><th>hook</th><th>rows</th>"
        + "<th>store</th></tr>", ((Number) out.get("tokens")).longValue()));
    @SuppressWarnings("unchecked")
    Map<String, Object> rows = (Map<String, Object>) out.getOrDefault("rows", Map.of());
    Path base = Path.of(String.valueOf(out.get("dir")));
    rows.forEach((hook, n) -> h.append("<tr><td><code>").append(esc(hook)).append("</code></td><td>")
        .append(String.format(Locale.ROOT, "%,d", ((Number) n).longValue())).append("</td><td><a href=\"")
        .append(esc(rel(dir, base.resolve(hook).resolve("manifest.json")))).append("\">manifest.json</a></td></tr>"));
    h.append("</table>");
  }

  private static void job(StringBuilder h, Path dir, Path plots, String id, Map<String, Object> out) throws IOException {
    Path jobDir = Path.of(String.valueOf(out.get("dir")));
    h.append("<p>Method <code>").append(esc(String.valueOf(out.get("method")))).append("</code>; artifacts in <a href=\"")
        .append(esc(rel(dir, jobDir))).append("\"><code>").append(esc(rel(dir, jobDir))).append("</code></a>");
    if (Files.isRegularFile(jobDir.resolve("report.md"))) {
      h.append(", report <a href=\"").append(esc(rel(dir, jobDir.resolve("report.md")))).append("\">report.md</a>");
    }
    h.append(".</p>");
    Path summary = jobDir.resolve("results/summary.json");
    if (Files.isRegularFile(summary)) {
      JsonNode s = JSON.readTree(summary.toFile());
      h.append("<table>");
      Iterator<Map.Entry<String, JsonNode>> it = s.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getValue().isValueNode()) {
          JsonNode v = e.getValue();
          h.append("<tr><td>").append(esc(e.getKey())).append("</td><td>")
              .append(esc(v.isFloatingPointNumber() ? String.format(Locale.ROOT, "%.4g", v.asDouble()) : v.asText()))
              .append("</td></tr>");
        }
      }
      h.append("</table><p>All results: <a href=\"").append(esc(rel(dir, jobDir.resolve("results"))))
          .append("\">results/</a>.</p>");
    }
    List<Path> own = jobPlots(jobDir.resolve("plots"));
    if (!own.isEmpty()) {
      // the method drew its own plots (training curves, density and decoder-norm histograms, ...)
      for (Path png : own) {
        Path svg = png.resolveSibling(png.getFileName().toString().replaceFirst("\\.png$", ".svg"));
        h.append("<p><img src=\"").append(esc(rel(dir, png))).append("\" alt=\"")
            .append(esc(png.getFileName().toString())).append("\">");
        if (Files.isRegularFile(svg)) {
          h.append(" <a href=\"").append(esc(rel(dir, svg))).append("\">SVG</a>");
        }
        h.append("</p>");
      }
      return;
    }
    Path metrics = jobDir.resolve("metrics.jsonl");
    if (Files.isRegularFile(metrics)) {
      Map<String, List<double[]>> curves = readMetrics(metrics);
      for (List<String> group : CURVES) {
        List<Plots.Series> series = new ArrayList<>();
        for (String name : group) {
          List<double[]> pts = curves.get(name);
          if (pts != null && pts.size() > 1) {
            double[] x = pts.stream().mapToDouble(p -> p[0]).toArray();
            double[] y = pts.stream().mapToDouble(p -> p[1]).toArray();
            series.add(name.startsWith("eval_") ? Plots.Series.lineAndPoints(name, x, y) : Plots.Series.line(name, x, y));
          }
        }
        if (!series.isEmpty()) {
          Plots.Rendered r = Plots.xy(Plots.Chart.of(id + ": " + String.join(", ", group), "step", group.get(0)),
              series, plots.resolve(id + "-" + group.get(0)));
          h.append("<p><img src=\"").append(esc(rel(dir, r.png()))).append("\" alt=\"").append(esc(group.get(0)))
              .append("\"> <a href=\"").append(esc(rel(dir, r.svg()))).append("\">SVG</a></p>");
        }
      }
    }
  }

  /** The PNGs in a job's plots/ folder: training curves first, then the rest by name. */
  static List<Path> jobPlots(Path plotsDir) throws IOException {
    if (!Files.isDirectory(plotsDir)) {
      return List.of();
    }
    List<String> first = List.of("loss", "fve", "l0", "dead_fraction", "density", "decoder_norms");
    try (var files = Files.list(plotsDir)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".png")).sorted((a, b) -> {
        String na = a.getFileName().toString().replaceFirst("\\.png$", "");
        String nb = b.getFileName().toString().replaceFirst("\\.png$", "");
        int ia = first.indexOf(na) < 0 ? first.size() : first.indexOf(na);
        int ib = first.indexOf(nb) < 0 ? first.size() : first.indexOf(nb);
        return ia != ib ? Integer.compare(ia, ib) : na.compareTo(nb);
      }).toList();
    }
  }

  private static void eval(StringBuilder h, Path dir, Map<String, Object> out) throws IOException {
    Path file = Path.of(String.valueOf(out.get("file")));
    JsonNode e = JSON.readTree(file.toFile());
    h.append("<table>");
    Iterator<Map.Entry<String, JsonNode>> it = e.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> f = it.next();
      JsonNode v = f.getValue();
      h.append("<tr><td>").append(esc(f.getKey())).append("</td><td>")
          .append(esc(v.isFloatingPointNumber() ? String.format(Locale.ROOT, "%.4g", v.asDouble()) : v.asText()))
          .append("</td></tr>");
    }
    h.append("</table><p><a href=\"").append(esc(rel(dir, file))).append("\">").append(esc(file.getFileName().toString()))
        .append("</a></p>");
  }

  /** Each numeric metric's (step, value) points, in file order. */
  private static Map<String, List<double[]>> readMetrics(Path file) throws IOException {
    Map<String, List<double[]>> out = new LinkedHashMap<>();
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode row = JSON.readTree(line);
        double step = row.path("step").asDouble();
        Iterator<Map.Entry<String, JsonNode>> it = row.fields();
        while (it.hasNext()) {
          Map.Entry<String, JsonNode> e = it.next();
          if (e.getValue().isNumber() && !e.getKey().equals("step") && !e.getKey().equals("time")) {
            out.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(new double[] {step, e.getValue().asDouble()});
          }
        }
      }
    }
    return out;
  }

  private static String rel(Path dir, Path p) {
    return dir.relativize(p.toAbsolutePath()).toString();
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
