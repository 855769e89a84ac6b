package dev.loupe.core.cache;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Activations of recent prompts, for interactive queries that look at the same prompt again
 * and again (token view, logit lens, attention maps). Bounded by the bytes of the arrays it
 * holds; an array is closed (its native memory released) as soon as it is evicted or
 * invalidated. Callers get copies in their own manager, so an eviction never frees an array a
 * caller still uses. Thread-safe.
 */
public final class ActivationCache implements AutoCloseable {

  /** What an entry is the activation of: one model, one token sequence, one hook. */
  public static final class Key {
    private final String modelId;
    private final int[] tokens;
    private final String hook;
    private final int hash;

    public Key(String modelId, int[] tokens, String hook) {
      this.modelId = Objects.requireNonNull(modelId, "modelId");
      this.tokens = Objects.requireNonNull(tokens, "tokens").clone();
      this.hook = Objects.requireNonNull(hook, "hook");
      this.hash = Objects.hash(modelId, hook) * 31 + Arrays.hashCode(this.tokens);
    }

    public String modelId() {
      return modelId;
    }

    public String hook() {
      return hook;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key && ((Key) o).hash == hash && ((Key) o).modelId.equals(modelId)
          && ((Key) o).hook.equals(hook) && Arrays.equals(((Key) o).tokens, tokens);
    }

    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public String toString() {
      return modelId + " " + hook + " (" + tokens.length + " tokens)";
    }
  }

  private final NDManager manager;
  private final Cache<Key, NDArray> cache;

  /**
   * A cache holding at most {@code maxBytes} bytes of activations.
   *
   * @throws IllegalArgumentException when maxBytes is not positive
   */
  public ActivationCache(long maxBytes) {
    this(maxBytes, (k, v) -> { });
  }

  /** As {@link #ActivationCache(long)}, telling {@code afterRemoval} about every closed entry (for tests). */
  ActivationCache(long maxBytes, java.util.function.BiConsumer<Key, NDArray> afterRemoval) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("activation cache size must be > 0 bytes, got " + maxBytes);
    }
    this.manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    // Listeners run on the evicting thread: closing an array is cheap and frees memory at once.
    this.cache = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher((Key k, NDArray v) -> (int) Math.min(Integer.MAX_VALUE, bytes(v)))
        .removalListener((Key k, NDArray v, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
          if (v != null) {
            v.close();
            afterRemoval.accept(k, v);
          }
        })
        .executor(Runnable::run)
        .recordStats()
        .build();
  }

  private static long bytes(NDArray a) {
    return a.getShape().size() * a.getDataType().getNumOfBytes();
  }

  /**
   * The activations of {@code tokens} at {@code hooks} for the session's model ({@code [pos, ...]},
   * the batch axis dropped), as copies attached to {@code into}. Hooks not in the cache are
   * computed together in one forward pass and cached.
   *
   * @throws IllegalArgumentException from the session for unknown hooks or bad tokens
   */
  public Map<String, NDArray> getOrCompute(ModelSession session, int[] tokens, Set<String> hooks, NDManager into) {
    Objects.requireNonNull(session, "session");
    Objects.requireNonNull(into, "into");
    String modelId = session.info().id();
    Map<String, NDArray> out = new LinkedHashMap<>();
    Set<String> missing = new LinkedHashSet<>();
    for (String hook : hooks) {
      Optional<NDArray> hit = get(modelId, tokens, hook, into);
      if (hit.isPresent()) {
        out.put(hook, hit.get());
      } else {
        missing.add(hook);
      }
    }
    if (!missing.isEmpty()) {
      try (RunResult r = session.run(new int[][] {tokens}, missing)) {
        for (String hook : missing) {
          NDArray row = r.activation(hook).get(0);
          NDArray kept = row.duplicate();
          kept.attach(manager);
          cache.put(new Key(modelId, tokens, hook), kept);
          NDArray copy = row.duplicate();
          copy.attach(into);
          out.put(hook, copy);
        }
      }
    }
    Map<String, NDArray> ordered = new LinkedHashMap<>();
    for (String hook : hooks) {
      ordered.put(hook, out.get(hook));
    }
    return ordered;
  }

  /** A copy (attached to {@code into}) of the cached activation, or empty when not cached. */
  public Optional<NDArray> get(String modelId, int[] tokens, String hook, NDManager into) {
    NDArray[] copy = new NDArray[1];
    // Copy under the entry's lock so that an eviction cannot close the array mid-copy.
    cache.asMap().computeIfPresent(new Key(modelId, tokens, hook), (k, v) -> {
      copy[0] = v.duplicate();
      copy[0].attach(into);
      return v;
    });
    if (copy[0] == null) {
      // count the miss, as getIfPresent would
      cache.getIfPresent(new Key(modelId, tokens, hook));
      return Optional.empty();
    }
    cache.getIfPresent(new Key(modelId, tokens, hook));
    return Optional.of(copy[0]);
  }

  /** The cached array itself, for tests of the eviction behaviour. */
  NDArray peek(String modelId, int[] tokens, String hook) {
    return cache.asMap().get(new Key(modelId, tokens, hook));
  }

  /** Drops (and frees) every entry of {@code modelId}, e.g. when its session closes. */
  public void invalidateModel(String modelId) {
    cache.asMap().keySet().removeIf(k -> k.modelId().equals(modelId));
  }

  /** Drops and frees everything. */
  public void invalidateAll() {
    cache.invalidateAll();
    cache.cleanUp();
  }

  /** Bytes currently held. */
  public long bytesHeld() {
    cache.cleanUp();
    return cache.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
  }

  /** Number of entries. */
  public long size() {
    cache.cleanUp();
    return cache.estimatedSize();
  }

  /** Hit and miss counts. */
  public CacheStats stats() {
    return cache.stats();
  }

  /** Frees every array and the cache's manager. */
  @Override
  public void close() {
    invalidateAll();
    manager.close();
  }
}
