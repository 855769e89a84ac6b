package dev.loupe.core.stream;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSink;
import dev.loupe.sdk.activation.ActivationSourceException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The producing end of a credit-based activation stream: a model session (or anything else)
 * {@link #accept(ActivationBatch) accepts} batches into it and every consumer subscribed at that
 * moment receives each batch once, in order.
 *
 * <p>Flow control is pull-based: a consumer grants credits (its prefetch) when it subscribes and
 * one more each time its reader takes a message; the producer never sends a consumer more
 * messages than it has credit for, so {@code accept} blocks until every subscribed consumer has
 * taken the batch and the slowest consumer paces the producer. A consumer that cancels, or stops
 * answering liveness checks, is dropped and the others carry on.
 *
 * <p>Two delivery paths, chosen per consumer when it subscribes:
 * <ul>
 *   <li>Consumers in the same Vert.x instance are linked directly (found through
 *       {@link LocalConsumers}): the producer puts the batch, by reference, straight into the
 *       consumer's bounded queue, and the consumer returns credit and cancels by a method call on
 *       its {@link LocalLink}. No event-bus message and no event-loop hop per batch: this is what
 *       keeps local fan-out cheap. End and failure signals take the same path, in order after
 *       the batches, because direct deliveries happen under the producer's lock.</li>
 *   <li>Consumers on other cluster nodes (and consumers that did not offer a direct link) get
 *       event-bus messages as documented in {@link StreamAddresses}: by reference when they are
 *       in this instance, otherwise through {@link ActivationBatchCodec}, split into row slices
 *       of at most {@link StreamOptions#getMaxChunkBytes()} each, which the consumer puts back
 *       together.</li>
 * </ul>
 * Both kinds may read the same stream at once; credit, cancellation, liveness checks (pings to
 * the consumer's data address) and end/failure mean the same for both.
 *
 * <p>The stream is live: a batch accepted while nobody is subscribed is dropped (counted in
 * {@link Stats#droppedBatches()}); use {@link #awaitConsumers(int, Duration)} before the first
 * batch when the consumers are known to be coming.
 *
 * <p>Threading: {@code accept} blocks, so it must be called from a worker or plain thread, one
 * at a time; it throws {@link IllegalStateException} on an event loop. {@code close}, {@code fail},
 * {@code awaitConsumers} and {@code stats} may be called from any non-event-loop thread.
 */
public final class ActivationStreamProducer implements ActivationSink {
  private static final Logger LOG = LoggerFactory.getLogger(ActivationStreamProducer.class);

  /** Per-consumer bookkeeping; guarded by the producer's lock. */
  private static final class Subscriber {
    final String id;
    final String address;
    final boolean remote;
    /** The consumer itself when it is linked directly; null for event-bus delivery. */
    final ActivationStreamConsumer local;
    final int initialCredits;
    int credits;
    long nextIndex;
    boolean pinging;

    Subscriber(String id, String address, boolean remote, ActivationStreamConsumer local, int credits) {
      this.id = id;
      this.address = address;
      this.remote = remote;
      this.local = local;
      this.initialCredits = credits;
      this.credits = credits;
    }
  }

  /**
   * The producer's side of a direct link to a consumer in its own Vert.x instance: the consumer
   * returns credit and cancels through it instead of sending control messages. Thread-safe.
   */
  final class LocalLink {
    private final Subscriber subscriber;

    private LocalLink(Subscriber subscriber) {
      this.subscriber = subscriber;
    }

    /** {@code n} more batches may be delivered to this consumer. */
    void credit(int n) {
      lock.lock();
      try {
        if (subscribers.get(subscriber.id) == subscriber) {
          addCredit(subscriber, n);
        }
      } finally {
        lock.unlock();
      }
    }

    /** Forgets this consumer; the producer stops waiting for it. */
    void cancel() {
      lock.lock();
      try {
        if (subscribers.get(subscriber.id) == subscriber) {
          removeSubscriber(subscriber);
        }
      } finally {
        lock.unlock();
      }
    }
  }

  private record Send(Subscriber to, long index, int part, int parts) {
  }

  /**
   * Counters of a producer.
   *
   * @param acceptedBatches batches sent to at least one consumer
   * @param droppedBatches batches accepted while nobody was subscribed
   * @param waitNanos time {@code accept} spent blocked waiting for consumers' credit
   * @param maxInFlight the most messages ever sent but not yet taken by readers, over all consumers
   * @param subscribers consumers subscribed now
   */
  public record Stats(long acceptedBatches, long droppedBatches, long waitNanos, int maxInFlight, int subscribers) {
  }

  private final Vertx vertx;
  private final EventBus eventBus;
  private final String streamId;
  private final StreamOptions options;
  private final String nodeToken;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final Map<String, Subscriber> subscribers = new LinkedHashMap<>();
  private MessageConsumer<JsonObject> control;
  private volatile int remoteSubscribers;
  private boolean closed;
  private String failure;
  private long accepted;
  private long dropped;
  private long waitNanos;
  private int maxInFlight;

  private ActivationStreamProducer(Vertx vertx, String streamId, StreamOptions options) {
    this.vertx = vertx;
    this.eventBus = vertx.eventBus();
    this.streamId = streamId;
    this.options = new StreamOptions(options);
    this.nodeToken = NodeTokens.of(vertx);
  }

  /**
   * Opens stream {@code streamId} on {@code vertx} (clustered or not) with default options.
   *
   * @see #create(Vertx, String, StreamOptions)
   */
  public static Future<ActivationStreamProducer> create(Vertx vertx, String streamId) {
    return create(vertx, streamId, new StreamOptions());
  }

  /**
   * Opens stream {@code streamId} on {@code vertx}: registers its control address (cluster-wide
   * when clustered) and completes once consumers can subscribe.
   *
   * @param options chunk size, liveness timing and the optionally declared hook name and width
   *     (declared values are checked against every batch); copied
   * @return a future failed with {@link IllegalStateException} when another producer already owns
   *     the stream id, or with the event bus's error when registration fails
   * @throws IllegalArgumentException if streamId is not a valid id (see {@link StreamAddresses#checkId})
   */
  public static Future<ActivationStreamProducer> create(Vertx vertx, String streamId, StreamOptions options) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(options, "options");
    String address = StreamAddresses.control(streamId);
    ActivationBatchCodec.registerOn(vertx);
    ActivationStreamProducer producer = new ActivationStreamProducer(vertx, streamId, options);
    // A second producer on the same id would split subscriptions between the two: refuse it.
    return vertx.eventBus().<JsonObject>request(address, new JsonObject().put(StreamAddresses.OP, StreamAddresses.OP_PING),
            new DeliveryOptions().setSendTimeout(options.getLivenessTimeout().toMillis()))
        .transform(ar -> {
          if (ar.succeeded()) {
            return Future.failedFuture(new IllegalStateException("stream '" + streamId + "' already has a producer"));
          }
          producer.control = vertx.eventBus().consumer(address, producer::onControl);
          return producer.control.completion().map(producer);
        });
  }

  /** The stream's id. */
  public String streamId() {
    return streamId;
  }

  /**
   * Waits until at least {@code n} consumers are subscribed, or the timeout passes.
   *
   * @return true when {@code n} consumers are subscribed, false on timeout
   * @throws InterruptedException if the waiting thread is interrupted
   * @throws IllegalArgumentException if n is negative
   */
  public boolean awaitConsumers(int n, Duration timeout) throws InterruptedException {
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
    long remaining = timeout.toNanos();
    lock.lockInterruptibly();
    try {
      while (subscribers.size() < n) {
        if (remaining <= 0 || closed || failure != null) {
          return false;
        }
        remaining = changed.awaitNanos(remaining);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Consumers subscribed now. */
  public int subscriberCount() {
    lock.lock();
    try {
      return subscribers.size();
    } finally {
      lock.unlock();
    }
  }

  /** A snapshot of this producer's counters. */
  public Stats stats() {
    lock.lock();
    try {
      return new Stats(accepted, dropped, waitNanos, maxInFlight, subscribers.size());
    } finally {
      lock.unlock();
    }
  }

  /**
   * Sends {@code batch} to every consumer subscribed now, waiting as long as any of them has no
   * credit left. Returns once every consumer has been sent the whole batch (or has gone away).
   *
   * @throws InterruptedException if the thread is interrupted while waiting for credit
   * @throws ActivationSourceException if the stream was closed or failed
   * @throws IllegalArgumentException if the batch's hook name or width differ from the declared ones
   * @throws IllegalStateException if called on an event-loop thread
   */
  @Override
  public void accept(ActivationBatch batch) throws InterruptedException {
    Objects.requireNonNull(batch, "batch");
    if (Context.isOnEventLoopThread()) {
      throw new IllegalStateException("ActivationStreamProducer.accept blocks until consumers have credit; "
          + "call it from a worker thread, not an event loop");
    }
    if (options.getHookName() != null && !options.getHookName().equals(batch.hookName())) {
      throw new IllegalArgumentException("stream '" + streamId + "' carries hook " + options.getHookName()
          + ", got a batch from " + batch.hookName());
    }
    if (options.getWidth() > 0 && options.getWidth() != batch.width()) {
      throw new IllegalArgumentException("stream '" + streamId + "' carries width " + options.getWidth()
          + ", got a batch of width " + batch.width());
    }
    // Slicing copies the batch: do it before taking the lock, and only when someone needs it.
    List<Object> chunks = remoteSubscribers > 0 ? chunk(batch) : null;
    long waited = 0;
    lock.lockInterruptibly();
    try {
      checkOpen();
      Map<Subscriber, Integer> nextPart = new LinkedHashMap<>();
      for (Subscriber s : subscribers.values()) {
        nextPart.put(s, 0);
      }
      if (nextPart.isEmpty()) {
        dropped++;
        return;
      }
      accepted++;
      while (!nextPart.isEmpty()) {
        List<Send> sends = new ArrayList<>();
        boolean directDeliveries = false;
        for (Iterator<Map.Entry<Subscriber, Integer>> it = nextPart.entrySet().iterator(); it.hasNext(); ) {
          Map.Entry<Subscriber, Integer> e = it.next();
          Subscriber s = e.getKey();
          if (subscribers.get(s.id) != s) {
            it.remove();
            continue;
          }
          if (s.local != null) {
            // A queue offer that never blocks: done under the lock, which keeps it ordered with end/fail.
            if (s.credits > 0) {
              s.credits--;
              s.local.deliverLocal(batch);
              directDeliveries = true;
              it.remove();
            }
            continue;
          }
          if (s.remote && chunks == null) {
            chunks = chunk(batch);
          }
          int parts = s.remote ? chunks.size() : 1;
          int part = e.getValue();
          while (part < parts && s.credits > 0) {
            s.credits--;
            sends.add(new Send(s, s.nextIndex++, part, parts));
            part++;
          }
          if (part == parts) {
            it.remove();
          } else {
            e.setValue(part);
          }
        }
        if (directDeliveries || !sends.isEmpty()) {
          maxInFlight = Math.max(maxInFlight, inFlight());
        }
        if (!sends.isEmpty()) {
          // Encoding for remote consumers may take milliseconds: never hold the lock the
          // event loop needs for credit messages meanwhile.
          lock.unlock();
          try {
            for (Send send : sends) {
              send(send, send.to.remote ? chunks.get(send.part) : batch);
            }
          } finally {
            lock.lock();
          }
          checkOpen();
          continue;
        }
        if (nextPart.isEmpty()) {
          break;
        }
        long t0 = System.nanoTime();
        boolean signalled = changed.await(options.getLivenessInterval().toMillis(), TimeUnit.MILLISECONDS);
        waited += System.nanoTime() - t0;
        checkOpen();
        if (!signalled) {
          for (Subscriber s : nextPart.keySet()) {
            if (s.credits == 0 && !s.pinging) {
              checkAlive(s);
            }
          }
        }
      }
    } finally {
      waitNanos += waited;
      lock.unlock();
    }
  }

  /** Ends the stream: every consumer receives end-of-stream after the batches already sent. Idempotent. */
  @Override
  public void close() {
    finish(null);
  }

  /**
   * Ends the stream with an error: every consumer's reader gets an {@link ActivationSourceException}
   * carrying {@code reason} after the batches already sent; later {@code accept} calls throw.
   * Does nothing when the stream is already closed or failed.
   */
  public void fail(String reason) {
    finish(Objects.requireNonNull(reason, "reason"));
  }

  private void finish(String reason) {
    List<Send> signals = new ArrayList<>();
    lock.lock();
    try {
      if (closed || failure != null) {
        return;
      }
      if (reason == null) {
        closed = true;
      } else {
        failure = reason;
      }
      for (Subscriber s : subscribers.values()) {
        if (s.local != null) {
          s.local.finishLocal(reason);
        } else {
          signals.add(new Send(s, s.nextIndex++, 0, 0));
        }
      }
      subscribers.clear();
      remoteSubscribers = 0;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    for (Send s : signals) {
      DeliveryOptions opts = new DeliveryOptions()
          .addHeader(StreamAddresses.KIND, reason == null ? StreamAddresses.KIND_END : StreamAddresses.KIND_FAIL)
          .addHeader(StreamAddresses.INDEX, Long.toString(s.index));
      eventBus.send(s.to.address, reason, opts);
    }
    if (control != null) {
      control.unregister();
    }
  }

  private void checkOpen() {
    if (failure != null) {
      throw new ActivationSourceException("activation stream '" + streamId + "' failed: " + failure);
    }
    if (closed) {
      throw new ActivationSourceException("activation stream '" + streamId + "' is closed");
    }
  }

  private int inFlight() {
    int n = 0;
    for (Subscriber s : subscribers.values()) {
      n += s.initialCredits - s.credits;
    }
    return n;
  }

  /** The message bodies a remote consumer gets for one batch: the batch itself, or row slices of it. */
  private List<Object> chunk(ActivationBatch batch) {
    if (batch.payloadBytes() <= options.getMaxChunkBytes() || batch.rows() <= 1) {
      return List.of(batch);
    }
    int rowsPerChunk = (int) Math.max(1, options.getMaxChunkBytes() / (4L * batch.width()));
    List<Object> chunks = new ArrayList<>();
    for (int from = 0; from < batch.rows(); from += rowsPerChunk) {
      chunks.add(new BatchRows(batch, from, Math.min(batch.rows(), from + rowsPerChunk)));
    }
    return chunks;
  }

  private void send(Send s, Object body) {
    DeliveryOptions opts = new DeliveryOptions()
        .addHeader(StreamAddresses.KIND, StreamAddresses.KIND_BATCH)
        .addHeader(StreamAddresses.INDEX, Long.toString(s.index))
        .addHeader(StreamAddresses.PART, Integer.toString(s.part))
        .addHeader(StreamAddresses.PARTS, Integer.toString(s.parts));
    eventBus.send(s.to.address, body, opts);
  }

  /** Asks a consumer that has been without credit for a while whether it still exists. Caller holds the lock. */
  private void checkAlive(Subscriber s) {
    s.pinging = true;
    DeliveryOptions opts = new DeliveryOptions()
        .addHeader(StreamAddresses.KIND, StreamAddresses.KIND_PING)
        .setSendTimeout(options.getLivenessTimeout().toMillis());
    eventBus.request(s.address, null, opts).onComplete(ar -> {
      lock.lock();
      try {
        s.pinging = false;
        if (ar.failed() && isGone(ar.cause()) && subscribers.get(s.id) == s) {
          LOG.warn("consumer {} of activation stream '{}' is gone ({}); continuing without it",
              s.id, streamId, ar.cause().getMessage());
          removeSubscriber(s);
        }
      } finally {
        lock.unlock();
      }
    });
  }

  static boolean isGone(Throwable error) {
    return error instanceof ReplyException re
        && (re.failureType() == ReplyFailure.NO_HANDLERS || re.failureType() == ReplyFailure.TIMEOUT);
  }

  /**
   * Returns credit to a consumer. Caller holds the lock.
   *
   * <p>{@code accept} only waits while every consumer it still has to serve is out of credit, so
   * only a grant to a consumer that had none can unblock it: other grants skip the wake-up (one
   * per batch and consumer otherwise). Waking at the first credit rather than in bursts keeps
   * every consumer's full prefetch in use, which matters when consumers share few cores and run
   * at uneven speeds (waking at half the prefetch instead was tried: it saved producer CPU but
   * measured lower 4-consumer throughput in most runs).
   */
  private void addCredit(Subscriber s, int n) {
    boolean hadNone = s.credits <= 0;
    s.credits += n;
    if (hadNone && s.credits > 0) {
      changed.signalAll();
    }
  }

  private void removeSubscriber(Subscriber s) {
    subscribers.remove(s.id);
    if (s.remote) {
      remoteSubscribers--;
    }
    changed.signalAll();
  }

  /** Control messages from consumers; runs on an event loop, so it only touches state under the lock briefly. */
  private void onControl(Message<JsonObject> message) {
    JsonObject body = message.body();
    String op = body == null ? null : body.getString(StreamAddresses.OP);
    if (StreamAddresses.OP_PING.equals(op)) {
      message.reply(new JsonObject());
      return;
    }
    String consumerId = body == null ? null : body.getString(StreamAddresses.CONSUMER);
    if (op == null || consumerId == null) {
      message.fail(400, "stream control message needs '" + StreamAddresses.OP + "' and '"
          + StreamAddresses.CONSUMER + "', got " + (body == null ? "null" : body.encode()));
      return;
    }
    lock.lock();
    try {
      switch (op) {
        case StreamAddresses.OP_SUBSCRIBE -> {
          if (failure != null || closed) {
            message.fail(410, "activation stream '" + streamId + "' is " + (closed ? "closed" : "failed: " + failure));
            return;
          }
          int credits = body.getInteger(StreamAddresses.N, 0);
          if (credits < 1) {
            message.fail(400, "subscribe needs a positive '" + StreamAddresses.N + "' (credits), got " + credits);
            return;
          }
          // A retried subscribe (its reply was lost) must not reset the consumer's credit.
          if (!subscribers.containsKey(consumerId)) {
            boolean remote = !nodeToken.equals(body.getString(StreamAddresses.NODE));
            String address = StreamAddresses.data(streamId, consumerId);
            ActivationStreamConsumer local = remote ? null : LocalConsumers.find(address, nodeToken);
            Subscriber s = new Subscriber(consumerId, address, remote, local, credits);
            subscribers.put(consumerId, s);
            if (local != null) {
              local.attachLocal(new LocalLink(s));
            }
            if (remote) {
              remoteSubscribers++;
            }
            changed.signalAll();
          }
          JsonObject reply = new JsonObject();
          if (options.getHookName() != null) {
            reply.put(StreamAddresses.HOOK_NAME, options.getHookName());
          }
          if (options.getWidth() > 0) {
            reply.put(StreamAddresses.WIDTH, options.getWidth());
          }
          if (options.getExpectedRows() > 0) {
            reply.put(StreamAddresses.EXPECTED_ROWS, options.getExpectedRows());
          }
          message.reply(reply);
        }
        case StreamAddresses.OP_CREDIT -> {
          Subscriber s = subscribers.get(consumerId);
          if (s != null) {
            addCredit(s, body.getInteger(StreamAddresses.N, 1));
          }
        }
        case StreamAddresses.OP_CANCEL -> {
          Subscriber s = subscribers.get(consumerId);
          if (s != null) {
            removeSubscriber(s);
          }
        }
        default -> message.fail(400, "unknown stream control op '" + op + "'");
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "ActivationStreamProducer[" + streamId + " on " + (vertx.isClustered() ? "clustered" : "local") + " Vert.x]";
  }
}
