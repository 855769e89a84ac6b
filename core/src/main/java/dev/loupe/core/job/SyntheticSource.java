package dev.loupe.core.job;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import dev.loupe.sdk.hook.HookPoint;
import java.util.Map;
import java.util.Random;

/**
 * Deterministic Gaussian activations: {@code rows} rows of {@code width} values, each value
 * {@code mean + std * N(0, 1)} drawn from {@code java.util.Random(seed)} row after row, so the
 * same spec gives the same numbers on every JVM. For demos and tests of methods without a model.
 * Thread-safe for close(); read by one thread.
 */
public final class SyntheticSource implements ActivationSource {
  /** The job-file key of this input kind. */
  public static final String KIND = "synthetic";

  /** The keys a {@code synthetic:} spec accepts. */
  public static final ConfigSchema SCHEMA = ConfigSchema.builder()
      .longOption("rows", null, 1L, null, "rows in all")
      .intOption("width", null, 1, 1 << 20, "values per row")
      .longOption("seed", 0L, null, null, "random seed")
      .stringOption("hook", "blocks.0.hook_resid_post", "hook name the rows are labelled with")
      .intOption("batch_rows", 256, 1, 1 << 20, "rows per batch")
      .doubleOption("mean", 0.0, null, null, "mean of every value")
      .doubleOption("std", 1.0, 0.0, null, "standard deviation of every value")
      .build();

  private final String hook;
  private final long rows;
  private final int width;
  private final int batchRows;
  private final double mean;
  private final double std;
  private final Random random;
  private long produced;
  private long sequence;
  private volatile boolean closed;

  /**
   * @throws IllegalArgumentException if rows < 1, width < 1, batchRows < 1 or std < 0
   */
  public SyntheticSource(String hook, long rows, int width, long seed, int batchRows, double mean, double std) {
    if (rows < 1 || width < 1 || batchRows < 1 || !(std >= 0)) {
      throw new IllegalArgumentException("synthetic source needs rows >= 1, width >= 1, batch_rows >= 1, std >= 0; got rows="
          + rows + " width=" + width + " batch_rows=" + batchRows + " std=" + std);
    }
    this.hook = hook;
    this.rows = rows;
    this.width = width;
    this.batchRows = batchRows;
    this.mean = mean;
    this.std = std;
    this.random = new Random(seed);
  }

  /** A source from a validated {@code synthetic:} spec. */
  public static SyntheticSource of(JobConfig c) {
    return new SyntheticSource(c.getString("hook"), c.getLong("rows"), c.getInt("width"), c.getLong("seed"),
        c.getInt("batch_rows"), c.getDouble("mean"), c.getDouble("std"));
  }

  @Override
  public ActivationBatch next() throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException("synthetic source for " + hook + " interrupted");
    }
    if (closed || produced >= rows) {
      return null;
    }
    int n = (int) Math.min(batchRows, rows - produced);
    float[] v = new float[n * width];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (mean + std * random.nextGaussian());
    }
    produced += n;
    return ActivationBatch.ofValues("synthetic", hook, sequence++, n, width, v);
  }

  @Override
  public String hookName() {
    return hook;
  }

  @Override
  public int width() {
    return width;
  }

  @Override
  public long totalRows() {
    return rows;
  }

  @Override
  public void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return "synthetic[" + rows + "x" + width + " " + hook + "]";
  }

  /** Resolves {@code NAME: {synthetic: {rows, width, seed, hook, batch_rows, mean, std}}}. */
  static final class Resolver implements InputResolver {
    @Override
    public ResolvedInput resolve(String name, Map<String, Object> spec) {
      String field = "inputs." + name + "." + KIND;
      JobConfig c = InputSpecs.validate(name, KIND, SCHEMA, spec);
      try {
        HookPoint.parse(c.getString("hook"));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(field + ".hook", e.getMessage());
      }
      return new ResolvedInput(of(c), null);
    }
  }
}
