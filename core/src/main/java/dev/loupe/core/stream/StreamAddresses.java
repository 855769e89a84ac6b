package dev.loupe.core.stream;

import java.util.regex.Pattern;

/**
 * The event-bus addresses and message vocabulary of an activation stream, shared by producers and
 * consumers on any node of a cluster.
 *
 * <p>Per stream {@code <id>} there are two kinds of address:
 * <ul>
 *   <li>{@code loupe.stream.<id>.control}: the producer listens here. Consumers send JSON objects
 *       with an {@value #OP} field: {@value #OP_SUBSCRIBE} (request/reply; carries the consumer id,
 *       its node token and its initial credits), {@value #OP_CREDIT} (plain send; {@value #N} more
 *       messages may be sent), {@value #OP_CANCEL} (plain send; forget this consumer) and
 *       {@value #OP_PING} (request/reply; is the producer still there?).</li>
 *   <li>{@code loupe.stream.<id>.to.<consumerId>}: one consumer listens here. The producer sends
 *       messages whose {@value #KIND} header is {@value #KIND_BATCH} (body: an
 *       {@code ActivationBatch}, one chunk of a batch when {@value #PARTS} &gt; 1),
 *       {@value #KIND_END} (no body), {@value #KIND_FAIL} (body: the reason) or
 *       {@value #KIND_PING} (request/reply liveness check, never queued). Every message except pings
 *       carries a per-consumer running number in {@value #INDEX} so that the consumer restores send
 *       order whatever path a message took.</li>
 * </ul>
 * Only batch messages use credit; end, fail and ping messages are small and always sent.
 *
 * <p>In-process shortcut: when the subscribe message's {@value #NODE} token is the producer's own
 * and the consumer is registered in {@link LocalConsumers} for the duration of its handshake, the
 * producer links to the consumer object instead of using the data address for batches, end and
 * fail (it puts them straight into the consumer's queue), and the consumer returns credit and
 * cancels by direct calls instead of {@value #OP_CREDIT} and {@value #OP_CANCEL} messages. The
 * subscribe handshake and its reply, pings in both directions and everything sent to or from
 * another node stay as described above, so producers and consumers that only speak the
 * messages interoperate with both.
 */
public final class StreamAddresses {

  /** Prefix of every stream address. */
  public static final String PREFIX = "loupe.stream.";

  public static final String OP = "op";
  public static final String OP_SUBSCRIBE = "subscribe";
  public static final String OP_CREDIT = "credit";
  public static final String OP_CANCEL = "cancel";
  public static final String OP_PING = "ping";
  public static final String CONSUMER = "consumer";
  public static final String NODE = "node";
  public static final String N = "n";

  /** Fields of the subscribe reply: what the producer declared about the stream (absent when unknown). */
  public static final String HOOK_NAME = "hookName";
  public static final String WIDTH = "width";
  /** Subscribe reply field: rows the producer expects to send in all (absent when unknown). */
  public static final String EXPECTED_ROWS = "expectedRows";

  public static final String KIND = "loupe-kind";
  public static final String KIND_BATCH = "batch";
  public static final String KIND_END = "end";
  public static final String KIND_FAIL = "fail";
  public static final String KIND_PING = "ping";
  public static final String INDEX = "loupe-index";
  public static final String PART = "loupe-part";
  public static final String PARTS = "loupe-parts";

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9_\\-]+(\\.[A-Za-z0-9_\\-]+)*");

  private StreamAddresses() {
  }

  /** Where the producer of stream {@code streamId} listens for subscribe, credit, cancel and ping. */
  public static String control(String streamId) {
    return PREFIX + checkId("streamId", streamId) + ".control";
  }

  /** Where consumer {@code consumerId} of stream {@code streamId} receives batches and end/fail signals. */
  public static String data(String streamId, String consumerId) {
    return PREFIX + checkId("streamId", streamId) + ".to." + checkId("consumerId", consumerId);
  }

  /**
   * Checks that an id can be part of an address.
   *
   * @throws IllegalArgumentException naming the field when the id is null, empty or holds
   *     characters other than letters, digits, '_', '-' and single dots between them
   */
  public static String checkId(String field, String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException(field + " must be letters, digits, '_' or '-' (dot-separated parts allowed), got "
          + (id == null ? "null" : "'" + id + "'"));
    }
    return id;
  }
}
