package dev.loupe.core.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSourceException;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Credit-based streams on one (non-clustered) Vert.x instance. */
@Timeout(30)
class ActivationStreamTest {
  private static final long SEED = 42;
  private static final int ROWS = 64;
  private static final int WIDTH = 48;

  private Vertx vertx;
  private ExecutorService threads;
  private final AtomicInteger streamNo = new AtomicInteger();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    threads = Executors.newCachedThreadPool();
  }

  @AfterEach
  void stop() throws Exception {
    threads.shutdownNow();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private String newStreamId() {
    return "test-" + streamNo.incrementAndGet();
  }

  private static StreamOptions credits(int n) {
    return new StreamOptions().setCredits(n);
  }

  /** Feeds batches 0..count-1 into the producer from a worker thread, then closes it. */
  private Future<Void> produce(ActivationStreamProducer producer, int consumers, int count) {
    return threads.submit(() -> {
      assertThat(producer.awaitConsumers(consumers, Duration.ofSeconds(10))).isTrue();
      for (int seq = 0; seq < count; seq++) {
        producer.accept(SyntheticActivations.batch(SEED, seq, ROWS, WIDTH));
      }
      producer.close();
      return null;
    });
  }

  /** Reads a source to its end, checking every batch bit-exactly, and returns the sequence numbers seen. */
  private Callable<List<Long>> reader(ActivationStreamConsumer consumer, Runnable afterEachBatch) {
    return () -> {
      List<Long> seen = new ArrayList<>();
      ActivationBatch b;
      while ((b = consumer.next()) != null) {
        ActivationBatch expected = SyntheticActivations.batch(SEED, b.sequence(), ROWS, WIDTH);
        assertThat(Arrays.equals(b.values(), expected.values())).as("values of batch #%d", b.sequence()).isTrue();
        assertThat(b.tokenIds()).isEqualTo(expected.tokenIds());
        assertThat(b.labels()).isEqualTo(expected.labels());
        seen.add(b.sequence());
        afterEachBatch.run();
      }
      return seen;
    };
  }

  private ActivationStreamConsumer subscribe(String id, StreamOptions options) throws Exception {
    return ActivationStreamConsumer.subscribe(vertx, id, options).await(10, TimeUnit.SECONDS);
  }

  private static List<Long> sequences(int count) {
    return LongStream.range(0, count).boxed().toList();
  }

  @Test
  void fourConsumersEachReceiveEveryBatchOnceInOrderWithBoundedBuffers() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
    List<ActivationStreamConsumer> consumers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      consumers.add(subscribe(id, credits(3)));
    }
    List<Future<List<Long>>> reads = new ArrayList<>();
    for (ActivationStreamConsumer c : consumers) {
      reads.add(threads.submit(reader(c, () -> { })));
    }

    produce(producer, 4, 300).get();

    for (Future<List<Long>> read : reads) {
      assertThat(read.get()).isEqualTo(sequences(300));
    }
    for (ActivationStreamConsumer c : consumers) {
      assertThat(c.maxBuffered()).isBetween(1, 3);
    }
    assertThat(producer.stats().maxInFlight()).isLessThanOrEqualTo(4 * 3);
    assertThat(producer.stats().acceptedBatches()).isEqualTo(300);
  }

  @Test
  void localConsumersAreLinkedDirectlyAndExchangeNoEventBusMessagesPerBatch() throws Exception {
    String id = newStreamId();
    List<String> perBatchMessages = new CopyOnWriteArrayList<>();
    vertx.eventBus().addOutboundInterceptor(ctx -> {
      Object body = ctx.message().body();
      boolean credit = body instanceof JsonObject json && StreamAddresses.OP_CREDIT.equals(json.getString(StreamAddresses.OP));
      if (credit || ctx.message().address().startsWith(StreamAddresses.PREFIX + id + ".to.")) {
        perBatchMessages.add(ctx.message().address());
      }
      ctx.next();
    });
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer a = subscribe(id, credits(2));
    ActivationStreamConsumer b = subscribe(id, credits(2));
    Future<List<Long>> readA = threads.submit(reader(a, () -> { }));
    Future<List<Long>> readB = threads.submit(reader(b, () -> { }));

    produce(producer, 2, 50).get();

    assertThat(readA.get()).isEqualTo(sequences(50));
    assertThat(readB.get()).isEqualTo(sequences(50));
    assertThat(perBatchMessages).as("batch, end and credit messages on the event bus").isEmpty();
    assertThat(a.isLinkedLocally()).isTrue();
    assertThat(b.isLinkedLocally()).isTrue();
  }

  @Test
  void localAndRemoteConsumersOfOneStreamEachReceiveEveryBatchInOrder() throws Exception {
    String id = newStreamId();
    // Small chunks: the remote consumer gets every batch in 4 row slices and reassembles it.
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id, new StreamOptions().setMaxChunkBytes(4096))
        .await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer local1 = subscribe(id, credits(3));
    ActivationStreamConsumer remote = ActivationStreamConsumer.subscribeAsRemote(vertx, id, credits(3))
        .await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer local2 = subscribe(id, credits(3));
    List<Future<List<Long>>> reads = new ArrayList<>();
    for (ActivationStreamConsumer c : List.of(local1, remote, local2)) {
      reads.add(threads.submit(reader(c, () -> { })));
    }

    produce(producer, 3, 120).get();

    for (Future<List<Long>> read : reads) {
      assertThat(read.get()).isEqualTo(sequences(120));
    }
    assertThat(local1.isLinkedLocally()).isTrue();
    assertThat(local2.isLinkedLocally()).isTrue();
    assertThat(remote.isLinkedLocally()).isFalse();
    assertThat(remote.maxBuffered()).isBetween(1, 3);
    assertThat(local1.maxBuffered()).isBetween(1, 3);
  }

  @Test
  void producerFailureReachesLocalAndRemoteReadersAfterTheBatchesSentBefore() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id, new StreamOptions().setMaxChunkBytes(4096))
        .await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer local = subscribe(id, credits(8));
    ActivationStreamConsumer remote = ActivationStreamConsumer.subscribeAsRemote(vertx, id, credits(8))
        .await(10, TimeUnit.SECONDS);
    threads.submit(() -> {
      // 3 batches of 4 parts need 12 messages, more than the remote's 8 credits: its reader goes first below.
      for (int seq = 0; seq < 3; seq++) {
        producer.accept(SyntheticActivations.batch(SEED, seq, ROWS, WIDTH));
      }
      producer.fail("tokenizer rejected document 17");
      return null;
    });

    for (ActivationStreamConsumer c : List.of(remote, local)) {
      for (int seq = 0; seq < 3; seq++) {
        assertThat(c.next().sequence()).isEqualTo(seq);
      }
      assertThatThrownBy(c::next)
          .isInstanceOf(ActivationSourceException.class)
          .hasMessageContaining(id)
          .hasMessageContaining("tokenizer rejected document 17");
    }
  }

  @Test
  void cancelledLocalConsumerIsDroppedWhileARemoteOneCarriesOn() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer quitter = subscribe(id, credits(2));
    ActivationStreamConsumer remote = ActivationStreamConsumer.subscribeAsRemote(vertx, id, credits(2))
        .await(10, TimeUnit.SECONDS);
    Future<List<Long>> readRemote = threads.submit(reader(remote, () -> { }));
    Future<List<Long>> readQuitter = threads.submit(() -> {
      List<Long> seen = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        seen.add(quitter.next().sequence());
      }
      quitter.close();
      return seen;
    });

    produce(producer, 2, 60).get();

    assertThat(quitter.isLinkedLocally()).isTrue();
    assertThat(readQuitter.get()).isEqualTo(sequences(5));
    assertThat(quitter.next()).isNull();
    assertThat(readRemote.get()).isEqualTo(sequences(60));
    assertThat(producer.stats().subscribers()).isZero();
  }

  @Test
  void slowConsumerPacesTheProducerInsteadOfLosingData() throws Exception {
    String id = newStreamId();
    int credits = 2;
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer fast = subscribe(id, credits(credits));
    ActivationStreamConsumer slow = subscribe(id, credits(credits));
    AtomicInteger maxLead = new AtomicInteger();
    Future<List<Long>> fastRead = threads.submit(reader(fast, () -> { }));
    Future<List<Long>> slowRead = threads.submit(reader(slow, () -> {
      // How far the producer got beyond what this reader has finished with.
      long lead = producer.stats().acceptedBatches() - slow.batchesRead();
      maxLead.accumulateAndGet((int) lead, Math::max);
      try {
        Thread.sleep(10); // stands for a reader doing 10 ms of work per batch
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    long t0 = System.nanoTime();

    produce(producer, 2, 40).get();

    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertThat(slowRead.get()).isEqualTo(sequences(40));
    assertThat(fastRead.get()).isEqualTo(sequences(40));
    // The producer could only run `credits` batches (+1 being taken) ahead of the slow reader ...
    assertThat(maxLead.get()).isLessThanOrEqualTo(credits + 1);
    // ... so producing took about as long as the slow reader needed, most of it waiting for credit.
    assertThat(elapsedMs).isGreaterThanOrEqualTo((40 - credits - 1) * 10L);
    assertThat(TimeUnit.NANOSECONDS.toMillis(producer.stats().waitNanos())).isGreaterThan((40 - credits - 1) * 10L / 2);
  }

  @Test
  void cancelledConsumerIsDroppedAndTheOthersComplete() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer quitter = subscribe(id, credits(2));
    ActivationStreamConsumer a = subscribe(id, credits(2));
    ActivationStreamConsumer b = subscribe(id, credits(2));
    Future<List<Long>> readA = threads.submit(reader(a, () -> { }));
    Future<List<Long>> readB = threads.submit(reader(b, () -> { }));
    Future<List<Long>> readQuitter = threads.submit(() -> {
      List<Long> seen = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        seen.add(quitter.next().sequence());
      }
      quitter.close();
      return seen;
    });

    produce(producer, 3, 100).get();

    assertThat(readQuitter.get()).isEqualTo(sequences(5));
    assertThat(quitter.next()).isNull();
    assertThat(readA.get()).isEqualTo(sequences(100));
    assertThat(readB.get()).isEqualTo(sequences(100));
    assertThat(producer.stats().subscribers()).isZero();
  }

  @Test
  void producerFailureReachesTheReaderWithTheReasonAfterTheBatchesSentBefore() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer consumer = subscribe(id, credits(8));
    threads.submit(() -> {
      for (int seq = 0; seq < 3; seq++) {
        producer.accept(SyntheticActivations.batch(SEED, seq, ROWS, WIDTH));
      }
      producer.fail("model session crashed: CUDA out of memory");
      return null;
    }).get();

    for (int seq = 0; seq < 3; seq++) {
      assertThat(consumer.next().sequence()).isEqualTo(seq);
    }
    assertThatThrownBy(consumer::next)
        .isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining(id)
        .hasMessageContaining("model session crashed: CUDA out of memory");
    assertThatThrownBy(() -> producer.accept(SyntheticActivations.batch(SEED, 3, ROWS, WIDTH)))
        .isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining("failed");
  }

  @Test
  void consumerMaySubscribeBeforeTheProducerExists() throws Exception {
    String id = newStreamId();
    io.vertx.core.Future<ActivationStreamConsumer> pending = ActivationStreamConsumer.subscribe(vertx, id, credits(4));
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer consumer = pending.await(10, TimeUnit.SECONDS);
    Future<List<Long>> read = threads.submit(reader(consumer, () -> { }));

    produce(producer, 1, 10).get();

    assertThat(read.get()).isEqualTo(sequences(10));
  }

  @Test
  void subscribingWithoutAProducerFailsAfterTheTimeoutNamingTheStream() {
    StreamOptions options = new StreamOptions().setSubscribeTimeout(Duration.ofMillis(300));

    assertThatThrownBy(() -> ActivationStreamConsumer.subscribe(vertx, "nobody-here", options).await(10, TimeUnit.SECONDS))
        .isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining("nobody-here");
  }

  @Test
  void hookNameAndWidthComeFromTheProducersDeclaration() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer.create(vertx, id, new StreamOptions().setHookName("blocks.3.hook_resid_post").setWidth(768))
        .await(10, TimeUnit.SECONDS);

    ActivationStreamConsumer consumer = subscribe(id, credits(2));

    assertThat(consumer.hookName()).isEqualTo("blocks.3.hook_resid_post");
    assertThat(consumer.width()).isEqualTo(768);
    assertThat(consumer.totalRows()).as("no expected rows declared").isEqualTo(-1);
  }

  @Test
  void expectedRowsDeclaredByTheProducerAreTheConsumersTotal() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer.create(vertx, id, new StreamOptions().setExpectedRows(123_456))
        .await(10, TimeUnit.SECONDS);

    ActivationStreamConsumer consumer = subscribe(id, credits(2));

    assertThat(consumer.totalRows()).isEqualTo(123_456);
  }

  @Test
  void subscriberExpectingAnotherHookIsRefused() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer.create(vertx, id, new StreamOptions().setHookName("blocks.3.hook_resid_post"))
        .await(10, TimeUnit.SECONDS);

    assertThatThrownBy(() -> subscribe(id, new StreamOptions().setHookName("blocks.4.hook_resid_post")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("blocks.4.hook_resid_post")
        .hasMessageContaining("blocks.3.hook_resid_post");
  }

  @Test
  void secondProducerForTheSameStreamIsRefused() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);

    assertThatThrownBy(() -> ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already has a producer");
  }

  @Test
  void acceptOnAnEventLoopIsRefused() throws Exception {
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, newStreamId()).await(10, TimeUnit.SECONDS);

    Throwable error = vertx.executeBlocking(() -> null).compose(v -> {
      try {
        producer.accept(SyntheticActivations.batch(SEED, 0, ROWS, WIDTH));
        return io.vertx.core.Future.succeededFuture((Throwable) null);
      } catch (Exception e) {
        return io.vertx.core.Future.succeededFuture((Throwable) e);
      }
    }).await(10, TimeUnit.SECONDS);

    assertThat(error).isInstanceOf(IllegalStateException.class).hasMessageContaining("event loop");
  }

  @Test
  void consumerReadsTheHookNameFromTheFirstBatchWhenNobodyDeclaredIt() throws Exception {
    String id = newStreamId();
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id).await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer consumer = subscribe(id, credits(2));
    produce(producer, 1, 2);

    assertThat(consumer.width()).isEqualTo(WIDTH);
    assertThat(consumer.hookName()).isEqualTo(SyntheticActivations.HOOK_NAME);
    assertThat(consumer.next().sequence()).isZero();
    assertThat(consumer.next().sequence()).isEqualTo(1);
    assertThat(consumer.next()).isNull();
  }

  @Test
  void producerStopsWaitingForAConsumerThatVanishedWithoutCancelling() throws Exception {
    String id = newStreamId();
    StreamOptions quickChecks = new StreamOptions().setLivenessInterval(Duration.ofMillis(100))
        .setLivenessTimeout(Duration.ofSeconds(2));
    ActivationStreamProducer producer = ActivationStreamProducer.create(vertx, id, quickChecks).await(10, TimeUnit.SECONDS);
    // A subscriber whose process died: subscribed with one credit, but nothing listens at its data address.
    vertx.eventBus().request(StreamAddresses.control(id), new io.vertx.core.json.JsonObject()
        .put(StreamAddresses.OP, StreamAddresses.OP_SUBSCRIBE).put(StreamAddresses.CONSUMER, "ghost")
        .put(StreamAddresses.NODE, "elsewhere").put(StreamAddresses.N, 1)).await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer alive = subscribe(id, credits(2));
    Future<List<Long>> read = threads.submit(reader(alive, () -> { }));

    produce(producer, 2, 6).get();

    assertThat(read.get()).isEqualTo(sequences(6));
    assertThat(producer.stats().acceptedBatches()).isEqualTo(6);
  }

  @Test
  void readerLearnsThatTheProducerIsGoneInsteadOfWaitingForever() throws Exception {
    String id = newStreamId();
    // A producer that answers the subscription and then disappears without ending the stream.
    io.vertx.core.eventbus.MessageConsumer<io.vertx.core.json.JsonObject> fake = vertx.eventBus()
        .consumer(StreamAddresses.control(id), m -> m.reply(new io.vertx.core.json.JsonObject()));
    fake.completion().await(10, TimeUnit.SECONDS);
    ActivationStreamConsumer consumer = subscribe(id, credits(2).setLivenessInterval(Duration.ofMillis(100)));
    fake.unregister().await(10, TimeUnit.SECONDS);

    assertThatThrownBy(consumer::next)
        .isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining(id)
        .hasMessageContaining("gone");
  }
}
