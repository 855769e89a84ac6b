package dev.loupe.core.coder;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * An index of a job's {@code results/features.json} (one dashboard entry per latent, as the
 * sae/transcoder/crosscoder plugins write it): where each entry lies in the file, so one latent's
 * dashboard is read without parsing the rest, and the few fields a search by token needs (top
 * example tokens, top promoted and suppressed tokens). Built by one streaming pass; a file of
 * hundreds of megabytes costs a few bytes per latent in memory. Immutable once built.
 */
public final class FeatureIndex {
  private static final JsonFactory JSON = new JsonFactory();
  private static final ObjectMapper MAPPER = new ObjectMapper(JSON);

  private final Path file;
  private final FileTime modified;
  private final long size;
  private final long[] start;
  private final long[] end;
  private final Latent[] latents;

  /** What a search reads of one latent. */
  private record Latent(double density, double maxActivation, int[] topTokens, int[] positiveIds,
      String[] positiveTexts, int[] negativeIds, String[] negativeTexts) {
  }

  private FeatureIndex(Path file, FileTime modified, long size, long[] start, long[] end, Latent[] latents) {
    this.file = file;
    this.modified = modified;
    this.size = size;
    this.start = start;
    this.end = end;
    this.latents = latents;
  }

  /**
   * Reads {@code file} (a JSON array of objects) once.
   *
   * @throws IOException when it cannot be read or is not a JSON array of objects (naming the file
   *     and the entry)
   */
  public static FeatureIndex build(Path file) throws IOException {
    FileTime modified = Files.getLastModifiedTime(file);
    long size = Files.size(file);
    List<long[]> spans = new ArrayList<>();
    List<Latent> found = new ArrayList<>();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        JsonParser p = JSON.createParser(in)) {
      if (p.nextToken() != JsonToken.START_ARRAY) {
        throw new IOException(file + " is not a JSON array of per-latent entries");
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.START_OBJECT) {
        long from = p.currentTokenLocation().getByteOffset();
        JsonNode node = MAPPER.readTree(p);
        long to = p.currentLocation().getByteOffset();
        spans.add(new long[] {from, to});
        found.add(latent(node));
      }
      if (t != JsonToken.END_ARRAY) {
        throw new IOException(file + ": entry " + found.size() + " is not a JSON object");
      }
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IOException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
    long[] s = new long[spans.size()];
    long[] e = new long[spans.size()];
    for (int i = 0; i < s.length; i++) {
      s[i] = spans.get(i)[0];
      e[i] = spans.get(i)[1];
    }
    return new FeatureIndex(file, modified, size, s, e, found.toArray(new Latent[0]));
  }

