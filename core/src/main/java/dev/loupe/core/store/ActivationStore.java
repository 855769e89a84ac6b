package dev.loupe.core.store;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSourceException;
import dev.loupe.sdk.io.DType;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import dev.loupe.sdk.io.TensorInfo;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * An on-disk activation store: a directory with {@code manifest.json} and shards
 * {@code shard-000000.safetensors, ...}, each holding {@code values [rows, width]} (F32, F16 or
 * BF16) and I32 {@code token_ids, doc_ids, positions} (+ {@code labels} in labelled stores).
 * Written once by a {@link StoreWriter}, then read for any number of epochs, in order or shuffled.
 *
 * <p>Every shard's size and CRC32C are checked against the manifest before its data is used, so
 * a truncated or corrupted shard fails with its name rather than yielding wrong numbers. Files the
 * manifest does not list are ignored. Instances are immutable snapshots of the manifest and
 * thread-safe; each reader is for one thread.
 */
public final class ActivationStore {
  private final Path dir;
  private final StoreManifest manifest;
  private final long[] firstRows;
  private final Set<String> verified = ConcurrentHashMap.newKeySet();

  private ActivationStore(Path dir, StoreManifest manifest) {
    this.dir = dir;
    this.manifest = manifest;
    List<StoreManifest.Shard> shards = manifest.shards();
    this.firstRows = new long[shards.size() + 1];
    for (int i = 0; i < shards.size(); i++) {
      firstRows[i + 1] = firstRows[i] + shards.get(i).rows();
    }
  }

  /**
   * Starts writing a store in {@code dir} (created if needed). With {@code opts.append(true)} and an
   * existing store there, adds shards to it after checking that model, hook, width and dtype match.
   * An empty store's manifest is written at once, so the directory is a valid store from the start.
   *
   * @throws IOException when the directory holds a store and append is off, the existing store does
   *     not match, or the manifest cannot be written
   * @throws IllegalArgumentException when a shard would not fit a 2 GB buffer or an argument is invalid
   */
  public static StoreWriter create(Path dir, String modelId, String hook, int width, StoreOptions opts) throws IOException {
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(opts, "opts");
    if (modelId == null || modelId.isEmpty()) {
      throw new IllegalArgumentException("modelId must be a non-empty string");
    }
    if (hook == null || hook.isEmpty()) {
      throw new IllegalArgumentException("hook must be a non-empty string");
    }
    if (width < 1) {
      throw new IllegalArgumentException("width must be >= 1, got " + width);
    }
    if ((long) opts.shardRows() * width * opts.dtype().size() > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("shardRows " + opts.shardRows() + " * width " + width + " * "
          + opts.dtype().size() + " bytes exceeds 2 GB per shard; lower shardRows");
    }
    Files.createDirectories(dir);
    if (Files.exists(dir.resolve(StoreManifest.FILE_NAME))) {
      if (!opts.append()) {
        throw new IOException("an activation store already exists in " + dir
            + "; use StoreOptions.append(true) to add to it, or another directory");
      }
      StoreManifest m = StoreManifest.read(dir);
      check(dir, "model_id", m.modelId(), modelId);
      check(dir, "hook_name", m.hookName(), hook);
      check(dir, "width", m.width(), width);
      check(dir, "dtype", m.dtype(), opts.dtype());
      // Keep the nominal shard size the store was made with when appending with different options.
      return new StoreWriter(dir, new StoreManifest(m.formatVersion(), m.modelId(), m.hookName(), m.width(),
          m.dtype(), m.labelled(), opts.shardRows(), m.shards()));
    }
    StoreManifest m = new StoreManifest(StoreManifest.FORMAT_VERSION, modelId, hook, width, opts.dtype(), null,
        opts.shardRows(), List.of());
    m.write(dir);
    return new StoreWriter(dir, m);
  }

  private static void check(Path dir, String field, Object have, Object want) throws IOException {
    if (!have.equals(want)) {
      throw new IOException("cannot append to the store in " + dir + ": its " + field + " is " + have + ", not " + want);
    }
  }

