package dev.loupe.sdk.activation;

import dev.loupe.sdk.io.NpyFile;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import dev.loupe.sdk.io.TensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Ready-made {@link ActivationSource}s and wrappers: read-ahead on a background thread, a
 * shuffling buffer, in-memory lists, safetensors / .npy files, concatenation and row limits.
 *
 * <p>Like every source, the ones made here are read by one thread at a time; {@code close()} may be
 * called from any thread, and closing a wrapper closes the source it wraps. Batches are numbered
 * 0, 1, 2 ... by each wrapper in the order it delivers them.
 */
public final class ActivationSources {
  /** Metadata tensors {@link #fromFile} picks up from a safetensors file when present. */
  public static final List<String> COMPANION_TENSORS = List.of("token_ids", "doc_ids", "positions", "labels");

  private ActivationSources() {
  }

  /**
   * Reads ahead of the consumer: a daemon thread pulls up to {@code batches} batches from {@code src}
   * into a bounded queue while the consumer works on earlier ones. A failure of {@code src} is
   * delivered to the consumer, in order, as an {@link ActivationSourceException} whose cause is the
   * original, and again on every later call. Closing stops the thread and closes {@code src}.
   *
   * @param batches how many batches may wait in the queue (&gt;= 1)
   * @throws IllegalArgumentException when batches &lt; 1
   */
  public static ActivationSource prefetching(ActivationSource src, int batches) {
    Objects.requireNonNull(src, "src");
    if (batches < 1) {
      throw new IllegalArgumentException("batches must be >= 1, got " + batches);
    }
    return new Prefetching(src, batches);
  }

  /**
   * Mixes rows across batches, like SAELens's activation buffer: keeps a buffer of up to
   * {@code bufferRows} rows filled from {@code src}; each output batch takes {@code outputRows} rows
   * drawn uniformly at random from the buffer, which is refilled to full whenever it falls to half.
   * At the end the remaining rows are drained. Every input row is delivered exactly once, with its
   * metadata; for a given seed and input the output is deterministic.
   *
   * @param bufferRows rows held in memory (the mixing window), &gt;= 2
   * @param outputRows rows per output batch, between 1 and bufferRows / 2 (the last batch may be smaller)
   * @throws IllegalArgumentException naming the argument when out of range
   */
  public static ActivationSource shuffled(ActivationSource src, int bufferRows, long seed, int outputRows) {
    Objects.requireNonNull(src, "src");
    if (bufferRows < 2) {
      throw new IllegalArgumentException("bufferRows must be >= 2, got " + bufferRows);
    }
    if (outputRows < 1 || outputRows > bufferRows / 2) {
      throw new IllegalArgumentException("outputRows must be in [1, bufferRows/2 = " + bufferRows / 2 + "], got " + outputRows);
    }
    if ((long) bufferRows * src.width() > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("bufferRows * width = " + bufferRows + " * " + src.width()
          + " exceeds the largest Java array; use a smaller buffer");
    }
    return new Shuffled(src, bufferRows, seed, outputRows);
  }

  /**
   * The given batches, in order, renumbered 0.. (the list is not copied).
   *
   * @throws IllegalArgumentException when the list is empty (no width/hook to report) or the
   *     batches disagree on hook or width
   */
  public static ActivationSource fromBatches(List<ActivationBatch> batches) {
    if (batches.isEmpty()) {
      throw new IllegalArgumentException("batches is empty; use fromBatches(hookName, width, batches)");
    }
    return fromBatches(batches.get(0).hookName(), batches.get(0).width(), batches);
  }

  /** Like {@link #fromBatches(List)}, allowing an empty list. */
  public static ActivationSource fromBatches(String hookName, int width, List<ActivationBatch> batches) {
    Objects.requireNonNull(hookName, "hookName");
    long total = 0;
    for (int i = 0; i < batches.size(); i++) {
      ActivationBatch b = batches.get(i);
      if (b.width() != width || !b.hookName().equals(hookName)) {
        throw new IllegalArgumentException("batches[" + i + "] is " + b.hookName() + " width " + b.width()
            + ", expected " + hookName + " width " + width);
      }
      total += b.rows();
    }
    List<ActivationBatch> list = List.copyOf(batches);
    long rows = total;
    return new SimpleSource(hookName, width, rows) {
      private int next;

      @Override
      ActivationBatch produce() {
        return next < list.size() ? list.get(next++) : null;
      }
    };
  }

