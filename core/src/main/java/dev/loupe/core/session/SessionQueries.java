package dev.loupe.core.session;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.core.coder.LoadedCoders;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import dev.loupe.sdk.sparse.SparseCoder;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Supplier;

/**
 * The interactive questions a user asks a model session, as JSON in and JSON out: run a prompt
 * (tokens, top next tokens at every position, activations at chosen hooks: whole, selected
 * neurons, or a sparse coder's latents per token; with interventions: set a neuron, steer along a
 * coder latent's decoder direction) and the logit lens (every layer's residual stream decoded by
 * the final norm and the unembedding). Request errors are {@link IllegalArgumentException}s naming
 * the field ({@code hooks[1].neurons[0]}). Blocking (forward passes): call it from a worker.
 *
 * <p>Coder references here are already resolved by the caller to {@code {"dir": ABSOLUTE, "id":
 * NAME}}: the HTTP layer checks them against the run directory, so this class never takes a
 * file name from a user.
 */
public final class SessionQueries {
  /** Largest number of activation values one answer may carry. */
  public static final int MAX_VALUES = 1 << 20;
  /** Largest top-N of next tokens or latents per position. */
  public static final int MAX_TOP = 100;
  /** Default number of top next tokens per position. */
  public static final int DEFAULT_TOP = 10;
  /** Default number of top tokens per position and layer in the logit lens. */
  public static final int DEFAULT_LENS_TOP = 5;

  private static final List<String> RUN_KEYS = List.of("text", "tokens", "top", "hooks", "interventions");
  private static final List<String> LENS_KEYS = List.of("text", "tokens", "top", "layers");
  private static final List<String> HOOK_KEYS = List.of("hook", "neurons", "coder", "top", "latents");

  private final ModelSession session;
  private final LoadedCoders coders;

  /**
   * @param coders where coders are loaded from; null when this node serves none (a request naming
   *     a coder is refused)
   */
  public SessionQueries(ModelSession session, LoadedCoders coders) {
    this.session = session;
    this.coders = coders;
  }

  // ---- run ----

  /** What to read at one hook. */
  private record HookRequest(String field, String hook, int[] neurons, JsonObject coder, int top, int[] latents) {
  }

  /**
   * Runs one prompt. Request: {@code text} or {@code tokens}; {@code top} (next tokens per
   * position, default 10, 0 for none); {@code hooks}: hook names or {@code {hook, neurons}} /
   * {@code {hook, coder, top, latents}}; {@code interventions}: {@code {hook, index, value,
   * positions}} or {@code {coder, latent, scale, hook, positions}}. See docs/API.md.
   *
   * @throws IllegalArgumentException naming the field on a bad request
   */
  public JsonObject run(JsonObject req) {
    checkKeys(req, "", RUN_KEYS);
    ModelInfo info = session.info();
    int[] tokens = tokens(req);
    int top = intIn(req, "top", DEFAULT_TOP, 0, MAX_TOP);
    List<HookRequest> hooks = hookRequests(req.getValue("hooks"), info);
    List<JsonObject> interventions = list(req.getValue("interventions"), "interventions");
    List<LoadedCoders.Lease> leases = new ArrayList<>();
    try (Trace t = session.trace(new int[][] {tokens})) {
      JsonArray applied = new JsonArray();
      for (int i = 0; i < interventions.size(); i++) {
        applied.add(intervene(t, interventions.get(i), "interventions[" + i + "]", tokens.length, info, leases));
      }
      Map<String, Supplier<NDArray>> saved = new LinkedHashMap<>();
      for (HookRequest h : hooks) {
        saved.computeIfAbsent(h.hook(), t::save);
      }
      RunResult r = t.run();
      JsonObject out = new JsonObject().put("model", info.id()).put("causal", info.causal())
          .put("tokens", tokenList(tokens));
      out.put("top", info.causal() && top > 0 ? topNext(r.output(), top) : null);
      long budget = MAX_VALUES;
      JsonArray acts = new JsonArray();
      for (HookRequest h : hooks) {
        NDArray a = saved.get(h.hook()).get().get(0); // drop the batch axis
        JsonObject one = h.coder() != null ? latents(h, a, leases) : values(h, a);
        budget -= one.getLong("count");
        if (budget < 0) {
          throw new IllegalArgumentException("'" + h.field() + "': the answer would hold more than " + MAX_VALUES
              + " activation values; select neurons, use fewer hooks or a shorter prompt");
        }
        one.remove("count");
        acts.add(one);
      }
      out.put("activations", acts);
      out.put("interventions", applied);
      return out;
    } finally {
      leases.forEach(LoadedCoders.Lease::close);
    }
  }

