package dev.loupe.core.node;

import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.Document;
import dev.loupe.core.corpus.TokenWindow;
import dev.loupe.core.corpus.TokenWindows;
import dev.loupe.core.session.ActivationHarvester;
import dev.loupe.core.stream.ActivationStreamProducer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.sdk.activation.ActivationSink;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import java.util.Set;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs harvests: a model session reads a corpus once and its activations at several hooks go out
 * on credit-based streams, so any number of jobs (on this node or on other cluster nodes) share
 * one forward pass per token. Each harvest runs on a thread of its own.
 */
public final class HarvestService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HarvestService.class);

  private final Vertx vertx;
  private final String nodeId;
  private final ExecutorService threads;
  private final Map<String, Harvest> harvests = new ConcurrentHashMap<>();
  private final AtomicInteger counter = new AtomicInteger();

  public HarvestService(Vertx vertx, String nodeId) {
    this.vertx = vertx;
    this.nodeId = nodeId;
    AtomicInteger n = new AtomicInteger();
    this.threads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "loupe-harvest-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Validates the request against the session's model, opens one stream per hook and starts the
   * harvest, which first waits for {@code request.consumers()} subscribers on every stream.
   *
   * @throws ConfigException naming the field when a hook is unknown to the model or not per-position
   * @throws IllegalArgumentException naming the corpus when it cannot be opened
   */
  public Harvest start(String sessionId, ModelSession session, HarvestRequest request) {
    ModelInfo info = session.info();
    for (int i = 0; i < request.hooks().size(); i++) {
      String hook = request.hooks().get(i);
      if (!info.hasHook(hook)) {
        throw new ConfigException("hooks[" + i + "]", "model '" + info.id() + "' has no hook '" + hook
            + "'; see `loupe model info " + info.id() + "`");
      }
      if (hook.endsWith("hook_pattern") || hook.endsWith("hook_attn_scores")) {
        throw new ConfigException("hooks[" + i + "]", "'" + hook + "' is not one vector per token and cannot be streamed");
      }
    }
    if (request.ctx() > info.maxContext()) {
      throw new ConfigException("ctx", "window of " + request.ctx() + " tokens exceeds the model's context of "
          + info.maxContext());
    }
    // Open the corpus now so that a bad reference fails the request, not the thread later.
    Stream<Document> docs = Corpora.open(request.corpus());
    String id = nodeId + "-h" + counter.incrementAndGet();
    Map<String, String> streamIds = new LinkedHashMap<>();
    Map<String, ActivationStreamProducer> producers = new LinkedHashMap<>();
    try {
      for (String hook : request.hooks()) {
        String streamId = id + "-" + streamIds.size();
        StreamOptions opts = new StreamOptions().setHookName(hook).setWidth(rowWidth(session, hook))
            .setExpectedRows(request.tokens());
        producers.put(hook, ActivationStreamProducer.create(vertx, streamId, opts)
            .toCompletionStage().toCompletableFuture().join());
        streamIds.put(hook, streamId);
      }
    } catch (RuntimeException e) {
      producers.values().forEach(p -> p.fail("harvest could not start: " + e.getMessage()));
      docs.close();
      throw e;
    }
    Harvest h = new Harvest(id, sessionId, request, streamIds);
    harvests.put(id, h);
    h.task(threads.submit(() -> run(h, session, docs, producers)));
    return h;
  }

  /**
   * The width of one harvested row at {@code hook}: the product of the activation's axes after
   * [batch, pos]. Per-head hooks (q, k, v, z) are flattened to heads x d_head, where k and v of a
   * grouped-query model have fewer heads than q; one single-token pass tells the exact shape for
   * any architecture.
   *
   * @throws IllegalArgumentException naming the hook when the model has none of that name
   */
  public static int rowWidth(ModelSession session, String hook) {
    try (RunResult r = session.run(new int[][] {{0}}, Set.of(hook))) {
      long[] shape = r.activation(hook).getShape().getShape();
      long w = 1;
      for (int i = 2; i < shape.length; i++) {
        w *= shape[i];
      }
      return Math.toIntExact(w);
    }
  }

  private void run(Harvest h, ModelSession session, Stream<Document> docs,
      Map<String, ActivationStreamProducer> producers) {
    HarvestRequest req = h.request();
    try (docs) {
      // One deadline for all streams: wait_seconds bounds the whole wait, not each hook's.
      long deadline = System.nanoTime() + Duration.ofSeconds(req.waitSeconds()).toNanos();
      for (Map.Entry<String, ActivationStreamProducer> e : producers.entrySet()) {
        Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
        if (!e.getValue().awaitConsumers(req.consumers(), left)) {
          throw new IllegalStateException("stream for '" + e.getKey() + "' got " + e.getValue().subscriberCount()
              + " of " + req.consumers() + " consumers within " + req.waitSeconds() + " s");
        }
      }
      h.state(Harvest.State.RUNNING);
      Iterator<TokenWindow> windows = TokenWindows.of(docs, session::encode, req.ctx()).iterator();
      Map<String, ActivationSink> sinks = new LinkedHashMap<>(producers);
      new ActivationHarvester(session, req.sequencesPerPass(), req.batchRows())
          .harvest(windows, sinks, req.tokens(), (done, total) -> {
            h.tokensDone(done);
            // Running the model for nobody wastes the machine: stop once every reader has left.
            if (producers.values().stream().allMatch(p -> p.subscriberCount() == 0)) {
              throw new EveryConsumerLeft();
            }
          });
      producers.values().forEach(ActivationStreamProducer::close);
      h.finish(Harvest.State.DONE, null);
    } catch (EveryConsumerLeft e) {
      producers.values().forEach(ActivationStreamProducer::close);
      h.finish(Harvest.State.CANCELLED, "every consumer left after " + h.tokensDone() + " tokens");
    } catch (InterruptedException e) {
      producers.values().forEach(p -> p.fail("harvest " + h.id() + " cancelled"));
      h.finish(Harvest.State.CANCELLED, "cancelled");
    } catch (RuntimeException e) {
      String why = e.getMessage() == null ? e.toString() : e.getMessage();
      LOG.warn("harvest {} failed: {}", h.id(), why, e);
      producers.values().forEach(p -> p.fail("harvest " + h.id() + " failed: " + why));
      h.finish(Harvest.State.FAILED, why);
    }
  }

  /** Thrown out of the harvest's progress callback to stop a harvest nobody reads any more. */
  private static final class EveryConsumerLeft extends RuntimeException {
    EveryConsumerLeft() {
      super(null, null, false, false);
    }
  }

  public Optional<Harvest> harvest(String id) {
    return Optional.ofNullable(harvests.get(id));
  }

  public Collection<Harvest> harvests() {
    return List.copyOf(harvests.values());
  }

  /**
   * Cancels every harvest and waits (up to 10 s) for their threads to stop, so that the sessions
   * they read can be closed safely afterwards.
   */
  @Override
  public void close() {
    harvests.values().forEach(Harvest::cancel);
    threads.shutdownNow();
    try {
      if (!threads.awaitTermination(10, TimeUnit.SECONDS)) {
        LOG.warn("harvest threads still running 10 s after cancellation");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
