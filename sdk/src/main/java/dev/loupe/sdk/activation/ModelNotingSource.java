package dev.loupe.sdk.activation;

/**
 * An input that passes its batches through and notes the model the first one came from, for
 * reports that name the model of each input (a job learns it only from the batches).
 */
public final class ModelNotingSource extends ForwardingActivationSource {
  private volatile String modelId = "?";

  /** Wraps {@code in}; closing this closes it. */
  public ModelNotingSource(ActivationSource in) {
    super(in);
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
}
