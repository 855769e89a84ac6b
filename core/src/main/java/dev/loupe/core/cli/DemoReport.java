package dev.loupe.core.cli;

import dev.loupe.core.job.JobStatus;
import dev.loupe.core.node.Harvest;
import dev.loupe.sdk.io.AtomicFiles;
import dev.loupe.sdk.model.ModelInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Writes the demo's self-contained HTML report (inline SVG plots, no external resources). */
final class DemoReport {
  private DemoReport() {}

  static Path write(Path runDir, ModelInfo info, String model, Harvest harvest, double seconds,
      Map<String, Map<String, Object>> stats, Map<String, Long> storedRows, Map<String, JobStatus> jobs,
      Map<String, Object> sae, Map<String, Object> neurons, Map<String, Object> diff) throws IOException {
    StringBuilder h = new StringBuilder();
    h.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>Loupe demo</title><style>")
        .append("body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}")
        .append("table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}")
        .append("th:first-child,td:first-child{text-align:left}code{background:#f4f4f4;padding:1px 4px}")
        .append("td.dims{text-align:left;font-size:90%}.note{background:#fff8e1;padding:8px 12px;border-left:4px solid #f0b400}</style></head><body>");
    h.append("<h1>Loupe demo</h1>");
    h.append("<p>Model <code>").append(esc(model)).append("</code>: ").append(esc(info.architecture())).append(", ")
        .append(info.nLayers()).append(" layers, d_model ").append(info.dModel()).append(", ")
        .append(info.nHeads()).append(" heads, context ").append(info.maxContext()).append(", ")
        .append(String.format("%,d", info.parameters())).append(" parameters.</p>");
    if (model.equals("tiny") || model.startsWith("random-")) {
      h.append("<p class=\"note\">This model is randomly initialised (seeded): the numbers show the platform working, "
          + "not learned structure. Trained demo models replace it as they ship.</p>");
    }
    h.append(String.format("<p>Corpus <code>europarl</code> (European Parliament, 21 languages): %,d tokens in %.1f s "
        + "(%,.0f tokens/s end to end). One forward pass per token; every hook's stream fed two consumers at once: an "
        + "analysis job and an activation store.</p>", harvest.tokensDone(), seconds, harvest.tokensDone() / seconds));
    h.append("<h2>Residual stream by layer</h2><table><tr><th>hook</th><th>rows</th><th>mean ‖x‖</th><th>min ‖x‖</th>"
        + "<th>max ‖x‖</th><th>stored rows</th><th>highest-variance dims</th><th>raw</th></tr>");
    for (Map.Entry<String, Map<String, Object>> e : stats.entrySet()) {
      Map<String, Object> s = e.getValue();
      JobStatus job = jobs.get(e.getKey());
      Path rel = runDir.relativize(job.artifactDir());
      h.append("<tr><td><code>").append(esc(e.getKey())).append("</code></td>")
          .append(String.format("<td>%,d</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%,d</td>",
              num(s, "rows").longValue(), num(s, "mean_norm").doubleValue(), num(s, "min_norm").doubleValue(),
              num(s, "max_norm").doubleValue(), storedRows.get(e.getKey())))
          .append("<td class=\"dims\">").append(esc(topDims(s))).append("</td>")
          .append("<td><a href=\"").append(esc(rel.resolve("results/stats.json").toString())).append("\">stats.json</a> · ")
          .append("<a href=\"").append(esc("stores/" + e.getKey() + "/manifest.json")).append("\">store</a></td></tr>");
    }
    h.append("</table><h2>Distribution of ‖x‖ per token</h2>");
    for (Map.Entry<String, Map<String, Object>> e : stats.entrySet()) {
      h.append("<h3><code>").append(esc(e.getKey())).append("</code></h3>").append(histogramSvg(e.getValue()));
    }
    if (sae != null) {
      String dir = String.valueOf(sae.get("artifacts"));
      h.append("<h2>Sparse autoencoder on <code>").append(esc(String.valueOf(sae.get("hook")))).append("</code></h2>")
          .append(String.format("<p>TopK (k = %s) with %s latents trained by the <code>sae</code> plugin on the stored "
              + "activations of this run: %,d steps over %,d rows; %,d rows held out and never trained on.</p>",
              sae.get("k"), sae.get("d_sae"), num(sae, "steps").longValue(), num(sae, "tokens").longValue(),
              num(sae, "eval_rows").longValue()))
          .append("<table><tr><th>held out</th><th>value</th></tr>")
          .append(String.format("<tr><td>fraction of variance explained</td><td>%.3f</td></tr>", num(sae, "eval_fve")
              .doubleValue()))
          .append(String.format("<tr><td>mean L0 (active latents per token)</td><td>%.1f</td></tr>", num(sae, "eval_l0")
              .doubleValue()))
          .append(String.format("<tr><td>latents never active</td><td>%.1f%%</td></tr>",
              100 * num(sae, "eval_dead_fraction").doubleValue()))
          .append(String.format("<tr><td>dense latents</td><td>%.1f%%</td></tr>",
              100 * num(sae, "eval_dense_fraction").doubleValue()))
          .append("</table><p>Weights in the SAELens layout: <a href=\"").append(esc(dir + "/sae"))
          .append("\"><code>").append(esc(dir)).append("/sae</code></a>; per-latent examples in <a href=\"")
          .append(esc(dir + "/results/features.json")).append("\">features.json</a>.</p>");
      // the plugin's own plots (PNG beside an SVG), linked rather than inlined
      for (String plot : java.util.List.of("loss", "fve", "density", "decoder_norms")) {
        if (java.nio.file.Files.isRegularFile(runDir.resolve(dir).resolve("plots/" + plot + ".png"))) {
          h.append("<img style=\"max-width:48%\" src=\"").append(esc(dir + "/plots/" + plot + ".png"))
              .append("\" alt=\"").append(plot).append("\">");
        }
      }
    }
    if (neurons != null) {
      h.append(neuronSection(neurons));
    }
    if (diff != null) {
      h.append(diffSection(diff));
    }
    h.append("<p>Artifacts: <code>jobs/</code> (each job's config.json, metrics.jsonl, results/, report.md), "
        + "<code>stores/</code> (sharded safetensors activation stores).</p></body></html>");
    Path file = runDir.resolve("report.html");
    AtomicFiles.write(file, h.toString().getBytes(StandardCharsets.UTF_8));
    return file;
  }