  private List<HookRequest> hookRequests(Object value, ModelInfo info) {
    List<HookRequest> out = new ArrayList<>();
    if (value == null) {
      return out;
    }
    if (!(value instanceof JsonArray arr)) {
      throw new IllegalArgumentException("'hooks': expected an array of hook names or {hook, neurons | coder}");
    }
    for (int i = 0; i < arr.size(); i++) {
      String f = "hooks[" + i + "]";
      Object v = arr.getValue(i);
      if (v instanceof String s) {
        out.add(new HookRequest(f, hook(f, s, info), null, null, 0, null));
        continue;
      }
      if (!(v instanceof JsonObject o)) {
        throw new IllegalArgumentException("'" + f + "': expected a hook name or an object {hook, neurons | coder}");
      }
      checkKeys(o, f + ".", HOOK_KEYS);
      if (!(o.getValue("hook") instanceof String name)) {
        throw new IllegalArgumentException("'" + f + ".hook': required, a hook name such as "
            + HookPoint.residPost(0));
      }
      String hook = hook(f + ".hook", name, info);
      if (o.getValue("neurons") != null && o.getValue("coder") != null) {
        throw new IllegalArgumentException("'" + f + "': give neurons or coder, not both");
      }
      int[] neurons = null;
      if (o.getValue("neurons") != null) {
        int width = info.hookWidth(hook);
        if (width < 0) {
          throw new IllegalArgumentException("'" + f + ".neurons': " + hook + " has no fixed width to select from");
        }
        neurons = intArray(o.getValue("neurons"), f + ".neurons", 0, width - 1);
        if (neurons.length == 0) {
          throw new IllegalArgumentException("'" + f + ".neurons': empty; list neuron indexes in [0, " + width + ")");
        }
      }
      JsonObject coder = null;
      int top = 0;
      int[] latents = null;
      if (o.getValue("coder") != null) {
        coder = resolvedCoder(o.getValue("coder"), f + ".coder");
        top = intIn(o, "top", f + ".top", DEFAULT_TOP, 0, MAX_TOP);
        latents = o.getValue("latents") == null ? new int[0]
            : intArray(o.getValue("latents"), f + ".latents", 0, Integer.MAX_VALUE);
      } else if (o.getValue("top") != null || o.getValue("latents") != null) {
        throw new IllegalArgumentException("'" + f + "': top and latents apply with a coder");
      }
      out.add(new HookRequest(f, hook, neurons, coder, top, latents));
    }
    return out;
  }

  /** The activation as nested arrays (whole, or the selected neurons of the last axis). */
  private static JsonObject values(HookRequest h, NDArray a) {
    Shape shape = a.getShape();
    float[] v = a.toType(DataType.FLOAT32, false).toFloatArray();
    JsonObject out = new JsonObject().put("hook", h.hook());
    if (h.neurons() == null) {
      out.put("shape", shapeList(shape)).put("values", nested(v, shape, 0, 0)).put("count", (long) v.length);
      return out;
    }
    int w = (int) shape.get(shape.dimension() - 1);
    int rows = v.length / w;
    int[] n = h.neurons();
    float[] picked = new float[rows * n.length];
    for (int r = 0; r < rows; r++) {
      for (int k = 0; k < n.length; k++) {
        picked[r * n.length + k] = v[r * w + n[k]];
      }
    }
    Shape s = shape.slice(0, shape.dimension() - 1).add(n.length);
    return out.put("neurons", ints(n)).put("shape", shapeList(s)).put("values", nested(picked, s, 0, 0))
        .put("count", (long) picked.length);
  }