  /**
   * Opens a store, validating its manifest (not yet the shards: see {@link #verify()}).
   *
   * @throws StoreFormatException naming the manifest and field when it is missing or invalid
   */
  public static ActivationStore open(Path dir) throws IOException {
    return new ActivationStore(dir, StoreManifest.read(dir));
  }

  public Path dir() {
    return dir;
  }

  public StoreManifest manifest() {
    return manifest;
  }

  public String modelId() {
    return manifest.modelId();
  }

  public String hookName() {
    return manifest.hookName();
  }

  public int width() {
    return manifest.width();
  }

  public DType dtype() {
    return manifest.dtype();
  }

  public long totalRows() {
    return manifest.totalRows();
  }

  public List<StoreManifest.Shard> shards() {
    return manifest.shards();
  }

  /** Reads the store's rows in shard order, in batches of {@code rowsPerBatch}. */
  public ActivationSource reader(int rowsPerBatch) {
    return reader(false, false, 0, rowsPerBatch);
  }

  /**
   * A source over all rows; with {@code shuffle} both the shard order and the rows within each shard
   * are permuted (deterministically for a seed), so each epoch with a new seed sees a new order.
   */
  public ActivationSource reader(boolean shuffle, long seed, int rowsPerBatch) {
    return reader(shuffle, shuffle, seed, rowsPerBatch);
  }

  /**
   * A source over all rows with independent control of shard-order and in-shard row shuffling.
   * Sequential reads page in only the rows of each batch; in-shard shuffling holds one shard's
   * values on the heap. Each shard is verified (size, CRC32C, layout) when the reader reaches it.
   *
   * @throws IllegalArgumentException when rowsPerBatch &lt; 1
   */
  public ActivationSource reader(boolean shuffleShards, boolean shuffleRows, long seed, int rowsPerBatch) {
    if (rowsPerBatch < 1) {
      throw new IllegalArgumentException("rowsPerBatch must be >= 1, got " + rowsPerBatch);
    }
    int[] order = new int[manifest.shards().size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    SplittableRandom random = new SplittableRandom(seed);
    if (shuffleShards) {
      shuffle(order, random);
    }
    return new StoreReader(order, shuffleRows ? random.split() : null, rowsPerBatch);
  }

  private static void shuffle(int[] a, SplittableRandom random) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  /**
   * Rows [start, start+count) in store order, possibly spanning shards.
   *
   * @throws IllegalArgumentException when the range lies outside the store
   * @throws ActivationSourceException naming the shard when one it touches is missing or corrupt
   */
  public ActivationBatch readRows(long start, int count) {
    long total = totalRows();
    if (start < 0 || count < 0 || start + count > total) {
      throw new IllegalArgumentException("rows [" + start + ", " + (start + count) + ") outside store " + dir
          + " of " + total + " rows");
    }
    int w = width();
    float[] values = new float[Math.multiplyExact(count, w)];
    int[] tok = new int[count];
    int[] doc = new int[count];
    int[] pos = new int[count];
    int[] lab = Boolean.TRUE.equals(manifest.labelled()) ? new int[count] : null;
    int done = 0;
    int shard = Arrays.binarySearch(firstRows, start);
    shard = shard >= 0 ? shard : -shard - 2;
    while (done < count) {
      long inShard = start + done - firstRows[shard];
      int n = (int) Math.min(count - done, firstRows[shard + 1] - (start + done));
      try (SafetensorsFile f = openShard(shard)) {
        System.arraycopy(f.readFloats("values", inShard * w, n * w), 0, values, done * w, n * w);
        System.arraycopy(f.readInts("token_ids", inShard, n), 0, tok, done, n);
        System.arraycopy(f.readInts("doc_ids", inShard, n), 0, doc, done, n);
        System.arraycopy(f.readInts("positions", inShard, n), 0, pos, done, n);
        if (lab != null) {
          System.arraycopy(f.readInts("labels", inShard, n), 0, lab, done, n);
        }
      }
      done += n;
      shard++;
    }
    return new ActivationBatch(modelId(), hookName(), 0, count, w, values, tok, doc, pos, lab);
  }

  /** Opens shard {@code i} after verifying it (once per store instance). */
  private SafetensorsFile openShard(int i) {
    StoreManifest.Shard s = manifest.shards().get(i);
    if (!verified.contains(s.file())) {
      String problem = check(s);
      if (problem != null) {
        throw new ActivationSourceException("store " + dir + ": shard " + s.file() + " " + problem);
      }
      verified.add(s.file());
    }
    try {
      return Safetensors.open(dir.resolve(s.file()));
    } catch (IOException e) {
      throw new ActivationSourceException("store " + dir + ": shard " + s.file() + " cannot be read: " + e.getMessage(), e);
    }
  }

  /**
   * Checks every listed shard (exists, size, CRC32C, tensor layout) and lists files the manifest
   * does not know about. Never throws for bad shards: it reports them.
   */
  public StoreVerification verify() throws IOException {
    List<StoreVerification.ShardProblem> bad = new ArrayList<>();
    Set<String> listed = new HashSet<>();
    for (StoreManifest.Shard s : manifest.shards()) {
      listed.add(s.file());
      String problem = check(s);
      if (problem != null) {
        bad.add(new StoreVerification.ShardProblem(s.file(), problem));
      } else {
        verified.add(s.file());
      }
    }
    List<String> stray = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.map(p -> p.getFileName().toString())
          .filter(n -> !n.equals(StoreManifest.FILE_NAME) && !listed.contains(n))
          .sorted()
          .forEach(stray::add);
    }
    return new StoreVerification(manifest.shards().size(), bad, stray);
  }

