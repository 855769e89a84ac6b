package dev.loupe.core.session;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Serves one model session on the event bus (addresses in {@link SessionAddresses}): model info
 * and single-prompt runs with top-k next tokens and captured activations, as JSON. Deploy it as
 * a worker verticle: forward passes block. Failures reply {@code fail(400, why)} for bad
 * requests and {@code fail(500, why)} otherwise. The session stays open when the verticle stops
 * unless the verticle was told it owns it.
 */
public final class SessionVerticle extends VerticleBase {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SessionVerticle.class);
  /** Default number of next-token candidates in a run reply. */
  public static final int DEFAULT_TOP_K = 10;

  private final String sessionId;
  private final ModelSession session;
  private final boolean ownsSession;
  private final SessionQueries queries;
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();

  /**
   * @param ownsSession whether stopping the verticle closes the session (when it is AutoCloseable)
   * @throws IllegalArgumentException when the session id cannot be part of an address
   */
  public SessionVerticle(String sessionId, ModelSession session, boolean ownsSession) {
    this(sessionId, session, ownsSession, null);
  }

  /**
   * @param coders where the interactive queries load sparse coders from; null for none
   */
  public SessionVerticle(String sessionId, ModelSession session, boolean ownsSession,
      dev.loupe.core.coder.LoadedCoders coders) {
    SessionAddresses.info(sessionId);
    this.sessionId = sessionId;
    this.session = Objects.requireNonNull(session, "session");
    this.ownsSession = ownsSession;
    this.queries = new SessionQueries(session, coders);
  }

  @Override
  public Future<?> start() {
    consumers.add(vertx.eventBus().<Object>consumer(SessionAddresses.info(sessionId), m -> m.reply(infoJson(session.info()))));
    consumers.add(vertx.eventBus().<Object>consumer(SessionAddresses.run(sessionId), this::handleRun));
    consumers.add(vertx.eventBus().<Object>consumer(SessionAddresses.query(sessionId), this::handleQuery));
    List<Future<Void>> ready = new ArrayList<>();
    for (MessageConsumer<?> c : consumers) {
      ready.add(c.completion());
    }
    return Future.all(ready);
  }

  @Override
  public Future<?> stop() throws Exception {
    List<Future<Void>> done = new ArrayList<>();
    for (MessageConsumer<?> c : consumers) {
      done.add(c.unregister());
    }
    if (ownsSession && session instanceof AutoCloseable) {
      ((AutoCloseable) session).close();
    }
    return Future.all(done);
  }

  /** ModelInfo as JSON, field names as in the record. */
  public static JsonObject infoJson(ModelInfo info) {
    JsonObject widths = new JsonObject();
    info.hookWidths().forEach(widths::put);
    return new JsonObject()
        .put("id", info.id())
        .put("architecture", info.architecture())
        .put("causal", info.causal())
        .put("nLayers", info.nLayers())
        .put("dModel", info.dModel())
        .put("nHeads", info.nHeads())
        .put("dHead", info.dHead())
        .put("dMlp", info.dMlp())
        .put("vocabSize", info.vocabSize())
        .put("maxContext", info.maxContext())
        .put("parameters", info.parameters())
        .put("hookNames", new JsonArray(new ArrayList<>(info.hookNames())))
        .put("hookWidths", widths);
  }

  private void handleRun(Message<Object> message) {
    JsonObject reply;
    try {
      reply = run(message.body());
    } catch (IllegalArgumentException e) {
      message.fail(400, e.getMessage());
      return;
    } catch (RuntimeException e) {
      message.fail(500, "run on session '" + sessionId + "' failed: " + e);
      return;
    }
    message.reply(reply);
  }

  /**
   * One interactive query. A worker verticle handles its messages one at a time, so the session
   * runs one forward pass at a time and requests queue here, not on threads.
   */
  private void handleQuery(Message<Object> message) {
    Buffer reply;
    try {
      if (!(message.body() instanceof JsonObject req)) {
        throw new IllegalArgumentException("a query must be a JSON object {op, ...}");
      }
      JsonObject body = req.copy();
      Object op = body.remove("op");
      JsonObject answer;
      if ("run".equals(op)) {
        answer = queries.run(body);
      } else if ("lens".equals(op)) {
        answer = queries.lens(body);
      } else {
        throw new IllegalArgumentException("'op': expected run or lens, got " + op);
      }
      reply = answer.put("session", sessionId).toBuffer();
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      message.fail(400, e.getMessage());
      return;
    } catch (IllegalStateException e) {
      message.fail(409, e.getMessage()); // e.g. the session was closed meanwhile
      return;
    } catch (RuntimeException e) {
      LOG.error("query on session {} failed", sessionId, e);
      message.fail(500, "query on session '" + sessionId + "' failed (" + e.getClass().getSimpleName()
          + "); see the server log");
      return;
    }
    message.reply(reply);
  }

  private JsonObject run(Object body) {
    if (!(body instanceof JsonObject)) {
      throw new IllegalArgumentException("run request must be a JSON object {text | tokens, hooks, topK}, got "
          + (body == null ? "nothing" : body.getClass().getSimpleName()));
    }
    JsonObject req = (JsonObject) body;
    int[] tokens = tokensOf(req);
    Set<String> hooks = new LinkedHashSet<>();
    Object hooksValue = req.getValue("hooks");
    if (hooksValue != null) {
      if (!(hooksValue instanceof JsonArray)) {
        throw new IllegalArgumentException("run request field 'hooks' must be an array of hook names");
      }
      for (Object h : (JsonArray) hooksValue) {
        if (!(h instanceof String)) {
          throw new IllegalArgumentException("run request field 'hooks' holds " + h + ", expected hook names");
        }
        hooks.add((String) h);
      }
    }
    int topK = DEFAULT_TOP_K;
    Object k = req.getValue("topK");
    if (k != null) {
      if (!(k instanceof Number) || ((Number) k).intValue() < 0 || ((Number) k).doubleValue() % 1 != 0) {
        throw new IllegalArgumentException("run request field 'topK' must be a non-negative integer, got " + k);
      }
      topK = Math.min(((Number) k).intValue(), session.info().vocabSize());
    }
    try (RunResult r = session.run(new int[][] {tokens}, hooks)) {
      JsonArray texts = new JsonArray();
      for (int t : tokens) {
        texts.add(session.tokenText(t));
      }
      NDArray last = r.output().get("0, -1");
      float[] probs = last.softmax(-1).toFloatArray();
      JsonArray top = new JsonArray();
      for (int id : topIndices(probs, topK)) {
        top.add(new JsonObject().put("token", id).put("text", session.tokenText(id)).put("prob", probs[id]));
      }
      JsonObject acts = new JsonObject();
      for (String h : hooks) {
        NDArray a = r.activation(h).get(0);
        acts.put(h, nested(a.toFloatArray(), a.getShape(), 0, 0));
      }
      return new JsonObject().put("tokens", new JsonArray(intList(tokens))).put("tokenTexts", texts)
          .put("topK", top).put("activations", acts);
    }
  }

  private int[] tokensOf(JsonObject req) {
    Object text = req.getValue("text");
    Object toks = req.getValue("tokens");
    if (text != null && toks != null) {
      throw new IllegalArgumentException("run request has both 'text' and 'tokens'; give one");
    }
    if (text != null) {
      if (!(text instanceof String)) {
        throw new IllegalArgumentException("run request field 'text' must be a string");
      }
      int[] t = session.encode((String) text);
      if (t.length == 0) {
        throw new IllegalArgumentException("run request field 'text' encodes to no tokens");
      }
      return t;
    }
    if (!(toks instanceof JsonArray)) {
      throw new IllegalArgumentException("run request needs 'text' (a string) or 'tokens' (an array of token ids)");
    }
    JsonArray arr = (JsonArray) toks;
    int[] t = new int[arr.size()];
    for (int i = 0; i < t.length; i++) {
      Object v = arr.getValue(i);
      if (!(v instanceof Number) || ((Number) v).doubleValue() % 1 != 0) {
        throw new IllegalArgumentException("run request field 'tokens[" + i + "]' is " + v + ", expected an integer id");
      }
      t[i] = ((Number) v).intValue();
    }
    return t;
  }

  private static List<Integer> intList(int[] a) {
    List<Integer> l = new ArrayList<>(a.length);
    for (int v : a) {
      l.add(v);
    }
    return l;
  }

  /** Indices of the k largest values, largest first. */
  static int[] topIndices(float[] v, int k) {
    Integer[] idx = new Integer[v.length];
    for (int i = 0; i < v.length; i++) {
      idx[i] = i;
    }
    java.util.Arrays.sort(idx, (a, b) -> Float.compare(v[b], v[a]));
    int[] out = new int[Math.min(k, v.length)];
    for (int i = 0; i < out.length; i++) {
      out[i] = idx[i];
    }
    return out;
  }

  /** Row-major values as nested arrays of the given shape; non-finite values (masked scores) become null. */
  private static JsonArray nested(float[] values, Shape shape, int axis, int offset) {
    JsonArray out = new JsonArray();
    int n = (int) shape.get(axis);
    if (axis == shape.dimension() - 1) {
      for (int i = 0; i < n; i++) {
        float f = values[offset + i];
        out.add(Float.isFinite(f) ? (Object) (double) f : null);
      }
      return out;
    }
    int stride = (int) (shape.size() / shape.slice(0, axis + 1).size());
    for (int i = 0; i < n; i++) {
      out.add(nested(values, shape, axis + 1, offset + i * stride));
    }
    return out;
  }
}