  /**
   * Reads a 2-D float tensor {@code [rows, width]} lazily from a file in batches of
   * {@code rowsPerBatch} rows; only the rows of the current batch are paged in.
   *
   * <ul>
   *   <li>{@code .safetensors}: the tensor {@code tensorName} (F32, F16, BF16 or F64). Companion
   *       1-D integer tensors {@code token_ids, doc_ids, positions, labels} with one entry per row
   *       are used when present. The hook name is {@code __metadata__["hook_name"]} if present, else
   *       {@code tensorName}; the model id is {@code __metadata__["model_id"]} if present.
   *   <li>{@code .npy}: the array itself (2-D); {@code tensorName} is used as the hook name.
   * </ul>
   * Missing metadata is filled in: token and doc ids 0, positions = row index in the file.
   *
   * @throws IOException when the file cannot be read or is malformed (the message names it)
   * @throws IllegalArgumentException naming the file and tensor when the tensor is absent, not 2-D,
   *     not float, or a companion tensor has the wrong length
   */
  public static ActivationSource fromFile(Path file, String tensorName, int rowsPerBatch) throws IOException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(tensorName, "tensorName");
    if (rowsPerBatch < 1) {
      throw new IllegalArgumentException("rowsPerBatch must be >= 1, got " + rowsPerBatch);
    }
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (name.endsWith(".npy")) {
      NpyFile npy = NpyFile.open(file);
      try {
        return new NpySource(npy, tensorName, rowsPerBatch);
      } catch (RuntimeException e) {
        npy.close();
        throw e;
      }
    }
    if (name.endsWith(".safetensors")) {
      SafetensorsFile st = Safetensors.open(file);
      try {
        return new SafetensorsSource(st, tensorName, rowsPerBatch);
      } catch (RuntimeException e) {
        st.close();
        throw e;
      }
    }
    throw new IllegalArgumentException(file + ": unknown activation file type, expected .safetensors or .npy");
  }

  /**
   * The sources one after another, renumbered; each is closed when exhausted, all on close.
   *
   * @throws IllegalArgumentException when none is given or they disagree on width or hook name
   */
  public static ActivationSource concat(ActivationSource... sources) {
    if (sources.length == 0) {
      throw new IllegalArgumentException("concat needs at least one source");
    }
    long total = 0;
    for (int i = 0; i < sources.length; i++) {
      Objects.requireNonNull(sources[i], "sources[" + i + "]");
      if (sources[i].width() != sources[0].width() || !sources[i].hookName().equals(sources[0].hookName())) {
        throw new IllegalArgumentException("sources[" + i + "] is " + sources[i].hookName() + " width "
            + sources[i].width() + ", expected " + sources[0].hookName() + " width " + sources[0].width());
      }
      long t = sources[i].totalRows();
      total = total < 0 || t < 0 ? -1 : total + t;
    }
    List<ActivationSource> list = List.of(sources);
    return new SimpleSource(sources[0].hookName(), sources[0].width(), total) {
      private int current;

      @Override
      ActivationBatch produce() throws InterruptedException {
        while (current < list.size()) {
          ActivationBatch b = list.get(current).next();
          if (b != null) {
            return b;
          }
          list.get(current++).close();
        }
        return null;
      }

      @Override
      void release() {
        list.forEach(ActivationSource::close);
      }
    };
  }

  /**
   * At most {@code maxRows} rows of {@code src} (the last batch is cut short); {@code src} is closed
   * when the limit is reached and on close.
   */
  public static ActivationSource limit(ActivationSource src, long maxRows) {
    Objects.requireNonNull(src, "src");
    if (maxRows < 0) {
      throw new IllegalArgumentException("maxRows must be >= 0, got " + maxRows);
    }
    long t = src.totalRows();
    return new SimpleSource(src.hookName(), src.width(), t < 0 ? -1 : Math.min(t, maxRows)) {
      private long delivered;

      @Override
      ActivationBatch produce() throws InterruptedException {
        if (delivered >= maxRows) {
          src.close();
          return null;
        }
        ActivationBatch b = src.next();
        if (b == null) {
          return null;
        }
        if (delivered + b.rows() > maxRows) {
          b = b.slice(0, (int) (maxRows - delivered));
        }
        delivered += b.rows();
        return b;
      }

      @Override
      void release() {
        src.close();
      }
    };
  }

  /**
   * Several sources read in lockstep, row by row, as one source whose rows are the sources' rows
   * side by side ({@code width} = the sum of their widths; values of source 0 first). This is how
   * a crosscoder reads two models at one hook (or one model at several layers) and a transcoder
   * reads an MLP's input and output: the rows must be the same tokens. Every row's document and
   * position (and token id, unless the sources come from models with different tokenizers: pass
   * {@code sameTokens} false) must agree across sources, else reading fails naming the source,
   * the row and both values; sources may deliver their rows in batches of different sizes. The
   * batch metadata is source 0's; the hook name joins the sources' with {@code " + "}. All sources
   * are closed when the first is exhausted, on a failure and on close.
   *
   * @throws IllegalArgumentException when fewer than two sources are given, or two of them say
   *     up front that they will deliver different numbers of rows
   */
  public static ActivationSource aligned(boolean sameTokens, ActivationSource... sources) {
    if (sources.length < 2) {
      throw new IllegalArgumentException("aligned needs at least two sources, got " + sources.length);
    }
    for (int i = 1; i < sources.length; i++) {
      long a = sources[0].totalRows();
      long b = sources[i].totalRows();
      if (a >= 0 && b >= 0 && a != b) {
        throw new IllegalArgumentException("aligned sources must be the same tokens, but " + sources[0].hookName()
            + " (source 0) has " + a + " rows and " + sources[i].hookName() + " (source " + i + ") " + b
            + "; read them with the same corpus, token count and context length");
      }
    }
    int width = 0;
    long total = Long.MAX_VALUE;
    StringBuilder name = new StringBuilder();
    for (int i = 0; i < sources.length; i++) {
      Objects.requireNonNull(sources[i], "sources[" + i + "]");
      width = Math.addExact(width, sources[i].width());
      long t = sources[i].totalRows();
      total = t < 0 ? -1 : total < 0 ? -1 : Math.min(total, t);
      name.append(i == 0 ? "" : " + ").append(sources[i].hookName());
    }
    return new Aligned(name.toString(), width, total, sameTokens, List.of(sources));
  }

  private static final class Aligned extends SimpleSource {
    private final List<ActivationSource> sources;
    private final boolean sameTokens;
    private final ActivationBatch[] current;
    private final int[] offset;
    private final long[] delivered;
    private long row;

    Aligned(String hookName, int width, long totalRows, boolean sameTokens, List<ActivationSource> sources) {
      super(hookName, width, totalRows);
      this.sources = sources;
      this.sameTokens = sameTokens;
      this.current = new ActivationBatch[sources.size()];
      this.offset = new int[sources.size()];
      this.delivered = new long[sources.size()];
    }

    /** The batch of source i with rows left, or null when it is exhausted. */
    private ActivationBatch refill(int i) throws InterruptedException {
      while (current[i] == null || offset[i] >= current[i].rows()) {
        current[i] = sources.get(i).next();
        offset[i] = 0;
        if (current[i] == null) {
          return null;
        }
      }
      return current[i];
    }

    @Override
    ActivationBatch produce() throws InterruptedException {
      int n = sources.size();
      int rows = Integer.MAX_VALUE;
      for (int i = 0; i < n; i++) {
        ActivationBatch b = refill(i);
        if (b == null) {
          for (int j = 0; j < n; j++) {
            if (j != i && refill(j) != null) {
              throw new ActivationSourceException("aligned sources differ in length: " + sources.get(i).hookName()
                  + " (source " + i + ") ended after " + delivered[i] + " rows while " + sources.get(j).hookName()
                  + " (source " + j + ") has more");
            }
          }
          return null;
        }
        rows = Math.min(rows, b.rows() - offset[i]);
      }
      ActivationBatch first = current[0];
      int f0 = offset[0];
      float[] values = new float[Math.multiplyExact(rows, width())];
      int col = 0;
      for (int i = 0; i < n; i++) {
        ActivationBatch b = current[i];
        int w = b.width();
        for (int r = 0; r < rows; r++) {
          int src = offset[i] + r;
          if (i > 0) {
            check(i, b, src, first, f0 + r, row + r);
          }
          System.arraycopy(b.values(), src * w, values, r * width() + col, w);
        }
        col += w;
      }
      int[] tokens = java.util.Arrays.copyOfRange(first.tokenIds(), f0, f0 + rows);
      int[] docs = java.util.Arrays.copyOfRange(first.docIds(), f0, f0 + rows);
      int[] positions = java.util.Arrays.copyOfRange(first.positions(), f0, f0 + rows);
      int[] labels = first.labels() == null ? null : java.util.Arrays.copyOfRange(first.labels(), f0, f0 + rows);
      for (int i = 0; i < n; i++) {
        offset[i] += rows;
        delivered[i] += rows;
      }
      row += rows;
      return new ActivationBatch(first.modelId(), hookName(), 0, rows, width(), values, tokens, docs, positions, labels);
    }

    private void check(int i, ActivationBatch b, int r, ActivationBatch first, int r0, long row) {
      String what = null;
      long got = 0;
      long want = 0;
      if (b.docIds()[r] != first.docIds()[r0]) {
        what = "document";
        got = b.docIds()[r];
        want = first.docIds()[r0];
      } else if (b.positions()[r] != first.positions()[r0]) {
        what = "position";
        got = b.positions()[r];
        want = first.positions()[r0];
      } else if (sameTokens && b.tokenIds()[r] != first.tokenIds()[r0]) {
        what = "token id";
        got = b.tokenIds()[r];
        want = first.tokenIds()[r0];
      }
      if (what != null) {
        throw new ActivationSourceException("aligned sources disagree at row " + row + ": " + sources.get(i).hookName()
            + " (source " + i + ", model " + b.modelId() + ") has " + what + " " + got + " where "
            + sources.get(0).hookName() + " (source 0, model " + first.modelId() + ") has " + want
            + "; read both from the same corpus, token count and context length");
      }
    }

    @Override
    void release() {
      sources.forEach(ActivationSource::close);
    }
  }

  /** Common plumbing: numbering, closed state and width checks; subclasses only produce batches. */
  private abstract static class SimpleSource implements ActivationSource {
    private final String hookName;
    private final int width;
    private final long totalRows;
    private long sequence;
    private volatile boolean closed;

    SimpleSource(String hookName, int width, long totalRows) {
      this.hookName = hookName;
      this.width = width;
      this.totalRows = totalRows;
    }

    abstract ActivationBatch produce() throws InterruptedException;

    void release() {
    }

    @Override
    public final ActivationBatch next() throws InterruptedException {
      if (closed) {
        return null;
      }
      ActivationBatch b = produce();
      if (b == null || closed) {
        return null;
      }
      if (b.width() != width) {
        throw new ActivationSourceException(this + " got a batch of width " + b.width() + ", expected " + width);
      }
      return b.withSequence(sequence++);
    }

    @Override
    public String hookName() {
      return hookName;
    }

    @Override
    public int width() {
      return width;
    }

    @Override
    public long totalRows() {
      return totalRows;
    }

    @Override
    public final void close() {
      if (!closed) {
        closed = true;
        release();
      }
    }
  }

  private static final class Prefetching implements ActivationSource {
    private static final Object END = new Object();
    private final ActivationSource src;
    private final BlockingQueue<Object> queue;
    private final Thread thread;
    private volatile boolean closed;
    private boolean ended;
    private Throwable failure;

    Prefetching(ActivationSource src, int batches) {
      this.src = src;
      this.queue = new ArrayBlockingQueue<>(batches);
      this.thread = new Thread(this::run, "loupe-prefetch-" + src.hookName());
      thread.setDaemon(true);
      thread.start();
    }

    private void run() {
      try {
        while (!closed) {
          ActivationBatch b = src.next();
          if (!offer(b == null ? END : b) || b == null) {
            return;
          }
        }
      } catch (InterruptedException e) {
        // Closed while waiting: the consumer no longer wants anything.
      } catch (Throwable t) {
        try {
          offer(t);
        } catch (InterruptedException ignored) {
          // Closed: nobody to tell.
        }
      }
    }

    /** Puts an item unless closed; false when closed first. */
    private boolean offer(Object item) throws InterruptedException {
      while (!closed) {
        if (queue.offer(item, 50, TimeUnit.MILLISECONDS)) {
          return true;
        }
      }
      return false;
    }

    @Override
    public ActivationBatch next() throws InterruptedException {
      if (closed || ended) {
        return null;
      }
      if (failure == null) {
        Object item = queue.take();
        if (closed || item == END) {
          ended = true;
          return null;
        }
        if (!(item instanceof Throwable t)) {
          return (ActivationBatch) item;
        }
        failure = t;
      }
      // A failure is final: every later call reports it again rather than looking like the end.
      if (failure instanceof ActivationSourceException e) {
        throw new ActivationSourceException(e.getMessage(), e);
      }
      throw new ActivationSourceException("prefetching " + src.hookName() + " failed: " + failure, failure);
    }

    @Override
    public String hookName() {
      return src.hookName();
    }

    @Override
    public int width() {
      return src.width();
    }

    @Override
    public long totalRows() {
      return src.totalRows();
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      thread.interrupt();
      queue.clear();
      // Wakes a consumer blocked in take(); if the producer refilled the queue meanwhile, the
      // consumer takes that item instead and sees the closed flag.
      queue.offer(END);
      src.close();
    }
  }

  private static final class Shuffled extends SimpleSource {
    private final ActivationSource src;
    private final int capacity;
    private final int outputRows;
    private final int width;
    private final SplittableRandom random;
    private final float[] values;
    private final int[] tokenIds;
    private final int[] docIds;
    private final int[] positions;
    private int[] labels;
    private Boolean labelled;
    private String modelId;
    private int count;
    private boolean srcDone;
    private ActivationBatch pending;
    private int pendingOffset;

    Shuffled(ActivationSource src, int capacity, long seed, int outputRows) {
      super(src.hookName(), src.width(), src.totalRows());
      this.src = src;
      this.capacity = capacity;
      this.outputRows = outputRows;
      this.width = src.width();
      this.random = new SplittableRandom(seed);
      this.values = new float[capacity * width];
      this.tokenIds = new int[capacity];
      this.docIds = new int[capacity];
      this.positions = new int[capacity];
    }

    @Override
    ActivationBatch produce() throws InterruptedException {
      if (!srcDone && count <= capacity / 2) {
        fill();
      }
      if (count == 0) {
        return null;
      }
      int n = Math.min(outputRows, count);
      float[] v = new float[n * width];
      int[] tok = new int[n];
      int[] doc = new int[n];
      int[] pos = new int[n];
      int[] lab = labels == null ? null : new int[n];
      for (int i = 0; i < n; i++) {
        // Take a uniformly random buffered row, then plug its slot with the last buffered row.
        int j = random.nextInt(count);
        int last = count - 1;
        System.arraycopy(values, j * width, v, i * width, width);
        tok[i] = tokenIds[j];
        doc[i] = docIds[j];
        pos[i] = positions[j];
        if (lab != null) {
          lab[i] = labels[j];
        }
        if (j != last) {
          System.arraycopy(values, last * width, values, j * width, width);
          tokenIds[j] = tokenIds[last];
          docIds[j] = docIds[last];
          positions[j] = positions[last];
          if (labels != null) {
            labels[j] = labels[last];
          }
        }
        count--;
      }
      return new ActivationBatch(modelId, hookName(), 0, n, width, v, tok, doc, pos, lab);
    }

    private void fill() throws InterruptedException {
      while (count < capacity) {
        if (pending == null) {
          ActivationBatch b = src.next();
          if (b == null) {
            srcDone = true;
            return;
          }
          if (b.width() != width) {
            throw new ActivationSourceException("shuffled " + hookName() + ": input batch " + b.sequence()
                + " has width " + b.width() + ", expected " + width);
          }
          if (labelled == null) {
            labelled = b.hasLabels();
            modelId = b.modelId();
            if (labelled) {
              labels = new int[capacity];
            }
          } else if (labelled != b.hasLabels()) {
            throw new ActivationSourceException("shuffled " + hookName() + ": input batch " + b.sequence()
                + (b.hasLabels() ? " has labels but earlier batches had none" : " has no labels but earlier batches had"));
          }
          pending = b;
          pendingOffset = 0;
        }
        int n = Math.min(capacity - count, pending.rows() - pendingOffset);
        System.arraycopy(pending.values(), pendingOffset * width, values, count * width, n * width);
        System.arraycopy(pending.tokenIds(), pendingOffset, tokenIds, count, n);
        System.arraycopy(pending.docIds(), pendingOffset, docIds, count, n);
        System.arraycopy(pending.positions(), pendingOffset, positions, count, n);
        if (labels != null) {
          System.arraycopy(pending.labels(), pendingOffset, labels, count, n);
        }
        count += n;
        pendingOffset += n;
        if (pendingOffset == pending.rows()) {
          pending = null;
        }
      }
    }

    @Override
    void release() {
      src.close();
    }
  }

  /** Rows [from, to) of a 2-D tensor, with metadata, read lazily from a mapped file. */
  private abstract static class RowFileSource extends SimpleSource {
    final Path file;
    final String modelId;
    final int rowsPerBatch;
    final long rows;
    long nextRow;

    RowFileSource(Path file, String modelId, String hookName, long rows, int width, int rowsPerBatch) {
      super(hookName, width, rows);
      this.file = file;
      this.modelId = modelId;
      this.rows = rows;
      this.rowsPerBatch = rowsPerBatch;
    }

    abstract float[] readValues(long firstRow, int n);

    int[] companion(String name, long firstRow, int n) {
      return null;
    }

    @Override
    ActivationBatch produce() {
      if (nextRow >= rows) {
        return null;
      }
      int n = (int) Math.min(rowsPerBatch, rows - nextRow);
      long first = nextRow;
      try {
        float[] v = readValues(first, n);
        int[] tok = companion("token_ids", first, n);
        int[] doc = companion("doc_ids", first, n);
        int[] pos = companion("positions", first, n);
        int[] lab = companion("labels", first, n);
        if (pos == null) {
          pos = new int[n];
          for (int i = 0; i < n; i++) {
            pos[i] = (int) Math.min(Integer.MAX_VALUE, first + i);
          }
        }
        nextRow += n;
        return new ActivationBatch(modelId, hookName(), 0, n, width(), v,
            tok == null ? new int[n] : tok, doc == null ? new int[n] : doc, pos, lab);
      } catch (RuntimeException e) {
        throw new ActivationSourceException(file + ": reading rows [" + first + ", " + (first + n) + ") failed: "
            + e.getMessage(), e);
      }
    }

    static long[] matrixShape(Path file, String what, long[] shape) {
      if (shape.length != 2 || shape[1] < 1 || shape[1] > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(file + ": " + what + " has shape " + Arrays.toString(shape)
            + ", expected 2-D [rows, width] with width >= 1");
      }
      return shape;
    }
  }

  private static final class SafetensorsSource extends RowFileSource {
    private final SafetensorsFile st;
    private final String tensor;
    private final List<String> companions;

    private SafetensorsSource(SafetensorsFile st, String tensor, long[] shape, int rowsPerBatch) {
      super(st.path(), st.metadata().getOrDefault("model_id", "file:" + st.path().getFileName()),
          st.metadata().getOrDefault("hook_name", tensor), shape[0], (int) shape[1], rowsPerBatch);
      this.st = st;
      this.tensor = tensor;
      List<String> present = new ArrayList<>();
      for (String c : COMPANION_TENSORS) {
        if (st.contains(c) && !c.equals(tensor)) {
          TensorInfo t = st.info(c);
          if (t.rank() != 1 || t.dim(0) != shape[0] || !t.dtype().isInteger()) {
            throw new IllegalArgumentException(st.path() + ": companion tensor \"" + c + "\" is " + t.dtype()
                + Arrays.toString(t.shape()) + ", expected a 1-D integer tensor of " + shape[0] + " rows");
          }
          present.add(c);
        }
      }
      this.companions = present;
    }

    SafetensorsSource(SafetensorsFile st, String tensor, int rowsPerBatch) {
      this(st, tensor, checkTensor(st, tensor), rowsPerBatch);
    }

    private static long[] checkTensor(SafetensorsFile st, String tensor) {
      TensorInfo t = st.info(tensor);
      if (!t.dtype().isFloat()) {
        throw new IllegalArgumentException(st.path() + ": tensor \"" + tensor + "\" has dtype " + t.dtype()
            + ", expected F32, F16, BF16 or F64");
      }
      return matrixShape(st.path(), "tensor \"" + tensor + "\"", t.shape());
    }

    @Override
    float[] readValues(long firstRow, int n) {
      return st.readFloats(tensor, firstRow * width(), Math.multiplyExact(n, width()));
    }

    @Override
    int[] companion(String name, long firstRow, int n) {
      return companions.contains(name) ? st.readInts(name, firstRow, n) : null;
    }

    @Override
    void release() {
      st.close();
    }
  }

  private static final class NpySource extends RowFileSource {
    private final NpyFile npy;

    private NpySource(NpyFile npy, String hookName, long[] shape, int rowsPerBatch) {
      super(npy.path(), "file:" + npy.path().getFileName(), hookName, shape[0], (int) shape[1], rowsPerBatch);
      this.npy = npy;
    }

    NpySource(NpyFile npy, String hookName, int rowsPerBatch) {
      this(npy, hookName, matrixShape(npy.path(), "array", npy.shape()), rowsPerBatch);
    }

    @Override
    float[] readValues(long firstRow, int n) {
      return npy.readFloats(firstRow * width(), Math.multiplyExact(n, width()));
    }

    @Override
    void release() {
      npy.close();
    }
  }
}
