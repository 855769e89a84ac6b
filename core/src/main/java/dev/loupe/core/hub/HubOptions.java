package dev.loupe.core.hub;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Where the Hugging Face hub and its local cache are, and whether the network may be used; built
 * from the environment ({@link #fromEnvironment}) or given explicitly (tests, embedding).
 *
 * @param endpoint the hub, e.g. {@code https://huggingface.co} (no trailing slash needed)
 * @param cacheRoot the hub cache holding {@code models--ORG--NAME} directories
 * @param token a bearer token for private or gated repositories, or null
 * @param offline when true the network is never used, only the cache
 */
public record HubOptions(URI endpoint, Path cacheRoot, String token, boolean offline) {
  public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

  public HubOptions {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(cacheRoot, "cacheRoot");
    String scheme = endpoint.getScheme();
    if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || endpoint.getHost() == null) {
      throw new IllegalArgumentException("hub endpoint '" + endpoint + "' must be an http(s) URL such as "
          + DEFAULT_ENDPOINT);
    }
    if (token != null && token.isBlank()) {
      token = null;
    }
  }

  /**
   * The options the {@code huggingface_hub} library would use: endpoint {@code $HF_ENDPOINT} else
   * huggingface.co; cache {@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else
   * {@code ~/.cache/huggingface/hub}; token {@code $HF_TOKEN}; offline when {@code $HF_HUB_OFFLINE}
   * is 1/true/yes/on.
   */
  public static HubOptions fromEnvironment(Map<String, String> env, Path userHome) {
    String endpoint = nonBlank(env.get("HF_ENDPOINT"));
    URI uri;
    try {
      uri = URI.create(endpoint == null ? DEFAULT_ENDPOINT : endpoint);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("HF_ENDPOINT '" + endpoint + "' is not a URL: " + e.getMessage(), e);
    }
    Path cache;
    if (nonBlank(env.get("HF_HUB_CACHE")) != null) {
      cache = Path.of(env.get("HF_HUB_CACHE"));
    } else if (nonBlank(env.get("HF_HOME")) != null) {
      cache = Path.of(env.get("HF_HOME")).resolve("hub");
    } else {
      cache = userHome.resolve(".cache").resolve("huggingface").resolve("hub");
    }
    String offline = nonBlank(env.get("HF_HUB_OFFLINE"));
    boolean off = offline != null && switch (offline.toLowerCase(java.util.Locale.ROOT)) {
      case "1", "true", "yes", "on" -> true;
      default -> false;
    };
    return new HubOptions(uri, cache, nonBlank(env.get("HF_TOKEN")), off);
  }

  /** {@link #fromEnvironment} of this process. */
  public static HubOptions fromEnvironment() {
    return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
  }

  /** The endpoint without a trailing slash, for building URLs. */
  String base() {
    String s = endpoint.toString();
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  private static String nonBlank(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  @Override
  public String toString() {
    // Never print the token.
    return "HubOptions[endpoint=" + endpoint + ", cacheRoot=" + cacheRoot + ", token="
        + (token == null ? "none" : "set") + ", offline=" + offline + "]";
  }
}
