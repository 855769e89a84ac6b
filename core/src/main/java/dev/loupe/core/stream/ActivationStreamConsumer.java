package dev.loupe.core.stream;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSourceException;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The reading end of a credit-based activation stream: an {@link ActivationSource} fed by an
 * {@link ActivationStreamProducer} on this or another cluster node.
 *
 * <p>The consumer grants the producer {@link StreamOptions#getCredits()} messages up front and one
 * more each time {@link #next()} takes a message, so at most {@code credits} messages are ever
 * buffered here: memory is bounded by credits times the (chunk) size of a batch, and a slow
 * reader slows the producer down rather than losing data.
 *
 * <p>A producer in the same Vert.x instance links itself to this consumer while handling the
 * subscription (see {@link LocalConsumers}): it then puts batches, end and failure straight into
 * this consumer's queue, and the reader returns credit and cancels by direct calls on the
 * producer's {@link ActivationStreamProducer.LocalLink}, with no event-bus message per batch.
 * Any other producer (another node, or one driving the protocol by hand) uses the event-bus
 * messages of {@link StreamAddresses}; the data address stays registered either way and answers
 * liveness pings. A reader cannot tell the two paths apart.
 *
 * <p>Large batches from another node arrive as several row slices with the same sequence number;
 * this consumer reassembles them, so a reader sees exactly the batches the producer accepted,
 * whether the producer is local or remote.
 *
 * <p>A consumer joins a live stream: it receives the batches accepted after its subscription
 * completed. {@link #next()} returns null at the end of the stream and after {@link #close()},
 * and throws {@link ActivationSourceException} with the producer's reason when the producer
 * failed, or when the producer's node stopped answering.
 */
public final class ActivationStreamConsumer implements ActivationSource {

  /** One message from the producer, in send order once it reaches the queue. */
  private record Incoming(String kind, Object batch, int part, int parts, String reason) {
    static final Incoming CLOSED = new Incoming("closed", null, 0, 0, null);
  }

  private final Vertx vertx;
  private final EventBus eventBus;
  private final String streamId;
  private final String consumerId;
  /** The node token this consumer announces; another node's when simulating a remote consumer. */
  private final String nodeToken;
  private final StreamOptions options;
  private final String controlAddress;
  private final BlockingQueue<Incoming> queue;
  /** Messages that overtook an earlier one; touched only by the data handler (one context). */
  private final TreeMap<Long, Incoming> overtaken = new TreeMap<>();
  private final AtomicBoolean pinging = new AtomicBoolean();
  private final AtomicInteger bufferedBatches = new AtomicInteger();
  private MessageConsumer<Object> dataConsumer;
  /** Set when a producer in this Vert.x instance linked itself here; then credit and cancel go through it. */
  private volatile ActivationStreamProducer.LocalLink localLink;
  private long expectedIndex;
  private volatile int maxBuffered;
  private volatile boolean closed;
  private volatile String brokenReason;
  private volatile boolean ended;
  private String failure;
  private ActivationBatch peeked;
  private String hookName;
  private int width;
  private volatile long expectedRows = -1;
  private long batchesRead;

  private ActivationStreamConsumer(Vertx vertx, String streamId, StreamOptions options, boolean asRemote) {
    this.vertx = vertx;
    this.eventBus = vertx.eventBus();
    this.streamId = streamId;
    this.consumerId = UUID.randomUUID().toString();
    this.nodeToken = asRemote ? "simulated-remote-" + consumerId : NodeTokens.of(vertx);
    this.options = new StreamOptions(options);
    this.controlAddress = StreamAddresses.control(streamId);
    // credits data messages, plus end/fail, a producer-gone notice and the close marker.
    this.queue = new ArrayBlockingQueue<>(options.getCredits() + 3);
    this.hookName = options.getHookName();
    this.width = options.getWidth();
  }

  /** Subscribes to {@code streamId} with default options. */
  public static Future<ActivationStreamConsumer> subscribe(Vertx vertx, String streamId) {
    return subscribe(vertx, streamId, new StreamOptions());
  }

  /**
   * Subscribes to stream {@code streamId}: registers this consumer's data address, then asks the
   * producer to send to it, retrying while no producer is registered yet, for up to
   * {@link StreamOptions#getSubscribeTimeout()}.
   *
   * @param options credits (prefetch), timeouts and, when known, the expected hook name and width;
   *     copied
   * @return a future failed with {@link ActivationSourceException} when no producer answered in
   *     time or the stream is already closed, or with {@link IllegalArgumentException} when the
   *     producer declares another hook name or width than {@code options}
   * @throws IllegalArgumentException if streamId is not a valid id
   */
  public static Future<ActivationStreamConsumer> subscribe(Vertx vertx, String streamId, StreamOptions options) {
    return subscribe(vertx, streamId, options, false);
  }

  /**
   * Subscribes as if from another cluster node: announces a node token of its own and offers no
   * direct link, so even a producer in this Vert.x instance uses the event-bus path, with chunking,
   * for this consumer. For tests of that path (and of streams mixing both kinds) without a cluster.
   */
  static Future<ActivationStreamConsumer> subscribeAsRemote(Vertx vertx, String streamId, StreamOptions options) {
    return subscribe(vertx, streamId, options, true);
  }

  private static Future<ActivationStreamConsumer> subscribe(Vertx vertx, String streamId, StreamOptions options,
      boolean asRemote) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(options, "options");
    StreamAddresses.checkId("streamId", streamId);
    ActivationBatchCodec.registerOn(vertx);
    ActivationStreamConsumer consumer = new ActivationStreamConsumer(vertx, streamId, options, asRemote);
    String dataAddress = StreamAddresses.data(streamId, consumer.consumerId);
    consumer.dataConsumer = vertx.eventBus().consumer(dataAddress, consumer::onData);
    if (!asRemote) {
      LocalConsumers.register(dataAddress, consumer.nodeToken, consumer);
    }
    long deadline = System.nanoTime() + options.getSubscribeTimeout().toNanos();
    // The data address must be known cluster-wide before the producer may send to it.
    return consumer.dataConsumer.completion()
        .compose(v -> consumer.requestSubscription(deadline))
        .onComplete(ar -> LocalConsumers.unregister(dataAddress))
        .map(reply -> consumer.adopt(reply.body()))
        .onFailure(err -> consumer.dataConsumer.unregister());
  }

  private Future<Message<JsonObject>> requestSubscription(long deadline) {
    JsonObject body = new JsonObject()
        .put(StreamAddresses.OP, StreamAddresses.OP_SUBSCRIBE)
        .put(StreamAddresses.CONSUMER, consumerId)
        .put(StreamAddresses.NODE, nodeToken)
        .put(StreamAddresses.N, options.getCredits());
    DeliveryOptions opts = new DeliveryOptions().setSendTimeout(options.getLivenessTimeout().toMillis());
    return eventBus.<JsonObject>request(controlAddress, body, opts).recover(err -> {
      boolean retriable = err instanceof ReplyException re && re.failureType() != ReplyFailure.RECIPIENT_FAILURE;
      long left = deadline - System.nanoTime();
      if (retriable && left > 0) {
        long delayMs = Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(left)));
        return vertx.timer(delayMs).compose(t -> requestSubscription(deadline));
      }
      String why = retriable
          ? "no producer of activation stream '" + streamId + "' answered within " + options.getSubscribeTimeout()
          : "activation stream '" + streamId + "' refused the subscription: " + err.getMessage();
      return Future.failedFuture(new ActivationSourceException(why, err));
    });
  }

  private ActivationStreamConsumer adopt(JsonObject declared) {
    String producerHook = declared == null ? null : declared.getString(StreamAddresses.HOOK_NAME);
    Integer producerWidth = declared == null ? null : declared.getInteger(StreamAddresses.WIDTH);
    if (hookName != null && producerHook != null && !hookName.equals(producerHook)) {
      close();
      throw new IllegalArgumentException("subscriber expects hook " + hookName + " but activation stream '"
          + streamId + "' carries " + producerHook);
    }
    if (width > 0 && producerWidth != null && width != producerWidth) {
      close();
      throw new IllegalArgumentException("subscriber expects width " + width + " but activation stream '"
          + streamId + "' carries width " + producerWidth);
    }
    if (hookName == null) {
      hookName = producerHook;
    }
    Long producerRows = declared == null ? null : declared.getLong(StreamAddresses.EXPECTED_ROWS);
    if (producerRows != null && producerRows > 0) {
      expectedRows = producerRows;
    }
    if (width <= 0 && producerWidth != null) {
      width = producerWidth;
    }
    return this;
  }

  /** This consumer's id (the last part of its data address). */
  public String consumerId() {
    return consumerId;
  }

  /** Whether a producer in this Vert.x instance delivers here directly (rather than over the event bus). */
  boolean isLinkedLocally() {
    return localLink != null;
  }

  /** The most batch messages ever buffered here waiting for the reader (never more than the credits). */
  public int maxBuffered() {
    return maxBuffered;
  }

  /** Batches returned by {@link #next()} so far. */
  public synchronized long batchesRead() {
    return batchesRead;
  }

  /**
   * The next batch, waiting for it if needed. A batch that the producer split for the wire is
   * returned whole.
   *
   * @return the next batch, or null at the end of the stream or once closed
   * @throws ActivationSourceException if the producer failed (with its reason), sent more than
   *     its credit or its node stopped answering; thrown again by later calls
   * @throws InterruptedException if the reading thread is interrupted
   */
  @Override
  public synchronized ActivationBatch next() throws InterruptedException {
    if (peeked != null) {
      ActivationBatch b = peeked;
      peeked = null;
      batchesRead++;
      return b;
    }
    ActivationBatch b = read();
    if (b != null) {
      batchesRead++;
    }
    return b;
  }

  private ActivationBatch read() throws InterruptedException {
    if (failure != null) {
      throw new ActivationSourceException(failure);
    }
    if (closed || ended) {
      return null;
    }
    List<Object> parts = null;
    while (true) {
      Incoming in = take();
      switch (in.kind()) {
        case "closed":
          return null;
        case StreamAddresses.KIND_END:
          ended = true;
          if (parts != null) {
            failure = "activation stream '" + streamId + "' ended in the middle of a batch sent in " + in.parts() + " parts";
            throw new ActivationSourceException(failure);
          }
          return null;
        case StreamAddresses.KIND_FAIL:
          failure = in.reason();
          throw new ActivationSourceException(failure);
        default:
          bufferedBatches.decrementAndGet();
          grantCredit();
          if (in.parts() == 1) {
            return merge(List.of(in.batch()));
          }
          if (parts == null) {
            parts = new ArrayList<>(in.parts());
          }
          if (in.part() != parts.size()) {
            failure = "activation stream '" + streamId + "' sent part " + in.part() + " of a batch, expected part " + parts.size();
            throw new ActivationSourceException(failure);
          }
          parts.add(in.batch());
          if (parts.size() == in.parts()) {
            return merge(parts);
          }
      }
    }
  }

  private Incoming take() throws InterruptedException {
    while (true) {
      Incoming in = queue.poll(options.getLivenessInterval().toMillis(), TimeUnit.MILLISECONDS);
      if (closed) {
        return Incoming.CLOSED;
      }
      if (brokenReason != null && (in == null || in == Incoming.CLOSED)) {
        failure = brokenReason;
        throw new ActivationSourceException(failure);
      }
      if (in != null) {
        return in;
      }
      checkProducerAlive();
    }
  }

  private void checkProducerAlive() {
    if (!pinging.compareAndSet(false, true)) {
      return;
    }
    DeliveryOptions opts = new DeliveryOptions().setSendTimeout(options.getLivenessTimeout().toMillis());
    eventBus.request(controlAddress, new JsonObject().put(StreamAddresses.OP, StreamAddresses.OP_PING), opts)
        .onComplete(ar -> {
          pinging.set(false);
          if (ar.failed() && ActivationStreamProducer.isGone(ar.cause())) {
            broken("the producer of activation stream '" + streamId + "' is gone (" + ar.cause().getMessage() + ")");
          }
        });
  }

  private void broken(String reason) {
    if (brokenReason == null) {
      brokenReason = reason;
    }
    // Wake a reader blocked in poll; the reserved queue slot makes room for this.
    queue.offer(new Incoming(StreamAddresses.KIND_FAIL, null, 0, 0, brokenReason));
  }

  private void grantCredit() {
    ActivationStreamProducer.LocalLink link = localLink;
    if (link != null) {
      link.credit(1);
      return;
    }
    eventBus.send(controlAddress, new JsonObject()
        .put(StreamAddresses.OP, StreamAddresses.OP_CREDIT)
        .put(StreamAddresses.CONSUMER, consumerId)
        .put(StreamAddresses.N, 1));
  }

  /**
   * Puts the parts of one batch back together: each part is a decoded batch (sent whole, or
   * delivered locally) or a part still in wire form, which is decoded straight into place.
   */
  private static ActivationBatch merge(List<Object> parts) {
    if (parts.size() == 1 && parts.get(0) instanceof ActivationBatch whole) {
      return whole;
    }
    String modelId = null;
    String hookName = null;
    long sequence = 0;
    int width = 0;
    int rows = 0;
    Boolean labelled = null;
    for (Object p : parts) {
      String m;
      String h;
      long seq;
      int w;
      boolean l;
      if (p instanceof ActivationBatch b) {
        m = b.modelId();
        h = b.hookName();
        seq = b.sequence();
        w = b.width();
        l = b.hasLabels();
        rows += b.rows();
      } else {
        ActivationBatchCodec.Encoded e = (ActivationBatchCodec.Encoded) p;
        m = e.modelId;
        h = e.hookName;
        seq = e.sequence;
        w = e.width;
        l = e.labelled;
        rows += e.rows;
      }
      if (labelled == null) {
        modelId = m;
        hookName = h;
        sequence = seq;
        width = w;
        labelled = l;
      } else if (seq != sequence || w != width || l != labelled || !m.equals(modelId) || !h.equals(hookName)) {
        throw new ActivationSourceException("parts of batch #" + sequence + " disagree: part #" + seq + " of "
            + m + " " + h + " width " + w + (l ? " labelled" : " unlabelled") + " vs " + modelId + " " + hookName
            + " width " + width + (labelled ? " labelled" : " unlabelled"));
      }
    }
    float[] values = new float[Math.multiplyExact(rows, width)];
    int[] tokenIds = new int[rows];
    int[] docIds = new int[rows];
    int[] positions = new int[rows];
    int[] labels = labelled ? new int[rows] : null;
    int at = 0;
    for (Object p : parts) {
      if (p instanceof ActivationBatch b) {
        System.arraycopy(b.values(), 0, values, at * width, b.rows() * width);
        System.arraycopy(b.tokenIds(), 0, tokenIds, at, b.rows());
        System.arraycopy(b.docIds(), 0, docIds, at, b.rows());
        System.arraycopy(b.positions(), 0, positions, at, b.rows());
        if (labels != null) {
          System.arraycopy(b.labels(), 0, labels, at, b.rows());
        }
        at += b.rows();
      } else {
        ActivationBatchCodec.Encoded e = (ActivationBatchCodec.Encoded) p;
        e.decodeInto(values, tokenIds, docIds, positions, labels, at);
        at += e.rows;
      }
    }
    return new ActivationBatch(modelId, hookName, sequence, rows, width, values, tokenIds, docIds, positions, labels);
  }

  /**
   * Called by a producer of this Vert.x instance, under its lock, while it accepts this consumer's
   * subscription: from now on it delivers here directly.
   */
  void attachLocal(ActivationStreamProducer.LocalLink link) {
    localLink = link;
  }

  /** A batch from the directly linked producer; called under its lock, in send order, never blocks. */
  void deliverLocal(ActivationBatch batch) {
    enqueue(new Incoming(StreamAddresses.KIND_BATCH, batch, 0, 1, null));
  }

  /** End of stream (reason null) or failure from the directly linked producer, after its last batch. */
  void finishLocal(String reason) {
    enqueue(reason == null
        ? new Incoming(StreamAddresses.KIND_END, null, 0, 0, null)
        : new Incoming(StreamAddresses.KIND_FAIL, null, 0, 0, "activation stream '" + streamId + "' failed: " + reason));
  }

  /** Data-address handler: runs on this consumer's event loop and never blocks. */
  private void onData(Message<Object> message) {
    MultiMap headers = message.headers();
    String kind = headers.get(StreamAddresses.KIND);
    if (StreamAddresses.KIND_PING.equals(kind)) {
      message.reply(null);
      return;
    }
    long index;
    Incoming in;
    try {
      index = Long.parseLong(headers.get(StreamAddresses.INDEX));
      in = switch (kind) {
        case StreamAddresses.KIND_BATCH -> new Incoming(kind, message.body(),
            Integer.parseInt(headers.get(StreamAddresses.PART)), Integer.parseInt(headers.get(StreamAddresses.PARTS)), null);
        case StreamAddresses.KIND_END -> new Incoming(kind, null, 0, 0, null);
        case StreamAddresses.KIND_FAIL -> new Incoming(kind, null, 0, 0,
            "activation stream '" + streamId + "' failed: " + message.body());
        default -> throw new IllegalArgumentException("unknown message kind '" + kind + "'");
      };
    } catch (RuntimeException e) {
      broken("activation stream '" + streamId + "' sent a malformed message (" + e.getMessage() + ")");
      return;
    }
    if (index != expectedIndex) {
      overtaken.put(index, in);
      if (overtaken.size() > options.getCredits() + 2) {
        broken("activation stream '" + streamId + "' lost message " + expectedIndex);
      }
      return;
    }
    enqueue(in);
    expectedIndex++;
    Incoming next;
    while ((next = overtaken.remove(expectedIndex)) != null) {
      enqueue(next);
      expectedIndex++;
    }
  }

  /**
   * Queues one message for the reader. One writer per consumer: the data handler on its event
   * loop, or, for a directly linked consumer, the producer under its lock; never both.
   */
  private void enqueue(Incoming in) {
    if (closed) {
      return;
    }
    // Batches never exceed the credits granted (the reader grants one per batch it takes); the
    // spare slots are for end/fail, a producer-gone notice and the close marker.
    boolean isBatch = in.kind().equals(StreamAddresses.KIND_BATCH);
    if (isBatch && bufferedBatches.get() >= options.getCredits()) {
      broken("the producer of activation stream '" + streamId + "' sent more than the " + options.getCredits()
          + " messages it had credit for");
      return;
    }
    if (!isBatch) {
      queue.offer(in);
      return;
    }
    int depth = bufferedBatches.incrementAndGet();
    queue.offer(in);
    if (depth > maxBuffered) {
      maxBuffered = depth;
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Known without waiting when the subscriber or the producer declared it; otherwise waits for
   * the first batch.
   *
   * @throws ActivationSourceException if the stream ends or fails before its first batch
   */
  @Override
  public synchronized String hookName() {
    if (hookName == null) {
      hookName = peek().hookName();
    }
    return hookName;
  }

  /**
   * The rows the producer declared it expects to send (a harvest's token limit), or -1 when it
   * declared none. Exact unless the producer's data runs out first.
   */
  @Override
  public long totalRows() {
    return expectedRows;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Known without waiting when the subscriber or the producer declared it; otherwise waits for
   * the first batch.
   *
   * @throws ActivationSourceException if the stream ends or fails before its first batch
   */
  @Override
  public synchronized int width() {
    if (width <= 0) {
      width = peek().width();
    }
    return width;
  }

  private ActivationBatch peek() {
    if (peeked == null) {
      try {
        peeked = read();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ActivationSourceException("interrupted while waiting for the first batch of activation stream '"
            + streamId + "'", e);
      }
      if (peeked == null) {
        throw new ActivationSourceException("activation stream '" + streamId + "' ended before its first batch, "
            + "so its hook name and width are unknown");
      }
    }
    return peeked;
  }

  /**
   * Unsubscribes: tells the producer to stop sending here, so it stops waiting for this
   * consumer, and makes a blocked {@link #next()} return null. Idempotent; callable from any thread.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (!ended) {
      // After end-of-stream the producer has already forgotten this consumer (and may be gone).
      ActivationStreamProducer.LocalLink link = localLink;
      if (link != null) {
        link.cancel();
      } else {
        eventBus.send(controlAddress, new JsonObject()
            .put(StreamAddresses.OP, StreamAddresses.OP_CANCEL)
            .put(StreamAddresses.CONSUMER, consumerId));
      }
    }
    if (dataConsumer != null) {
      dataConsumer.unregister();
    }
    queue.clear();
    queue.offer(Incoming.CLOSED);
  }

  @Override
  public String toString() {
    return "ActivationStreamConsumer[" + streamId + " #" + consumerId + "]";
  }
}
