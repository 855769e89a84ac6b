package dev.loupe.sdk.activation;

/**
 * An input that passes its batches through and notes the model the first one came from, for
 * reports that name the model of each input (a job learns it only from the batches).
 */
public final class ModelNotingSource implements ActivationSource {
  private final ActivationSource in;
  private volatile String modelId = "?";

  /** Wraps {@code in}; closing this closes it. */
  public ModelNotingSource(ActivationSource in) {
    this.in = in;
  }

  /** The model id of the first batch read, or "?" before any. */
  public String modelId() {
    return modelId;
  }

  @Override
  public ActivationBatch next() throws InterruptedException {
    ActivationBatch b = in.next();
    if (b != null && modelId.equals("?")) {
      modelId = b.modelId();
    }
    return b;
  }

  @Override
  public String hookName() {
    return in.hookName();
  }

  @Override
  public int width() {
    return in.width();
  }

  @Override
  public long totalRows() {
    return in.totalRows();
  }

  @Override
  public void close() {
    in.close();
  }
}