  /** A coder's latents per token: the top ones, and the requested ones. */
  private JsonObject latents(HookRequest h, NDArray a, List<LoadedCoders.Lease> leases) {
    LoadedCoders.Lease lease = lease(h.coder(), h.field() + ".coder", leases);
    SparseCoder c = lease.coder();
    String coderHook = lease.info().hookName();
    if (coderHook != null && !coderHook.equals(h.hook())) {
      throw new IllegalArgumentException("'" + h.field() + ".hook': coder " + h.coder().getString("id")
          + " reads " + coderHook + ", not " + h.hook());
    }
    Shape shape = a.getShape();
    if (shape.dimension() != 2 || shape.get(1) != c.dIn()) {
      throw new IllegalArgumentException("'" + h.field() + ".coder': coder " + h.coder().getString("id")
          + " reads width d_in = " + c.dIn() + ", but " + h.hook() + " gives " + shape + " per prompt");
    }
    for (int j : h.latents()) {
      if (j >= c.dSae()) {
        throw new IllegalArgumentException("'" + h.field() + ".latents': latent " + j + " is outside [0, "
            + c.dSae() + ")");
      }
    }
    int pos = (int) shape.get(0);
    float[] code = c.encode(a.toType(DataType.FLOAT32, false)).toFloatArray();
    int d = c.dSae();
    JsonArray top = new JsonArray();
    for (int p = 0; p < pos; p++) {
      JsonArray row = new JsonArray();
      for (int j : topIndices(code, p * d, d, h.top())) {
        float v = code[p * d + j];
        if (v <= 0) {
          break;
        }
        row.add(new JsonObject().put("latent", j).put("value", v));
      }
      top.add(row);
    }
    JsonArray values = new JsonArray();
    for (int p = 0; p < pos; p++) {
      JsonArray row = new JsonArray();
      for (int j : h.latents()) {
        row.add(finite(code[p * d + j]));
      }
      values.add(row);
    }
    int[] l0 = new int[pos];
    for (int p = 0; p < pos; p++) {
      for (int j = 0; j < d; j++) {
        if (code[p * d + j] != 0) {
          l0[p]++;
        }
      }
    }
    return new JsonObject().put("hook", h.hook()).put("coder", h.coder().getString("id")).put("d_sae", d)
        .put("top", top).put("latents", ints(h.latents())).put("values", values).put("l0", ints(l0))
        .put("count", (long) pos * (h.top() + h.latents().length + 1));
  }

  /** Registers one intervention on the trace; returns what it does, for the answer. */
  private JsonObject intervene(Trace t, JsonObject iv, String f, int length, ModelInfo info,
      List<LoadedCoders.Lease> leases) {
    checkKeys(iv, f + ".", List.of("hook", "index", "value", "coder", "latent", "scale", "positions"));
    int[] positions = iv.getValue("positions") == null ? null
        : intArray(iv.getValue("positions"), f + ".positions", 0, length - 1);
    if (iv.getValue("coder") != null) {
      if (iv.getValue("index") != null || iv.getValue("value") != null) {
        throw new IllegalArgumentException("'" + f + "': a coder intervention takes latent and scale, not index/value");
      }
      JsonObject ref = resolvedCoder(iv.getValue("coder"), f + ".coder");
      LoadedCoders.Lease lease = lease(ref, f + ".coder", leases);
      SparseCoder c = lease.coder();
      if (c.sources() > 1) {
        throw new IllegalArgumentException("'" + f + ".coder': " + ref.getString("id") + " is a crosscoder ("
            + c.sources() + " sources); steering needs a single-source coder");
      }
      String writes = lease.info().hookNameOut() != null ? lease.info().hookNameOut() : lease.info().hookName();
      String hook = iv.getValue("hook") == null ? writes : hook(f + ".hook", string(iv, "hook", f + ".hook"), info);
      if (hook == null) {
        throw new IllegalArgumentException("'" + f + ".hook': coder " + ref.getString("id")
            + " names no hook in its cfg.json; give the hook");
      }
      hook(f + ".hook", hook, info);
      if (writes != null && !writes.equals(hook)) {
        throw new IllegalArgumentException("'" + f + ".hook': coder " + ref.getString("id") + " writes " + writes
            + ", not " + hook);
      }
      int latent = intIn(iv, "latent", f + ".latent", -1, 0, c.dSae() - 1);
      if (latent < 0) {
        throw new IllegalArgumentException("'" + f + ".latent': required, a latent in [0, " + c.dSae() + ")");
      }
      double scale = number(iv, "scale", f + ".scale");
      if (info.hookWidth(hook) != c.dOut()) {
        throw new IllegalArgumentException("'" + f + ".hook': " + hook + " has width " + info.hookWidth(hook)
            + ", coder " + ref.getString("id") + " writes " + c.dOut());
      }
      // The latent's decoder row in raw units: what one unit of its activation adds to the output.
      float[] direction;
      try (NDArray row = c.wDec().get(latent); NDArray raw = row.div(c.outputScale())) {
        direction = raw.toType(DataType.FLOAT32, false).toFloatArray();
      }
      float s = (float) scale;
      t.hook(hook, (a, h) -> {
        NDArray add = a.getManager().create(direction).mul(s);
        if (positions == null) {
          return a.add(add);
        }
        NDArray out = a.duplicate();
        for (int p : positions) {
          NDIndex at = new NDIndex(":, {}", p);
          out.set(at, out.get(at).add(add));
        }
        return out;
      });
      return new JsonObject().put("hook", hook).put("coder", ref.getString("id")).put("latent", latent)
          .put("scale", scale).put("positions", positions == null ? null : ints(positions));
    }
    if (iv.getValue("latent") != null || iv.getValue("scale") != null) {
      throw new IllegalArgumentException("'" + f + "': latent and scale go with a coder");
    }
    String hook = hook(f + ".hook", string(iv, "hook", f + ".hook"), info);
    int width = info.hookWidth(hook);
    if (width < 0) {
      throw new IllegalArgumentException("'" + f + ".hook': " + hook + " has no fixed width; set neurons of another hook");
    }
    int index = intIn(iv, "index", f + ".index", -1, 0, width - 1);
    if (index < 0) {
      throw new IllegalArgumentException("'" + f + ".index': required, a neuron in [0, " + width + ")");
    }
    double value = number(iv, "value", f + ".value");
    float v = (float) value;
    t.hook(hook, (a, h) -> {
      NDArray out = a.duplicate();
      if (positions == null) {
        out.set(new NDIndex("..., {}", index), v);
      } else {
        if (a.getShape().dimension() != 3) {
          throw new IllegalArgumentException("'" + f + ".positions': " + h + " has shape " + a.getShape()
              + ", not [batch, position, width]");
        }
        for (int p : positions) {
          out.set(new NDIndex(":, {}, {}", p, index), v);
        }
      }
      return out;
    });
    return new JsonObject().put("hook", hook).put("index", index).put("value", value)
        .put("positions", positions == null ? null : ints(positions));
  }

