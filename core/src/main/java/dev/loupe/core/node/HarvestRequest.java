package dev.loupe.core.node;

import dev.loupe.sdk.config.ConfigException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What to harvest from a model session: which corpus, which hook points, how many tokens, in
 * which window length and batch size, and how many consumers each hook's stream waits for
 * before it starts (so that no consumer misses the beginning).
 *
 * @param corpus a corpus reference (see {@link dev.loupe.core.corpus.Corpora})
 * @param hooks hook names, each gets its own stream
 * @param tokens the most tokens to run through the model
 * @param ctx window length in tokens
 * @param batchRows rows per activation batch
 * @param sequencesPerPass windows per forward pass
 * @param consumers subscribers each hook's stream waits for before the first batch
 * @param waitSeconds how long to wait for those subscribers before failing the harvest
 */
public record HarvestRequest(String corpus, List<String> hooks, long tokens, int ctx, int batchRows,
    int sequencesPerPass, int consumers, int waitSeconds) {

  private static final Set<String> KEYS =
      Set.of("corpus", "hooks", "tokens", "ctx", "batch_rows", "sequences_per_pass", "consumers", "wait_seconds");

  public HarvestRequest {
    if (corpus == null || corpus.isBlank()) {
      throw new ConfigException("corpus", "required: a corpus name such as 'europarl' or a path");
    }
    if (hooks == null || hooks.isEmpty()) {
      throw new ConfigException("hooks", "give at least one hook name, e.g. [blocks.0.hook_resid_post]");
    }
    if (Set.copyOf(hooks).size() != hooks.size()) {
      throw new ConfigException("hooks", "a hook is listed twice: " + hooks);
    }
    hooks = List.copyOf(hooks);
    positive("tokens", tokens);
    positive("ctx", ctx);
    positive("batch_rows", batchRows);
    positive("sequences_per_pass", sequencesPerPass);
    positive("consumers", consumers);
    positive("wait_seconds", waitSeconds);
  }

  private static void positive(String field, long v) {
    if (v <= 0) {
      throw new ConfigException(field, "must be > 0, got " + v);
    }
  }

  /**
   * Reads a request from JSON ({@code corpus}, {@code hooks}, and optional {@code tokens}
   * (100000), {@code ctx} (128), {@code batch_rows} (1024), {@code sequences_per_pass} (8),
   * {@code consumers} (1), {@code wait_seconds} (600)).
   *
   * @throws ConfigException naming the field that is unknown, missing or of the wrong type
   */
  public static HarvestRequest fromJson(JsonObject json) {
    for (String k : json.fieldNames()) {
      if (!KEYS.contains(k)) {
        throw new ConfigException(k, "unknown key; expected one of " + KEYS);
      }
    }
    Object hooksRaw = json.getValue("hooks");
    List<String> hooks = new ArrayList<>();
    if (hooksRaw instanceof JsonArray arr) {
      for (Object o : arr) {
        if (!(o instanceof String s)) {
          throw new ConfigException("hooks", "expected a list of hook names, found " + o);
        }
        hooks.add(s);
      }
    } else if (hooksRaw instanceof String s) {
      for (String part : s.split(",")) {
        if (!part.isBlank()) {
          hooks.add(part.trim());
        }
      }
    } else if (hooksRaw != null) {
      throw new ConfigException("hooks", "expected a list of hook names");
    }
    return new HarvestRequest(str(json, "corpus"), hooks, num(json, "tokens", 100_000), (int) num(json, "ctx", 128),
        (int) num(json, "batch_rows", 1024), (int) num(json, "sequences_per_pass", 8), (int) num(json, "consumers", 1),
        (int) num(json, "wait_seconds", 600));
  }

  private static String str(JsonObject json, String key) {
    Object v = json.getValue(key);
    if (v != null && !(v instanceof String)) {
      throw new ConfigException(key, "expected a string, got " + v);
    }
    return (String) v;
  }

  private static long num(JsonObject json, String key, long def) {
    Object v = json.getValue(key);
    if (v == null) {
      return def;
    }
    if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
      throw new ConfigException(key, "expected an integer, got " + v);
    }
    return n.longValue();
  }

  public JsonObject toJson() {
    return new JsonObject().put("corpus", corpus).put("hooks", new JsonArray(hooks)).put("tokens", tokens)
        .put("ctx", ctx).put("batch_rows", batchRows).put("sequences_per_pass", sequencesPerPass)
        .put("consumers", consumers).put("wait_seconds", waitSeconds);
  }
}
