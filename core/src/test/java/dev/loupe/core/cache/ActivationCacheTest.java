package dev.loupe.core.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ActivationCacheTest {
  private static final String RESID = "blocks.0.hook_resid_post";
  private static final String MLP = "blocks.1.mlp.hook_post";
  private LocalModelSession model;
  private CountingSession session;
  private NDManager manager;

  /** Records the hooks of every forward pass it forwards. */
  static final class CountingSession implements ModelSession {
    final ModelSession delegate;
    final List<Set<String>> runs = new ArrayList<>();

    CountingSession(ModelSession delegate) {
      this.delegate = delegate;
    }

    @Override
    public ModelInfo info() {
      return delegate.info();
    }

    @Override
    public int[] encode(String text) {
      return delegate.encode(text);
    }

    @Override
    public String decode(int[] tokenIds) {
      return delegate.decode(tokenIds);
    }

    @Override
    public String tokenText(int tokenId) {
      return delegate.tokenText(tokenId);
    }

    @Override
    public RunResult run(int[][] tokens, Set<String> capture) {
      runs.add(Set.copyOf(capture));
      return delegate.run(tokens, capture);
    }

    @Override
    public Trace trace(int[][] tokens) {
      return delegate.trace(tokens);
    }

    @Override
    public NDArray unembed(NDArray residual) {
      return delegate.unembed(residual);
    }
  }

  @BeforeAll
  void open() {
    model = LocalModelSession.open("random-gpt2:2x64");
  }

  @AfterAll
  void closeModel() {
    model.close();
  }

  @BeforeEach
  void setUp() {
    session = new CountingSession(model);
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  @Test
  void aRepeatedQueryIsServedFromTheCacheWithTheSameValues() {
    int[] tokens = model.encode("cache me");
    try (ActivationCache cache = new ActivationCache(1 << 20)) {
      NDArray first = cache.getOrCompute(session, tokens, Set.of(RESID), manager).get(RESID);
      NDArray second = cache.getOrCompute(session, tokens, Set.of(RESID), manager).get(RESID);
      assertThat(session.runs).hasSize(1);
      assertThat(second.toFloatArray()).containsExactly(first.toFloatArray());
      assertThat(first.getShape().getShape()).containsExactly(tokens.length, 64);
      try (RunResult direct = model.run(new int[][] {tokens}, Set.of(RESID))) {
        assertThat(first.toFloatArray()).containsExactly(direct.activation(RESID).toFloatArray());
      }
      assertThat(cache.stats().hitCount()).isEqualTo(1);
    }
  }

  @Test
  void onlyTheMissingHooksAreComputedInOnePass() {
    int[] tokens = model.encode("partial");
    try (ActivationCache cache = new ActivationCache(1 << 20)) {
      cache.getOrCompute(session, tokens, Set.of(RESID), manager);
      Map<String, NDArray> both = cache.getOrCompute(session, tokens, Set.of(RESID, MLP, "hook_embed"), manager);
      assertThat(both).containsOnlyKeys(RESID, MLP, "hook_embed");
      assertThat(session.runs).containsExactly(Set.of(RESID), Set.of(MLP, "hook_embed"));
    }
  }

  @Test
  void evictionClosesTheEvictedArray() {
    int[] a = model.encode("first prompt");
    int[] b = model.encode("second prompt");
    long oneEntry = 4L * a.length * 64;
    List<NDArray> removed = new ArrayList<>();
    try (ActivationCache cache = new ActivationCache(oneEntry + 16, (k, v) -> removed.add(v))) {
      cache.getOrCompute(session, a, Set.of(RESID), manager);
      cache.getOrCompute(session, b, Set.of(RESID), manager);
      assertThat(cache.size()).isEqualTo(1);
      assertThat(cache.bytesHeld()).isEqualTo(oneEntry);
      assertThat(removed).hasSize(1);
      assertThat(removed.get(0).isReleased()).isTrue();
      NDArray survivor = cache.peek(model.id(), a, RESID) != null ? cache.peek(model.id(), a, RESID)
          : cache.peek(model.id(), b, RESID);
      assertThat(survivor.isReleased()).isFalse();
    }
    assertThat(removed).as("closing the cache frees the rest").hasSize(2).allMatch(NDArray::isReleased);
  }

  @Test
  void copiesHandedOutSurviveInvalidation() {
    int[] tokens = model.encode("keep my copy");
    try (ActivationCache cache = new ActivationCache(1 << 20)) {
      NDArray copy = cache.getOrCompute(session, tokens, Set.of(RESID), manager).get(RESID);
      NDArray cached = cache.peek(model.id(), tokens, RESID);
      cache.invalidateModel(model.id());
      assertThat(cached.isReleased()).isTrue();
      assertThat(copy.isReleased()).isFalse();
      assertThat(copy.toFloatArray()).hasSize(tokens.length * 64);
      assertThat(cache.size()).isZero();
    }
  }

  @Test
  void unknownHooksFailWithoutCachingAnything() {
    try (ActivationCache cache = new ActivationCache(1 << 20)) {
      assertThatThrownBy(() -> cache.getOrCompute(session, new int[] {1, 2}, Set.of("blocks.5.hook_resid_post"), manager))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blocks.5.hook_resid_post");
      assertThat(cache.size()).isZero();
    }
  }

  @Test
  void aNonPositiveSizeIsRejected() {
    assertThatThrownBy(() -> new ActivationCache(0)).hasMessageContaining("must be > 0 bytes");
  }
}
