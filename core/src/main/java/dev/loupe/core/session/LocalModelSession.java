package dev.loupe.core.session;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.model.ForwardHooks;
import dev.loupe.core.model.ForwardResult;
import dev.loupe.core.model.HookedTransformer;
import dev.loupe.core.model.LoadedModel;
import dev.loupe.core.model.ModelRegistry;
import dev.loupe.core.model.Tokenizer;
import dev.loupe.sdk.model.EncodedPair;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.Normalization;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A model loaded in this JVM, behind the SDK's {@link ModelSession}: owns the weights, the
 * tokenizer and the native memory, and runs one forward pass at a time (callers on other
 * threads queue on a lock), since a pass uses a lot of native memory and threads of its own.
 */
public final class LocalModelSession implements ModelSession, AutoCloseable {
  private final String id;
  private final LoadedModel loaded;
  private final HookedTransformer model;
  private final Tokenizer tokenizer;
  private final NDManager manager;
  private final ModelInfo info;
  private final ReentrantLock lock = new ReentrantLock(true);
  private volatile boolean closed;

  private LocalModelSession(LoadedModel loaded, NDManager manager) {
    this.id = loaded.id();
    this.loaded = loaded;
    this.model = loaded.model();
    this.tokenizer = loaded.tokenizer();
    this.manager = manager;
    HookedTransformer m = model;
    this.info = new ModelInfo(id, m.architecture(), m.causal(), m.nLayers(), m.dModel(), m.nHeads(), m.dHead(),
        m.dMlp(), m.vocabSize(), m.maxContext(), m.parameterCount(), m.hookNames(), m.hookWidths());
  }

  /**
   * Opens a model reference with the built-in resolvers ({@code tiny}, {@code random-gpt2:...},
   * {@code random-llama:...}, a Hugging Face model directory).
   *
   * @throws IllegalArgumentException naming the reference when it cannot be resolved
   */
  public static LocalModelSession open(String ref) {
    return open(ref, ModelRegistry.withDefaults());
  }

  /**
   * Opens a model reference with {@code registry}, on the CPU.
   *
   * @throws IllegalArgumentException naming the reference when it cannot be resolved or loaded
   */
  public static LocalModelSession open(String ref, ModelRegistry registry) {
    NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    try {
      return new LocalModelSession(registry.load(ref, manager), manager);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** The reference this session was opened with. */
  public String id() {
    return id;
  }

  /** The model itself, for code in core that needs its weights (read-only). */
  public HookedTransformer model() {
    return model;
  }

  /** The tokenizer. */
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public int[] encode(String text) {
    return tokenizer.encode(text);
  }

  @Override
  public String decode(int[] tokenIds) {
    return tokenizer.decode(tokenIds);
  }

  @Override
  public String tokenText(int tokenId) {
    return tokenizer.tokenText(tokenId);
  }

  /**
   * {@inheritDoc}
   *
   * <p>The result's arrays live until the result is closed, or until this session closes.
   */
  @Override
  public RunResult run(int[][] tokens, Set<String> capture) {
    ForwardHooks hooks = ForwardHooks.capturing(capture == null ? Set.of() : capture);
    return run(tokens, hooks, null);
  }

  /**
   * {@inheritDoc}
   *
   * <p>The model checks the types (BERT: shape and {@code type_vocab_size}); a causal model
   * rejects any non-null types, naming its architecture. The result's arrays live until the
   * result is closed, or until this session closes.
   */
  @Override
  public RunResult run(int[][] tokens, int[][] tokenTypes, Set<String> capture) {
    ForwardHooks hooks = ForwardHooks.capturing(capture == null ? Set.of() : capture);
    return run(tokens, tokenTypes, hooks, null);
  }

  /** {@inheritDoc} Through the model's tokenizer, with the special tokens it is configured to add. */
  @Override
  public EncodedPair encodePair(String first, String second) {
    checkOpen();
    return tokenizer.encodePair(first, second);
  }

  /**
   * One forward pass with arbitrary hooks; the result's arrays go to a new child of {@code parent}
   * (of this session's manager when null).
   */
  RunResult run(int[][] tokens, ForwardHooks hooks, NDManager parent) {
    return run(tokens, null, hooks, parent);
  }

  private RunResult run(int[][] tokens, int[][] tokenTypes, ForwardHooks hooks, NDManager parent) {
    Objects.requireNonNull(hooks, "hooks");
    for (String h : hooks.hookNames()) {
      info.hookWidth(h);
    }
    lock.lock();
    try {
      checkOpen();
      NDManager out = (parent == null ? manager : parent).newSubManager();
      try {
        ForwardResult r = model.forward(tokens, tokenTypes, hooks, out);
        return new LocalRunResult(out, r.logits(), r.captured(), r.lengths());
      } catch (RuntimeException e) {
        out.close();
        throw e;
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public Trace trace(int[][] tokens) {
    checkOpen();
    model.validateTokens(tokens);
    int[][] copy = new int[tokens.length][];
    for (int i = 0; i < tokens.length; i++) {
      copy[i] = tokens[i].clone();
    }
    return new LocalTrace(this, copy, manager.newSubManager());
  }

  @Override
  public NDArray unembed(NDArray residual) {
    lock.lock();
    try {
      checkOpen();
      return model.unembed(residual);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public NDArray unembedDirections(NDArray directions) {
    lock.lock();
    try {
      checkOpen();
      return model.unembedDirections(directions);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public Normalization normalization(String normalizedHook) {
    lock.lock();
    try {
      checkOpen();
      return model.normalization(normalizedHook);
    } finally {
      lock.unlock();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("model session '" + id + "' is closed");
    }
  }

  /** Frees the weights and every array still held by results and traces of this session. */
  @Override
  public void close() {
    lock.lock();
    try {
      if (!closed) {
        closed = true;
        loaded.close(); // the weights and, for tokenizer.json tokenizers, the native tokenizer
        manager.close();
      }
    } finally {
      lock.unlock();
    }
  }
}