  /** Language neurons: per language, the best single MLP neuron and the largest sparse probe. */
  @SuppressWarnings("unchecked")
  private static String neuronSection(Map<String, Object> n) {
    String dir = String.valueOf(n.get("artifacts"));
    StringBuilder h = new StringBuilder("<h2>Language neurons</h2><p>Every MLP neuron (")
        .append(n.get("neurons")).append(" in all) scored by the <code>neurons</code> plugin against each language "
            + "versus the others, on class-balanced rows of shuffled Europarl; thresholds fitted on training "
            + "documents, F1 and AUC on held-out documents (0.667 is what calling every row positive scores; an AUC "
            + "under 0.5 is a neuron that is quieter on the language than elsewhere). "
            + "A neuron is <em>dedicated</em> at F1 &ge; 0.9; otherwise a k-sparse probe over all neurons shows "
            + "how many it takes (Gurnee et al. 2023).</p>")
        .append("<table><tr><th>language</th><th>best neuron</th><th>F1</th><th>AUC</th><th>dedicated</th>"
            + "<th>largest probe</th></tr>");
    for (Map<String, Object> r : (java.util.List<Map<String, Object>>) n.get("families")) {
      h.append("<tr><td>").append(esc(String.valueOf(r.get("family")))).append("</td><td><code>")
          .append(esc(String.valueOf(r.get("neuron")))).append("</code></td><td>")
          .append(String.format(java.util.Locale.ROOT, "%.3f", num(r, "f1").doubleValue())).append("</td><td>")
          .append(String.format(java.util.Locale.ROOT, "%.3f", num(r, "auc").doubleValue())).append("</td><td>")
          .append(Boolean.TRUE.equals(r.get("dedicated")) ? "yes (" + r.get("dedicated_neurons") + ")" : "no")
          .append("</td><td>k = ").append(esc(String.valueOf(r.get("k_max")))).append(": F1 ")
          .append(String.format(java.util.Locale.ROOT, "%.3f", num(r, "f1_k_max").doubleValue()))
          .append("</td></tr>");
    }
    if (!((java.util.List<?>) n.get("skipped")).isEmpty()) {
      h.append("</table><p>Too few rows at this many tokens for: ").append(esc(String.valueOf(n.get("skipped"))))
          .append(".</p><table>");
    }
    return h.append("</table><p>Per-neuron dashboards and every score: <a href=\"").append(esc(dir + "/report.md"))
        .append("\">report.md</a>, <a href=\"").append(esc(dir + "/results/families.json"))
        .append("\">families.json</a>.</p>").toString();
  }

