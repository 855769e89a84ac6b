package dev.loupe.core.coder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.Document;
import dev.loupe.core.corpus.TokenWindow;
import dev.loupe.core.corpus.TokenWindows;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import dev.loupe.sdk.sparse.SparseMetrics;
import dev.loupe.sdk.sparse.SpliceEvaluator;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Measures a trained sparse coder (an SAE, or a transcoder read at its input hook and scored
 * against its output hook) on a model and a corpus it may never have seen: FVE, MSE, L0, dead and
 * dense latents, and for causal models the next-token loss clean, with the coder spliced in and
 * with the hook zero-ablated ({@link SpliceEvaluator}). What {@code loupe sae eval} and pipeline
 * {@code eval} steps run.
 */
public final class CoderEvaluation {
  private CoderEvaluation() {
  }

  /**
   * Evaluates {@code loaded} on {@code tokens} tokens of {@code corpus} run through {@code session}.
   *
   * @param refName how the coder is named in messages and the result
   * @param hook the hook to read, or null / empty for the coder's own
   * @param hookOut a transcoder's output hook, or null / empty for its own
   * @param ctx window length, or 0 for the model's context
   * @param spliceWindows windows run with the coder spliced in (0: skip)
   * @param err where progress lines go
   * @throws IllegalArgumentException naming what does not fit: a crosscoder, an unknown hook, a
   *     width that is not the coder's, a corpus reference, an empty corpus
   */
  public static Map<String, Object> evaluate(SparseCoderFiles.Loaded loaded, String refName, LocalModelSession session,
      String modelName, String hook, String hookOut, String corpus, long tokens, int ctx, int spliceWindows,
      PrintWriter err) {
    SparseCoder coder = loaded.coder();
    if (coder.sources() > 1) {
      throw new IllegalArgumentException("'" + refName + "' is a crosscoder over " + coder.sources()
          + " sources, not one hook of one model; its evaluation is part of `loupe job crosscoder`");
    }
    String h = hook != null && !hook.isEmpty() ? hook : loaded.info().hookName();
    if (h == null) {
      throw new IllegalArgumentException("coder '" + refName + "' names no hook in cfg.json; pass --hook");
    }
    int width = checkedWidth(session, modelName, refName, h, coder.dIn(), "d_in");
    // a transcoder reads one hook and predicts (and, spliced, replaces) another
    String out2 = coder.layout().autoencoder() ? null
        : hookOut != null && !hookOut.isEmpty() ? hookOut : loaded.info().hookNameOut();
    if (!coder.layout().autoencoder() && out2 == null) {
      throw new IllegalArgumentException("transcoder '" + refName
          + "' names no output hook in cfg.json (hook_name_out); pass --hook-out");
    }
    int widthOut = out2 == null ? 0 : checkedWidth(session, modelName, refName, out2, coder.dOut(), "d_out");
    int window = ctx > 0 ? Math.min(ctx, session.info().maxContext()) : session.info().maxContext();
    List<int[]> windows = windows(session, corpus, tokens, window);
    long total = windows.stream().mapToLong(w -> w.length).sum();
    err.printf(Locale.ROOT, "evaluating %s on %s at %s: %d tokens in %d windows%n", refName, modelName, h, total,
        windows.size());
    err.flush();
    float[] rows = new float[Math.toIntExact(total * width)];
    float[] targets = out2 == null ? null : new float[Math.toIntExact(total * widthOut)];
    int filled = 0;
    int filledOut = 0;
    for (int from = 0; from < windows.size(); from += 8) {
      int[][] batch = windows.subList(from, Math.min(windows.size(), from + 8)).toArray(new int[0][]);
      try (RunResult r = session.run(batch, out2 == null ? Set.of(h) : Set.of(h, out2))) {
        filled = copyRows(r, h, batch, width, rows, filled);
        if (out2 != null) {
          filledOut = copyRows(r, out2, batch, widthOut, targets, filledOut);
        }
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("sae", refName);
    out.put("model", modelName);
    out.put("hook", h);
    if (out2 != null) {
      out.put("hook_out", out2);
    }
    out.put("kind", coder.layout().kind());
    out.put("corpus", corpus);
    out.put("d_sae", coder.dSae());
    try (NDManager m = NDManager.newBaseManager()) {
      SparseMetrics.Evaluation e = SparseMetrics.evaluate(coder, m.create(rows, new Shape(total, width)),
          targets == null ? null : m.create(targets, new Shape(total, widthOut)));
      double[] density = e.density();
      out.put("tokens", e.rows());
      out.put("skipped_rows", e.skippedRows());
      out.put("fve", e.fve());
      out.put("mse", e.mse());
      out.put("l0", e.l0());
      out.put("dead_fraction", SparseMetrics.deadFraction(density));
      out.put("dense_fraction", SparseMetrics.denseFraction(density, 0.1));
    }
    if (spliceWindows > 0 && session.info().causal()) {
      SpliceEvaluator.Result s = SpliceEvaluator.evaluate(session,
          windows.subList(0, Math.min(spliceWindows, windows.size())), new SpliceEvaluator.Splice(h,
              out2 == null ? h : out2, a -> {
                Shape shape = a.getShape();
                NDArray flat = a.reshape(-1, shape.get(shape.dimension() - 1));
                return coder.forward(flat).get(1).reshape(shape.slice(0, shape.dimension() - 1).add(coder.dOut()));
              }), 8);
      out.put("splice_windows", s.sequences());
      out.put("clean_loss", s.cleanLoss());
      out.put("spliced_loss", s.splicedLoss());
      out.put("zero_ablated_loss", s.ablatedLoss());
      out.put("loss_recovered", s.lossRecovered());
      out.put("kl_divergence", s.klDivergence());
    }
    return out;
  }

  private static int checkedWidth(LocalModelSession session, String model, String ref, String h, int expected,
      String what) {
    if (!session.info().hookWidths().containsKey(h)) {
      throw new IllegalArgumentException("model '" + model + "' has no hook '" + h + "'; see `loupe model info " + model
          + "`");
    }
    int width = session.info().hookWidth(h);
    if (width != expected) {
      throw new IllegalArgumentException("coder '" + ref + "' has " + what + " " + expected + " but hook '" + h
          + "' of model '" + model + "' has width " + width);
    }
    return width;
  }

  /** Appends each sequence's valid rows of a captured hook to {@code into}; returns the new fill. */
  private static int copyRows(RunResult r, String h, int[][] batch, int width, float[] into, int filled) {
    float[] a = r.activation(h).toType(DataType.FLOAT32, false).toFloatArray();
    int seq = (int) r.activation(h).getShape().get(1);
    for (int b = 0; b < batch.length; b++) {
      System.arraycopy(a, b * seq * width, into, filled, batch[b].length * width);
      filled += batch[b].length * width;
    }
    return filled;
  }

  private static List<int[]> windows(LocalModelSession session, String corpus, long tokens, int window) {
    List<int[]> out = new ArrayList<>();
    long have = 0;
    Stream<Document> docs;
    try {
      docs = Corpora.open(corpus);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("corpus: " + e.getMessage(), e);
    }
    try (Stream<TokenWindow> ws = TokenWindows.of(docs, session::encode, window)) {
      Iterator<TokenWindow> it = ws.iterator();
      while (have < tokens && it.hasNext()) {
        int[] t = it.next().tokens();
        if (have + t.length > tokens) {
          t = java.util.Arrays.copyOf(t, (int) (tokens - have));
        }
        out.add(t);
        have += t.length;
      }
    }
    if (have == 0) {
      throw new IllegalArgumentException("corpus " + corpus + " holds no text");
    }
    return out;
  }
}
