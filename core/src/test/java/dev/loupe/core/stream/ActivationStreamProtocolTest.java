package dev.loupe.core.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSourceException;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A consumer driven message by message through the documented wire protocol (see
 * {@link StreamAddresses}), as a producer on another node would drive it.
 */
@Timeout(20)
class ActivationStreamProtocolTest {
  private Vertx vertx;
  private final List<JsonObject> controlMessages = new CopyOnWriteArrayList<>();
  private ActivationStreamConsumer consumer;
  private String dataAddress;

  @BeforeEach
  void subscribeToAHandDrivenProducer() throws Exception {
    vertx = Vertx.vertx();
    ActivationBatchCodec.registerOn(vertx);
    MessageConsumer<JsonObject> control = vertx.eventBus().consumer(StreamAddresses.control("manual"), m -> {
      controlMessages.add(m.body());
      String op = m.body().getString(StreamAddresses.OP);
      if (StreamAddresses.OP_SUBSCRIBE.equals(op) || StreamAddresses.OP_PING.equals(op)) {
        m.reply(new JsonObject());
      }
    });
    control.completion().await(10, TimeUnit.SECONDS);
    consumer = ActivationStreamConsumer.subscribe(vertx, "manual", new StreamOptions().setCredits(4))
        .await(10, TimeUnit.SECONDS);
    dataAddress = StreamAddresses.data("manual", consumer.consumerId());
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void send(long index, String kind, Object body, int part, int parts) {
    DeliveryOptions opts = new DeliveryOptions().addHeader(StreamAddresses.KIND, kind)
        .addHeader(StreamAddresses.INDEX, Long.toString(index));
    if (kind.equals(StreamAddresses.KIND_BATCH)) {
      opts.addHeader(StreamAddresses.PART, Integer.toString(part)).addHeader(StreamAddresses.PARTS, Integer.toString(parts));
    }
    vertx.eventBus().send(dataAddress, body, opts);
  }

  @Test
  void subscriptionAnnouncesTheCreditsAndTheConsumer() {
    JsonObject subscribe = controlMessages.get(0);

    assertThat(subscribe.getString(StreamAddresses.OP)).isEqualTo(StreamAddresses.OP_SUBSCRIBE);
    assertThat(subscribe.getInteger(StreamAddresses.N)).isEqualTo(4);
    assertThat(subscribe.getString(StreamAddresses.CONSUMER)).isEqualTo(consumer.consumerId());
  }

  @Test
  void partsOfABatchAreReassembledAndEachTakenPartGrantsOneCredit() throws Exception {
    ActivationBatch batch = SyntheticActivations.batch(11, 9, 30, 17);
    send(0, StreamAddresses.KIND_BATCH, new BatchRows(batch, 0, 12), 0, 3);
    send(1, StreamAddresses.KIND_BATCH, new BatchRows(batch, 12, 25), 1, 3);
    send(2, StreamAddresses.KIND_BATCH, new BatchRows(batch, 25, 30), 2, 3);
    send(3, StreamAddresses.KIND_END, null, 0, 0);

    ActivationBatch whole = consumer.next();

    assertThat(whole.sequence()).isEqualTo(9);
    assertThat(whole.values()).isEqualTo(batch.values());
    assertThat(whole.tokenIds()).isEqualTo(batch.tokenIds());
    assertThat(whole.labels()).isEqualTo(batch.labels());
    assertThat(consumer.next()).isNull();
    // Answered after the credits this thread sent before it were handled.
    vertx.eventBus().request(StreamAddresses.control("manual"), new JsonObject().put(StreamAddresses.OP, StreamAddresses.OP_PING))
        .await(10, TimeUnit.SECONDS);
    assertThat(controlMessages).filteredOn(m -> StreamAddresses.OP_CREDIT.equals(m.getString(StreamAddresses.OP)))
        .hasSize(3);
  }

  @Test
  void messagesThatOvertakeEachOtherAreReadInSendOrder() throws Exception {
    send(2, StreamAddresses.KIND_END, null, 0, 0);
    send(1, StreamAddresses.KIND_BATCH, SyntheticActivations.batch(1, 1, 2, 2), 0, 1);
    send(0, StreamAddresses.KIND_BATCH, SyntheticActivations.batch(1, 0, 2, 2), 0, 1);

    assertThat(consumer.next().sequence()).isZero();
    assertThat(consumer.next().sequence()).isEqualTo(1);
    assertThat(consumer.next()).isNull();
  }

  @Test
  void producerSendingBeyondItsCreditBreaksTheStream() throws Exception {
    for (int i = 0; i < 5; i++) {
      send(i, StreamAddresses.KIND_BATCH, SyntheticActivations.batch(1, i, 2, 2), 0, 1);
    }
    // A liveness ping is answered after the messages before it were handled: all five have arrived.
    vertx.eventBus().request(dataAddress, null, new DeliveryOptions().addHeader(StreamAddresses.KIND, StreamAddresses.KIND_PING))
        .await(10, TimeUnit.SECONDS);

    assertThatThrownBy(() -> {
      while (consumer.next() != null) {
        // drain until the violation surfaces
      }
    }).isInstanceOf(ActivationSourceException.class).hasMessageContaining("more than the 4 messages");
  }
}