  /** The crosscoder between demo and demo-ft: category counts, the relative-norm histogram, exclusive latents. */
  @SuppressWarnings("unchecked")
  private static String diffSection(Map<String, Object> diff) {
    StringBuilder h = new StringBuilder();
    Map<String, Object> counts = (Map<String, Object>) diff.get("counts");
    String dir = String.valueOf(diff.get("artifacts"));
    h.append("<h2>Model diff: <code>demo</code> vs <code>demo-ft</code> at <code>").append(esc(String.valueOf(diff.get("hook"))))
        .append("</code></h2><p>A crosscoder (L1 on summed decoder norms, ").append(diff.get("d_sae"))
        .append(" latents) trained by the <code>crosscoder</code> plugin on both models' activations of the same "
            + "shuffled Europarl tokens; demo-ft is demo fine-tuned on French. Each latent's relative decoder norm "
            + "‖d<sub>demo-ft</sub>‖ / (‖d<sub>demo</sub>‖ + ‖d<sub>demo-ft</sub>‖) says which model writes it.</p>")
        .append("<table><tr><th>demo only</th><th>shared</th><th>demo-ft only</th><th>mixed</th><th>never fired</th></tr><tr>");
    for (String k : List.of("a_only", "shared", "b_only", "mixed", "never_fired")) {
      h.append("<td>").append(counts.get(k)).append("</td>");
    }
    h.append("</tr></table>");
    Map<String, Object> hist = (Map<String, Object>) diff.get("relative_norm_histogram");
    List<Number> c = (List<Number>) hist.get("counts");
    long max = c.stream().mapToLong(Number::longValue).max().orElse(1);
    h.append("<svg width=\"420\" height=\"130\" xmlns=\"http://www.w3.org/2000/svg\">");
    for (int i = 0; i < c.size(); i++) {
      double bh = 100.0 * c.get(i).longValue() / Math.max(1, max);
      h.append(String.format(java.util.Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"18\" height=\"%.1f\" fill=\"%s\"/>",
          10 + 20 * i, 105 - bh, bh, i < 2 ? "#c0392b" : i >= c.size() - 2 ? "#2471a3" : "#888"));
    }
    h.append("<text x=\"10\" y=\"122\" font-size=\"11\">0: demo only</text><text x=\"330\" y=\"122\" font-size=\"11\">"
        + "1: demo-ft only</text></svg>");
    List<Map<String, Object>> ex = (List<Map<String, Object>>) diff.get("exclusive_examples");
    if (!ex.isEmpty()) {
      h.append("<p>Most frequent exclusive latents that Latent Scaling does not flag (their top held-out example):</p><ul>");
      for (Map<String, Object> e : ex) {
        h.append("<li>").append(esc(String.valueOf(e.get("side")))).append(" latent ").append(e.get("latent"))
            .append(": <code>").append(esc(String.valueOf(e.get("example")))).append("</code></li>");
      }
      h.append("</ul>");
    }
    h.append("<p>Details: <a href=\"").append(esc(dir + "/report.md")).append("\">report.md</a>, <a href=\"")
        .append(esc(dir + "/results/latents.json")).append("\">latents.json</a>.</p>");
    return h.toString();
  }

  static String topDims(Map<String, Object> stats) {
    Object top = stats.get("top_variance_dims");
    if (!(top instanceof List<?> list)) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    for (Object o : list) {
      if (o instanceof Map<?, ?> m) {
        if (sb.length() > 0) {
          sb.append(", ");
        }
        sb.append(m.get("dim")).append(String.format(" (var %.3g)", ((Number) m.get("variance")).doubleValue()));
      }
    }
    return sb.toString();
  }

  private static String histogramSvg(Map<String, Object> stats) {
    @SuppressWarnings("unchecked")
    Map<String, Object> hist = (Map<String, Object>) stats.get("norm_histogram");
    List<?> counts = (List<?>) hist.get("counts");
    List<?> edges = (List<?>) hist.get("edges");
    double max = 1;
    for (Object c : counts) {
      max = Math.max(max, ((Number) c).doubleValue());
    }
    int w = 720;
    int ht = 160;
    double bw = (double) w / counts.size();
    StringBuilder s = new StringBuilder("<svg width=\"" + (w + 20) + "\" height=\"" + (ht + 30)
        + "\" xmlns=\"http://www.w3.org/2000/svg\">");
    for (int i = 0; i < counts.size(); i++) {
      double c = ((Number) counts.get(i)).doubleValue();
      double bh = ht * c / max;
      s.append(String.format("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3b6ea8\">"
          + "<title>%.3f–%.3f: %,d</title></rect>", 10 + i * bw, ht - bh, Math.max(bw - 1, 1), bh,
          ((Number) edges.get(i)).doubleValue(), ((Number) edges.get(i + 1)).doubleValue(), (long) c));
    }
    s.append(String.format("<text x=\"10\" y=\"%d\" font-size=\"12\">%.2f</text>", ht + 20,
        ((Number) edges.get(0)).doubleValue()));
    s.append(String.format("<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%.2f</text>", w + 10, ht + 20,
        ((Number) edges.get(edges.size() - 1)).doubleValue()));
    return s.append("</svg>").toString();
  }

  private static Number num(Map<String, Object> m, String k) {
    return (Number) m.get(k);
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