  private LoadedCoders.Lease lease(JsonObject ref, String field, List<LoadedCoders.Lease> leases) {
    if (coders == null) {
      throw new IllegalArgumentException("'" + field + "': this node serves no coders");
    }
    try {
      LoadedCoders.Lease l = coders.acquire(Path.of(ref.getString("dir")));
      leases.add(l);
      return l;
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalArgumentException("'" + field + "': coder " + ref.getString("id") + " is not on this node");
    } catch (IOException e) {
      throw new IllegalArgumentException("'" + field + "': coder " + ref.getString("id") + " cannot be read: "
          + e.getMessage());
    }
  }

  /** A coder reference as the HTTP layer rewrote it: {dir, id}. */
  private static JsonObject resolvedCoder(Object v, String field) {
    if (!(v instanceof JsonObject o) || !(o.getValue("dir") instanceof String) || !(o.getValue("id") instanceof String)) {
      throw new IllegalArgumentException("'" + field + "': expected a coder reference {job} or {path}");
    }
    return o;
  }

  // ---- logit lens ----

  /**
   * The logit lens: every layer's {@code hook_resid_post} (or those in {@code layers}) decoded
   * with the model's final norm and unembedding ({@link ModelSession#unembed}), with the top
   * {@code top} tokens per position, and the probability and rank of the actual next token; the
   * model's own output as {@code final}. Causal models only.
   *
   * @throws IllegalArgumentException naming the field on a bad request, or the model when it is
   *     an encoder
   */
  public JsonObject lens(JsonObject req) {
    checkKeys(req, "", LENS_KEYS);
    ModelInfo info = session.info();
    if (!info.causal()) {
      throw new IllegalArgumentException("model '" + info.id() + "' (" + info.architecture()
          + ") is an encoder: it has no unembedding for a logit lens");
    }
    int[] tokens = tokens(req);
    int top = intIn(req, "top", DEFAULT_LENS_TOP, 1, MAX_TOP);
    int[] layers;
    if (req.getValue("layers") == null) {
      layers = new int[info.nLayers()];
      for (int i = 0; i < layers.length; i++) {
        layers[i] = i;
      }
    } else {
      layers = intArray(req.getValue("layers"), "layers", 0, info.nLayers() - 1);
    }
    try (Trace t = session.trace(new int[][] {tokens})) {
      List<Supplier<NDArray>> resid = new ArrayList<>();
      for (int l : layers) {
        resid.add(t.save(HookPoint.residPost(l)));
      }
      RunResult r = t.run();
      JsonArray out = new JsonArray();
      for (int i = 0; i < layers.length; i++) {
        NDArray logits = session.unembed(resid.get(i).get().get(0));
        out.add(lensLayer(logits, tokens, top).put("layer", layers[i]).put("hook", HookPoint.residPost(layers[i])));
      }
      return new JsonObject().put("model", info.id()).put("tokens", tokenList(tokens)).put("layers", out)
          .put("final", lensLayer(r.output().get(0), tokens, top));
    }
  }

