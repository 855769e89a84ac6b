package dev.loupe.sdk.activation;

/**
 * An input that passes every call to another one; a wrapper overrides only what it changes
 * (counting batches, noting their model, stopping something on close).
 */
public abstract class ForwardingActivationSource implements ActivationSource {
  /** The wrapped input; closing this closes it. */
  protected final ActivationSource in;

  protected ForwardingActivationSource(ActivationSource in) {
    this.in = in;
  }

  @Override
  public ActivationBatch next() throws InterruptedException {
    return in.next();
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
