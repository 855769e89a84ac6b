package dev.loupe.core.server;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The checks every HTTP request and WebSocket handshake passes before any route sees it, in this
 * order:
 * <ol>
 *   <li><b>Host</b> (loopback binds only): the {@code Host} header must name a loopback host, so
 *       a web page on another site cannot reach this server through DNS rebinding (its requests
 *       carry that site's name). 403 otherwise.</li>
 *   <li><b>Origin</b>: a browser request that carries an {@code Origin} must come from a page this
 *       server served, {@code http://<the Host it asked for>}; other pages' requests (cross-site
 *       requests and WebSockets, which browsers allow without CORS) are refused with 403.</li>
 *   <li><b>Access token</b> (when one is set; always when binding a non-loopback address):
 *       {@code Authorization: Bearer TOKEN} or {@code ?token=TOKEN}, compared in constant time.
 *       401 with {@code WWW-Authenticate: Bearer} otherwise.</li>
 * </ol>
 */
final class Security implements Handler<RoutingContext> {
  private static final List<String> LOOPBACK_NAMES = List.of("localhost", "127.0.0.1", "[::1]", "::1");

  private final boolean loopbackOnly;
  private final byte[] tokenDigest;

  /**
   * @param bindHost the address the server binds
   * @param token the required access token, or null for none
   */
  Security(String bindHost, String token) {
    this.loopbackOnly = isLoopback(bindHost);
    this.tokenDigest = token == null ? null : sha256(token);
  }

  /** Whether {@code host} names only loopback addresses (127.0.0.0/8, ::1, localhost). */
  static boolean isLoopback(String host) {
    try {
      InetAddress[] all = InetAddress.getAllByName(host);
      for (InetAddress a : all) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return all.length > 0;
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("host: '" + host + "' is not a known host name or address");
    }
  }

  /** A fresh random access token: 24 random bytes as 48 hex digits. */
  static String newToken() {
    byte[] b = new byte[24];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String host = hostOf(req);
    if (loopbackOnly && !loopbackHost(host)) {
      deny(ctx, 403, "Host '" + host + "' is not this server: it serves loopback names only (localhost, 127.0.0.1)");
      return;
    }
    String origin = req.getHeader(HttpHeaders.ORIGIN);
    if (origin != null && !sameOrigin(origin, host)) {
      deny(ctx, 403, "Origin '" + origin + "' is not this server (http://" + host
          + "); requests from other sites' pages are refused");
      return;
    }
    if (tokenDigest != null && !tokenMatches(req)) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"loupe\"");
      deny(ctx, 401, "this server requires its access token: send 'Authorization: Bearer TOKEN' or ?token=TOKEN "
          + "(loupe serve prints it at start)");
      return;
    }
    ctx.next();
  }

  /**
   * The host the client asked for: the Host header (HTTP/1.x) or the {@code :authority} pseudo
   * header (HTTP/2, where there is no Host header), in Host-header form ({@code name[:port]}).
   */
  private static String hostOf(HttpServerRequest req) {
    String host = req.getHeader(HttpHeaders.HOST);
    if (host == null && req.authority() != null) {
      host = req.authority().toString();
    }
    return host;
  }

  private boolean tokenMatches(HttpServerRequest req) {
    String auth = req.getHeader(HttpHeaders.AUTHORIZATION);
    String given = null;
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      given = auth.substring(7).trim();
    } else {
      List<String> q = req.params().getAll("token");
      if (q.size() == 1) {
        given = q.get(0);
      }
    }
    // Digests have one length, so the comparison time says nothing about the token's length either.
    return given != null && MessageDigest.isEqual(sha256(given), tokenDigest);
  }

  private static boolean loopbackHost(String host) {
    if (host == null) {
      return false;
    }
    String name = hostName(host).toLowerCase(Locale.ROOT);
    return LOOPBACK_NAMES.contains(name) || name.endsWith(".localhost") || name.matches("127(\\.\\d{1,3}){3}");
  }

  /** The host part of a Host header ({@code [::1]:7070} -> {@code [::1]}, {@code a:1} -> {@code a}). */
  private static String hostName(String host) {
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      return end < 0 ? host : host.substring(0, end + 1);
    }
    int colon = host.lastIndexOf(':');
    return colon < 0 ? host : host.substring(0, colon);
  }

  private static boolean sameOrigin(String origin, String host) {
    if (host == null) {
      return false;
    }
    try {
      URI o = new URI(origin);
      if (!"http".equalsIgnoreCase(o.getScheme()) || o.getRawAuthority() == null || o.getRawPath() != null
          && !o.getRawPath().isEmpty()) {
        return false;
      }
      return o.getRawAuthority().equalsIgnoreCase(host) || o.getRawAuthority().equalsIgnoreCase(withDefaultPort(host));
    } catch (java.net.URISyntaxException e) {
      return false; // "null" (sandboxed pages, files) and malformed origins
    }
  }

  private static String withDefaultPort(String host) {
    return host.endsWith(":80") ? host.substring(0, host.length() - 3) : host;
  }

  private static void deny(RoutingContext ctx, int status, String message) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("error", message).encode());
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