  /** Top tokens per position of [pos, vocab] logits, and the actual next token's probability and rank. */
  private JsonObject lensLayer(NDArray logits, int[] tokens, int top) {
    int pos = (int) logits.getShape().get(0);
    int vocab = (int) logits.getShape().get(1);
    float[] probs = logits.toType(DataType.FLOAT32, false).softmax(-1).toFloatArray();
    JsonArray tops = new JsonArray();
    JsonArray next = new JsonArray();
    for (int p = 0; p < pos; p++) {
      tops.add(topTokens(probs, p * vocab, vocab, top));
      if (p + 1 < tokens.length) {
        int want = tokens[p + 1];
        float pw = probs[p * vocab + want];
        int rank = 1;
        for (int v = 0; v < vocab; v++) {
          if (probs[p * vocab + v] > pw) {
            rank++;
          }
        }
        next.add(new JsonObject().put("token", want).put("prob", finite(pw)).put("rank", rank));
      } else {
        next.addNull();
      }
    }
    return new JsonObject().put("top", tops).put("next", next);
  }

  // ---- shared ----

  private JsonArray topNext(NDArray logits, int top) {
    NDArray l = logits.get(0);
    int pos = (int) l.getShape().get(0);
    int vocab = (int) l.getShape().get(1);
    float[] probs = l.toType(DataType.FLOAT32, false).softmax(-1).toFloatArray();
    JsonArray out = new JsonArray();
    for (int p = 0; p < pos; p++) {
      out.add(topTokens(probs, p * vocab, vocab, top));
    }
    return out;
  }

  private JsonArray topTokens(float[] probs, int base, int vocab, int top) {
    JsonArray row = new JsonArray();
    for (int id : topIndices(probs, base, vocab, top)) {
      row.add(new JsonObject().put("token", id).put("text", session.tokenText(id)).put("prob", finite(probs[base + id])));
    }
    return row;
  }

  /** Indexes (relative to {@code base}) of the k largest of {@code v[base, base + n)}, largest first. */
  static int[] topIndices(float[] v, int base, int n, int k) {
    int m = Math.min(k, n);
    if (m <= 0) {
      return new int[0];
    }
    PriorityQueue<Integer> heap = new PriorityQueue<>(m + 1, (a, b) -> {
      int c = Float.compare(v[base + a], v[base + b]);
      return c != 0 ? c : Integer.compare(b, a);
    });
    for (int i = 0; i < n; i++) {
      if (heap.size() < m) {
        heap.add(i);
      } else {
        int least = heap.peek();
        if (v[base + i] > v[base + least]) {
          heap.poll();
          heap.add(i);
        }
      }
    }
    int[] out = new int[heap.size()];
    for (int i = out.length - 1; i >= 0; i--) {
      out[i] = heap.poll();
    }
    return out;
  }

  private JsonArray tokenList(int[] tokens) {
    JsonArray out = new JsonArray();
    for (int t : tokens) {
      out.add(new JsonObject().put("id", t).put("text", session.tokenText(t)));
    }
    return out;
  }

  private int[] tokens(JsonObject req) {
    Object text = req.getValue("text");
    Object toks = req.getValue("tokens");
    if (text != null && toks != null) {
      throw new IllegalArgumentException("'text', 'tokens': give one, not both");
    }
    int[] t;
    ModelInfo info = session.info();
    if (text != null) {
      if (!(text instanceof String s)) {
        throw new IllegalArgumentException("'text': expected a string");
      }
      t = session.encode(s);
      if (t.length == 0) {
        throw new IllegalArgumentException("'text': encodes to no tokens");
      }
    } else if (toks != null) {
      t = intArray(toks, "tokens", 0, info.vocabSize() - 1);
      if (t.length == 0) {
        throw new IllegalArgumentException("'tokens': empty; give at least one token id");
      }
    } else {
      throw new IllegalArgumentException("'text': required (a string), or 'tokens' (an array of token ids)");
    }
    if (t.length > info.maxContext()) {
      throw new IllegalArgumentException("'" + (text != null ? "text" : "tokens") + "': " + t.length
          + " tokens, more than the model's context of " + info.maxContext());
    }
    return t;
  }