  private static Latent latent(JsonNode n) {
    JsonNode top = n.path("top");
    int[] tokens = new int[top.isArray() ? top.size() : 0];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = top.get(i).path("token").asInt(-1);
    }
    JsonNode pos = n.path("logits_positive");
    JsonNode neg = n.path("logits_negative");
    return new Latent(n.path("density").asDouble(Double.NaN), n.path("max_activation").asDouble(Double.NaN), tokens,
        ids(pos), texts(pos), ids(neg), texts(neg));
  }

  private static int[] ids(JsonNode list) {
    int[] out = new int[list.isArray() ? list.size() : 0];
    for (int i = 0; i < out.length; i++) {
      out[i] = list.get(i).path("token").asInt(-1);
    }
    return out;
  }

  private static String[] texts(JsonNode list) {
    String[] out = new String[list.isArray() ? list.size() : 0];
    for (int i = 0; i < out.length; i++) {
      out[i] = list.get(i).path("text").asText("");
    }
    return out;
  }

  /** Whether the file is still the one indexed (same size and modification time). */
  public boolean current() {
    try {
      return Files.getLastModifiedTime(file).equals(modified) && Files.size(file) == size;
    } catch (IOException e) {
      return false;
    }
  }

  /** Entries in the file (d_sae for a complete one). */
  public int size() {
    return latents.length;
  }

  /**
   * Latent {@code j}'s entry, read from the file.
   *
   * @throws IndexOutOfBoundsException when j is not in [0, size)
   * @throws IOException when the file changed or cannot be read
   */
  public JsonObject entry(int j) throws IOException {
    if (j < 0 || j >= latents.length) {
      throw new IndexOutOfBoundsException("latent " + j + " is outside [0, " + latents.length + ")");
    }
    int n = (int) (end[j] - start[j]);
    ByteBuffer buf = ByteBuffer.allocate(n);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      while (buf.hasRemaining()) {
        if (ch.read(buf, start[j] + buf.position()) < 0) {
          throw new IOException(file + " is shorter than when it was indexed");
        }
      }
    }
    try {
      return new JsonObject(new String(buf.array(), StandardCharsets.UTF_8));
    } catch (io.vertx.core.json.DecodeException e) {
      throw new IOException(file + " changed since it was indexed (entry " + j + " no longer parses)", e);
    }
  }

  /** How a search matches token texts. */
  public enum Match {
    /** The token's text equals the query. */
    EXACT,
    /** The token's text contains the query, ignoring case. */
    CONTAINS
  }

  /**
   * Latents whose top promoted tokens ({@code logits_positive}) or top activating tokens include a
   * token matching {@code query}, best first: a promoted token counts by its rank (first: 1,
   * tenth: 0.1), top examples by the fraction of them that match.
   *
   * @param tokenText the text of a token id, to match the top examples' tokens (which the file
   *     holds as ids); null to match only the promoted and suppressed tokens, whose texts the file
   *     holds
   * @param limit at most this many latents
   */
  public JsonArray search(String query, Match how, IntFunction<String> tokenText, int limit) {
    String q = how == Match.CONTAINS ? query.toLowerCase(Locale.ROOT) : query;
    Map<Integer, Boolean> textMatches = new LinkedHashMap<>();
    record Hit(int latent, double score, JsonObject json) {
    }
    List<Hit> hits = new ArrayList<>();
    for (int j = 0; j < latents.length; j++) {
      Latent l = latents[j];
      JsonArray posRanks = new JsonArray();
      double score = 0;
      for (int r = 0; r < l.positiveTexts().length; r++) {
        if (matches(l.positiveTexts()[r], q, how)) {
          posRanks.add(r + 1);
          score += 1.0 / (r + 1);
        }
      }
      JsonArray negRanks = new JsonArray();
      for (int r = 0; r < l.negativeTexts().length; r++) {
        if (matches(l.negativeTexts()[r], q, how)) {
          negRanks.add(r + 1);
        }
      }
      int topHits = 0;
      if (tokenText != null) {
        for (int t : l.topTokens()) {
          if (t >= 0 && textMatches.computeIfAbsent(t, id -> matches(tokenText.apply(id), q, how))) {
            topHits++;
          }
        }
        if (l.topTokens().length > 0) {
          score += (double) topHits / l.topTokens().length;
        }
      }
      if (posRanks.isEmpty() && negRanks.isEmpty() && topHits == 0) {
        continue;
      }
      JsonObject h = new JsonObject().put("latent", j).put("score", score)
          .put("density", finite(l.density())).put("max_activation", finite(l.maxActivation()))
          .put("logits_positive_ranks", posRanks).put("logits_negative_ranks", negRanks)
          .put("top_examples_matching", topHits).put("top_examples", l.topTokens().length);
      hits.add(new Hit(j, score, h));
    }
    hits.sort(Comparator.comparingDouble(Hit::score).reversed().thenComparingInt(Hit::latent));
    JsonArray out = new JsonArray();
    hits.stream().limit(limit).forEach(h -> out.add(h.json()));
    return out;
  }

  private static Object finite(double v) {
    return Double.isFinite(v) ? v : null;
  }

  private static boolean matches(String text, String q, Match how) {
    if (text == null) {
      return false;
    }
    return how == Match.EXACT ? text.equals(q) : text.toLowerCase(Locale.ROOT).contains(q);
  }

  /** Indexes of a few files, rebuilt when a file changes. Thread-safe. */
  public static final class Cache {
    private final int maxEntries;
    private final Map<Path, FeatureIndex> map = new LinkedHashMap<>(16, 0.75f, true);

    public Cache(int maxEntries) {
      this.maxEntries = maxEntries;
    }

    /** The index of {@code file}, built now when missing or out of date (blocking: off the event loop). */
    public FeatureIndex get(Path file) throws IOException {
      Path key = file.toAbsolutePath().normalize();
      synchronized (this) {
        FeatureIndex i = map.get(key);
        if (i != null && i.current()) {
          return i;
        }
      }
      FeatureIndex built = build(key);
      synchronized (this) {
        map.put(key, built);
        while (map.size() > maxEntries) {
          map.remove(map.keySet().iterator().next());
        }
      }
      return built;
    }
  }
}