  /** What is wrong with a shard, or null when it is intact. */
  private String check(StoreManifest.Shard s) {
    Path file = dir.resolve(s.file());
    if (!Files.isRegularFile(file)) {
      return "is missing";
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size != s.bytes()) {
        return "is " + size + " bytes but the manifest says " + s.bytes()
            + (size < s.bytes() ? " (truncated)" : " (grown)");
      }
      CRC32C crc = new CRC32C();
      long chunk = 1L << 30;
      for (long off = 0; off < size; off += chunk) {
        MappedByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, off, Math.min(chunk, size - off));
        crc.update(b);
      }
      if (crc.getValue() != s.crc32c()) {
        return "fails its checksum: CRC32C is " + Long.toHexString(crc.getValue()) + ", manifest says "
            + Long.toHexString(s.crc32c()) + " (corrupted)";
      }
    } catch (IOException e) {
      return "cannot be read: " + e.getMessage();
    }
    try (SafetensorsFile f = Safetensors.open(file)) {
      return checkLayout(f, s);
    } catch (IOException e) {
      return "is not a valid safetensors file: " + e.getMessage();
    }
  }

  private String checkLayout(SafetensorsFile f, StoreManifest.Shard s) {
    List<String> wanted = new ArrayList<>(List.of("values", "token_ids", "doc_ids", "positions"));
    if (Boolean.TRUE.equals(manifest.labelled())) {
      wanted.add("labels");
    }
    for (String name : wanted) {
      if (!f.contains(name)) {
        return "has no tensor \"" + name + "\"";
      }
      TensorInfo t = f.info(name);
      long[] shape = name.equals("values") ? new long[] {s.rows(), width()} : new long[] {s.rows()};
      DType dtype = name.equals("values") ? dtype() : DType.I32;
      if (t.dtype() != dtype || !Arrays.equals(t.shape(), shape)) {
        return "tensor \"" + name + "\" is " + t.dtype() + Arrays.toString(t.shape()) + ", expected " + dtype
            + Arrays.toString(shape);
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return "ActivationStore[" + dir + ", " + modelId() + " " + hookName() + " " + totalRows() + "x" + width() + " "
        + dtype() + ", " + manifest.shards().size() + " shards]";
  }

  private final class StoreReader implements ActivationSource {
    private final int[] order;
    private final SplittableRandom rowRandom;
    private final int rowsPerBatch;
    private final boolean labelled = Boolean.TRUE.equals(manifest.labelled());
    private int nextShard;
    private SafetensorsFile current;
    private int currentRows;
    private int[] perm;
    private float[] shardValues;
    private int[][] shardMeta;
    private int cursor;
    private long sequence;
    private ActivationSourceException failure;
    private volatile boolean closed;

    StoreReader(int[] order, SplittableRandom rowRandom, int rowsPerBatch) {
      this.order = order;
      this.rowRandom = rowRandom;
      this.rowsPerBatch = rowsPerBatch;
    }

    /** Once a shard has failed, every later call fails the same way: never skip to the next shard. */
    @Override
    public synchronized ActivationBatch next() {
      if (closed) {
        return null;
      }
      if (failure != null) {
        throw new ActivationSourceException(failure.getMessage(), failure);
      }
      try {
        return read();
      } catch (ActivationSourceException e) {
        failure = e;
        closeCurrent();
        throw e;
      }
    }

    private ActivationBatch read() {
      while (current == null || cursor >= currentRows) {
        closeCurrent();
        if (nextShard >= order.length) {
          return null;
        }
        openNext();
      }
      int n = Math.min(rowsPerBatch, currentRows - cursor);
      int w = width();
      ActivationBatch b;
      String shardName = current.path().getFileName().toString();
      try {
        if (perm == null) {
          b = new ActivationBatch(modelId(), hookName(), sequence, n, w,
              current.readFloats("values", (long) cursor * w, n * w),
              current.readInts("token_ids", cursor, n), current.readInts("doc_ids", cursor, n),
              current.readInts("positions", cursor, n), labelled ? current.readInts("labels", cursor, n) : null);
        } else {
          float[] v = new float[n * w];
          int[][] meta = new int[labelled ? 4 : 3][n];
          for (int i = 0; i < n; i++) {
            int r = perm[cursor + i];
            System.arraycopy(shardValues, r * w, v, i * w, w);
            for (int m = 0; m < meta.length; m++) {
              meta[m][i] = shardMeta[m][r];
            }
          }
          b = new ActivationBatch(modelId(), hookName(), sequence, n, w, v, meta[0], meta[1], meta[2],
              labelled ? meta[3] : null);
        }
      } catch (RuntimeException e) {
        throw new ActivationSourceException("store " + dir + ": reading shard " + shardName + " failed: " + e.getMessage(), e);
      }
      cursor += n;
      sequence++;
      return b;
    }

    private void openNext() {
      int idx = order[nextShard++];
      current = openShard(idx);
      currentRows = (int) manifest.shards().get(idx).rows();
      cursor = 0;
      if (rowRandom != null) {
        perm = new int[currentRows];
        for (int i = 0; i < currentRows; i++) {
          perm[i] = i;
        }
        shuffle(perm, rowRandom);
        shardValues = current.readFloats("values");
        List<String> names = new ArrayList<>(List.of("token_ids", "doc_ids", "positions"));
        if (labelled) {
          names.add("labels");
        }
        shardMeta = new int[names.size()][];
        for (int m = 0; m < names.size(); m++) {
          shardMeta[m] = current.readInts(names.get(m));
        }
      }
    }

    private void closeCurrent() {
      if (current != null) {
        current.close();
        current = null;
        shardValues = null;
        shardMeta = null;
        perm = null;
      }
    }

    @Override
    public String hookName() {
      return ActivationStore.this.hookName();
    }

    @Override
    public int width() {
      return ActivationStore.this.width();
    }

    @Override
    public long totalRows() {
      return ActivationStore.this.totalRows();
    }

    @Override
    public void close() {
      closed = true;
      synchronized (this) {
        closeCurrent();
      }
    }
  }
}
