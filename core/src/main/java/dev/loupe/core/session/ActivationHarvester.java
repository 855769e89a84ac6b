package dev.loupe.core.session;

import ai.djl.ndarray.NDArray;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import ai.djl.ndarray.types.Shape;
import dev.loupe.core.corpus.TokenWindow;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSink;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a model over token windows and feeds the activations at chosen hooks into sinks, as
 * fixed-size {@link ActivationBatch}es of one row per real (non-padding) token, with token,
 * document and position of every row. A sink that blocks in {@code accept} slows the harvest
 * down to its pace. One harvester runs one harvest at a time; it does not close the sinks.
 */
public final class ActivationHarvester {
  /** Told after every forward pass. */
  @FunctionalInterface
  public interface Progress {
    void update(long tokensDone, long tokensTotal);
  }

  /** What a harvest did. */
  public record Summary(long tokens, long forwardPasses, Map<String, Long> batchesPerHook) {
  }

  private final ModelSession session;
  private final int sequencesPerPass;
  private final int rowsPerBatch;

  /**
   * @param sequencesPerPass how many windows go through the model together
   * @param rowsPerBatch rows of every emitted batch (the last one of a harvest may hold fewer)
   * @throws IllegalArgumentException naming the argument that is not positive
   */
  public ActivationHarvester(ModelSession session, int sequencesPerPass, int rowsPerBatch) {
    this.session = Objects.requireNonNull(session, "session");
    if (sequencesPerPass <= 0) {
      throw new IllegalArgumentException("sequencesPerPass must be > 0, got " + sequencesPerPass);
    }
    if (rowsPerBatch <= 0) {
      throw new IllegalArgumentException("rowsPerBatch must be > 0, got " + rowsPerBatch);
    }
    this.sequencesPerPass = sequencesPerPass;
    this.rowsPerBatch = rowsPerBatch;
  }

  /**
   * Harvests until the windows run out or {@code tokenLimit} tokens are done (the last window
   * is cut to fit), then flushes what is buffered.
   *
   * @param sinks one sink per hook; each hook must have a {@code [batch, pos, ...]} activation
   *     (every hook except {@code attn.hook_attn_scores} and {@code attn.hook_pattern}); trailing
   *     axes are flattened into the row
   * @param tokenLimit the most tokens to process ({@code Long.MAX_VALUE} for all)
   * @param progress told (tokens done, tokenLimit) after each pass; may be null
   * @throws IllegalArgumentException naming a hook that the model lacks or that is not per position
   * @throws InterruptedException when the thread is interrupted (checked between passes and while
   *     a sink waits); buffered rows are dropped
   */
  public Summary harvest(Iterator<TokenWindow> windows, Map<String, ActivationSink> sinks, long tokenLimit,
      Progress progress) throws InterruptedException {
    Objects.requireNonNull(windows, "windows");
    if (sinks == null || sinks.isEmpty()) {
      throw new IllegalArgumentException("no hooks to harvest: give at least one hook with its sink");
    }
    if (tokenLimit <= 0) {
      throw new IllegalArgumentException("tokenLimit must be > 0, got " + tokenLimit);
    }
    String modelId = session.info().id();
    Map<String, RowBuffer> buffers = new LinkedHashMap<>();
    for (Map.Entry<String, ActivationSink> e : sinks.entrySet()) {
      String hook = e.getKey();
      session.info().hookWidth(hook);
      String site = HookPoint.parse(hook).site();
      if (site.equals("attn.hook_attn_scores") || site.equals("attn.hook_pattern")) {
        throw new IllegalArgumentException("hook '" + hook + "' is [batch, head, query, key], not one row per token;"
            + " harvest hook_z, hook_q/k/v or a residual hook instead");
      }
      buffers.put(hook, new RowBuffer(modelId, hook, Objects.requireNonNull(e.getValue(), "sink for " + hook)));
    }
    long done = 0;
    long passes = 0;
    List<TokenWindow> pass = new ArrayList<>(sequencesPerPass);
    while (done < tokenLimit && windows.hasNext()) {
      pass.clear();
      long planned = done;
      while (pass.size() < sequencesPerPass && planned < tokenLimit && windows.hasNext()) {
        TokenWindow w = windows.next();
        if (planned + w.length() > tokenLimit) {
          w = w.truncate((int) (tokenLimit - planned));
        }
        pass.add(w);
        planned += w.length();
      }
      if (Thread.interrupted()) {
        throw new InterruptedException("activation harvest interrupted after " + done + " tokens");
      }
      int[][] tokens = new int[pass.size()][];
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = pass.get(i).tokens();
      }
      try (RunResult r = session.run(tokens, buffers.keySet())) {
        for (RowBuffer b : buffers.values()) {
          b.add(r.activation(b.hook), pass);
        }
      }
      done = planned;
      passes++;
      if (progress != null) {
        progress.update(done, tokenLimit);
      }
    }
    Map<String, Long> counts = new LinkedHashMap<>();
    for (RowBuffer b : buffers.values()) {
      b.flush();
      counts.put(b.hook, b.sequence);
    }
    return new Summary(done, passes, counts);
  }

  /** Collects rows of one hook and emits them in batches of rowsPerBatch. */
  private final class RowBuffer {
    final String modelId;
    final String hook;
    final ActivationSink sink;
    int width = -1;
    float[] values;
    int[] tokenIds = new int[rowsPerBatch];
    int[] docIds = new int[rowsPerBatch];
    int[] positions = new int[rowsPerBatch];
    int rows;
    long sequence;

    RowBuffer(String modelId, String hook, ActivationSink sink) {
      this.modelId = modelId;
      this.hook = hook;
      this.sink = sink;
    }

    void add(NDArray activation, List<TokenWindow> pass) throws InterruptedException {
      Shape s = activation.getShape();
      int seq = (int) s.get(1);
      int w = (int) (s.size() / (s.get(0) * s.get(1)));
      if (width < 0) {
        width = w;
        values = new float[rowsPerBatch * width];
      }
      // A view of the tensor's own memory: each row is copied once, straight into the batch's array
      // (toFloatArray would copy the whole tensor twice first, padding included).
      FloatBuffer all = activation.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      for (int b = 0; b < pass.size(); b++) {
        TokenWindow win = pass.get(b);
        for (int i = 0; i < win.length(); i++) {
          all.get((b * seq + i) * width, values, rows * width, width);
          tokenIds[rows] = win.tokens()[i];
          docIds[rows] = win.docId();
          positions[rows] = win.start() + i;
          if (++rows == rowsPerBatch) {
            emit();
          }
        }
      }
    }

    void flush() throws InterruptedException {
      if (rows > 0) {
        emit();
      }
    }

    private void emit() throws InterruptedException {
      // The batch takes the arrays by reference, so the buffer starts fresh ones.
      ActivationBatch batch = rows == rowsPerBatch
          ? new ActivationBatch(modelId, hook, sequence, rows, width, values, tokenIds, docIds, positions, null)
          : new ActivationBatch(modelId, hook, sequence, rows, width, java.util.Arrays.copyOf(values, rows * width),
              java.util.Arrays.copyOf(tokenIds, rows), java.util.Arrays.copyOf(docIds, rows),
              java.util.Arrays.copyOf(positions, rows), null);
      sequence++;
      rows = 0;
      values = new float[rowsPerBatch * width];
      tokenIds = new int[rowsPerBatch];
      docIds = new int[rowsPerBatch];
      positions = new int[rowsPerBatch];
      sink.accept(batch);
    }
  }
}
