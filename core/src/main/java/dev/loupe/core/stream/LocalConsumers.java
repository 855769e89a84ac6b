package dev.loupe.core.stream;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The consumers of this JVM that are in the middle of subscribing, by data address, so that a
 * producer in the same Vert.x instance can find the consumer object behind a subscribe message
 * and deliver to it directly instead of over the event bus.
 *
 * <p>An entry lives only while the subscribe handshake runs: the producer looks it up while it
 * handles the subscribe message and links itself to the consumer ({@code attachLocal}), and the
 * consumer removes the entry once its subscription completed or failed. Consumer ids are random
 * UUIDs, so an address names one consumer in the whole JVM; the node token stored with it keeps a
 * producer from linking to a consumer of another Vert.x instance of the same JVM (another cluster
 * node, as far as the stream protocol is concerned).
 */
final class LocalConsumers {
  private record Entry(String nodeToken, ActivationStreamConsumer consumer) {
  }

  private static final Map<String, Entry> SUBSCRIBING = new ConcurrentHashMap<>();

  private LocalConsumers() {
  }

  /** Makes {@code consumer} findable by producers of {@code nodeToken} for the duration of its subscribe handshake. */
  static void register(String dataAddress, String nodeToken, ActivationStreamConsumer consumer) {
    SUBSCRIBING.put(dataAddress, new Entry(nodeToken, consumer));
  }

  /** Ends the handshake window of the consumer at {@code dataAddress}. */
  static void unregister(String dataAddress) {
    SUBSCRIBING.remove(dataAddress);
  }

  /** The consumer subscribing at {@code dataAddress} from the Vert.x instance with {@code nodeToken}, or null. */
  static ActivationStreamConsumer find(String dataAddress, String nodeToken) {
    Entry e = SUBSCRIBING.get(dataAddress);
    return e != null && e.nodeToken().equals(nodeToken) ? e.consumer() : null;
  }
}