  private static String hook(String field, String name, ModelInfo info) {
    if (!info.hasHook(name)) {
      throw new IllegalArgumentException("'" + field + "': model '" + info.id() + "' has no hook '" + name
          + "'; GET /api/models/" + info.id() + "/info lists them (e.g. " + HookPoint.residPost(0) + ")");
    }
    return name;
  }

  private static void checkKeys(JsonObject o, String prefix, List<String> allowed) {
    for (String k : o.fieldNames()) {
      if (!allowed.contains(k)) {
        throw new IllegalArgumentException("'" + prefix + k + "': unknown key; expected " + String.join(", ", allowed));
      }
    }
  }

  private static List<JsonObject> list(Object v, String field) {
    List<JsonObject> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (!(v instanceof JsonArray a)) {
      throw new IllegalArgumentException("'" + field + "': expected an array of objects");
    }
    for (int i = 0; i < a.size(); i++) {
      if (!(a.getValue(i) instanceof JsonObject o)) {
        throw new IllegalArgumentException("'" + field + "[" + i + "]': expected an object");
      }
      out.add(o);
    }
    return out;
  }

  private static String string(JsonObject o, String key, String field) {
    Object v = o.getValue(key);
    if (!(v instanceof String s)) {
      throw new IllegalArgumentException("'" + field + "': " + (v == null ? "required, a string" : "expected a string"));
    }
    return s;
  }

  private static double number(JsonObject o, String key, String field) {
    Object v = o.getValue(key);
    if (!(v instanceof Number n) || !Double.isFinite(n.doubleValue())) {
      throw new IllegalArgumentException("'" + field + "': " + (v == null ? "required, a number" : "expected a finite number"));
    }
    return n.doubleValue();
  }

  private static int intIn(JsonObject o, String key, int dflt, int min, int max) {
    return intIn(o, key, key, dflt, min, max);
  }

  private static int intIn(JsonObject o, String key, String field, int dflt, int min, int max) {
    Object v = o.getValue(key);
    if (v == null) {
      return dflt;
    }
    if (!(v instanceof Number n) || n.doubleValue() % 1 != 0) {
      throw new IllegalArgumentException("'" + field + "': expected an integer in [" + min + ", " + max + "], got " + v);
    }
    long l = n.longValue();
    if (l < min || l > max) {
      throw new IllegalArgumentException("'" + field + "': " + l + " is outside [" + min + ", " + max + "]");
    }
    return (int) l;
  }

  private static int[] intArray(Object v, String field, int min, int max) {
    if (!(v instanceof JsonArray a)) {
      throw new IllegalArgumentException("'" + field + "': expected an array of integers");
    }
    if (a.size() > MAX_VALUES) {
      throw new IllegalArgumentException("'" + field + "': more than " + MAX_VALUES + " entries");
    }
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      Object x = a.getValue(i);
      if (!(x instanceof Number n) || n.doubleValue() % 1 != 0) {
        throw new IllegalArgumentException("'" + field + "[" + i + "]': expected an integer, got " + x);
      }
      long l = n.longValue();
      if (l < min || l > max) {
        throw new IllegalArgumentException("'" + field + "[" + i + "]': " + l + " is outside [" + min + ", "
            + max + "]");
      }
      out[i] = (int) l;
    }
    return out;
  }

  private static JsonArray ints(int[] a) {
    JsonArray out = new JsonArray();
    for (int v : a) {
      out.add(v);
    }
    return out;
  }

  private static JsonArray shapeList(Shape s) {
    JsonArray out = new JsonArray();
    for (long d : s.getShape()) {
      out.add(d);
    }
    return out;
  }

  private static Float finite(float f) {
    return Float.isFinite(f) ? f : null;
  }

  /** Row-major values as nested arrays of {@code shape}; non-finite values (masked scores) become null. */
  private static JsonArray nested(float[] values, Shape shape, int axis, int offset) {
    JsonArray out = new JsonArray();
    int n = (int) shape.get(axis);
    if (axis == shape.dimension() - 1) {
      for (int i = 0; i < n; i++) {
        out.add(finite(values[offset + i]));
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
