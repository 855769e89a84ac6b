package dev.loupe.core.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Hugging Face hub on 127.0.0.1 for tests: serves one repository (the files of a local directory)
 * through the revision API and the resolve endpoint, with safetensors files behind an LFS-style
 * redirect carrying X-Linked-Etag; faults (dropped connections, ignored Range, corruption, missing
 * files, a required token) are switched on per test. Records every request it answers.
 */
final class FakeHub implements AutoCloseable {
  static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

  final String repo;
  final Map<String, byte[]> files = new TreeMap<>();
  /** "METHOD path [Range: ...] [Authorization: ...]" per request. */
  final List<String> requests = new CopyOnWriteArrayList<>();
  final Set<String> dropOnce = ConcurrentHashMap.newKeySet();
  final Set<String> corrupt = ConcurrentHashMap.newKeySet();
  final Set<String> missing = ConcurrentHashMap.newKeySet();
  volatile boolean ignoreRange;
  volatile String requiredToken;
  private final HttpServer server;

  FakeHub(String repo, Path dir) throws IOException {
    this.repo = repo;
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.toList()) {
        files.put(p.getFileName().toString(), Files.readAllBytes(p));
      }
    }
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  static String sha256(byte[] b) throws IOException {
    return hex("SHA-256", b);
  }

  private static String hex(String alg, byte[] b) throws IOException {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance(alg).digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IOException(e);
    }
  }

  private void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getRawPath();
    String range = ex.getRequestHeaders().getFirst("Range");
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    requests.add(ex.getRequestMethod() + " " + path + (range == null ? "" : " Range: " + range)
        + (auth == null ? "" : " Authorization: " + auth));
    try (ex) {
      if (requiredToken != null && !path.startsWith("/cdn/") && !("Bearer " + requiredToken).equals(auth)) {
        send(ex, 401, "{\"error\":\"Invalid credentials\"}".getBytes(StandardCharsets.UTF_8));
        return;
      }
      String api = "/api/models/" + repo + "/revision/";
      String resolve = "/" + repo + "/resolve/" + COMMIT + "/";
      if (path.startsWith(api)) {
        ObjectNode info = new ObjectMapper().createObjectNode().put("id", repo).put("sha", COMMIT);
        var siblings = info.putArray("siblings");
        files.keySet().forEach(f -> siblings.addObject().put("rfilename", f));
        siblings.addObject().put("rfilename", "pytorch_model.bin");
        send(ex, 200, info.toString().getBytes(StandardCharsets.UTF_8));
      } else if (path.startsWith(resolve) && files.containsKey(path.substring(resolve.length()))
          && !missing.contains(path.substring(resolve.length()))) {
        String file = path.substring(resolve.length());
        byte[] body = files.get(file);
        if (file.endsWith(".safetensors")) {
          // Like the hub: LFS files redirect to a content-addressed location and announce their hash.
          ex.getResponseHeaders().set("X-Linked-Etag", "\"" + sha256(body) + "\"");
          ex.getResponseHeaders().set("X-Linked-Size", Long.toString(body.length));
          // On another host name, as the hub's storage is: the token must not follow the redirect.
          ex.getResponseHeaders().set("Location", "http://localhost:" + server.getAddress().getPort() + "/cdn/" + file);
          ex.sendResponseHeaders(302, -1);
        } else {
          ex.getResponseHeaders().set("ETag", "\"" + hex("SHA-1", body) + "\"");
          serve(ex, file, body, range);
        }
      } else if (path.startsWith("/cdn/") && files.containsKey(path.substring(5))) {
        String file = path.substring(5);
        serve(ex, file, files.get(file), range);
      } else {
        send(ex, 404, "{\"error\":\"Entry not found\"}".getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  private void serve(HttpExchange ex, String file, byte[] body, String range) throws IOException {
    if (corrupt.contains(file)) {
      body = body.clone();
      body[body.length / 2] ^= 1;
    }
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.sendResponseHeaders(200, -1);
      return;
    }
    Matcher m = range == null || ignoreRange ? null : RANGE.matcher(range);
    if (m != null && m.matches()) {
      int from = Integer.parseInt(m.group(1));
      ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
      ex.sendResponseHeaders(206, body.length - from);
      ex.getResponseBody().write(body, from, body.length - from);
      return;
    }
    if (dropOnce.remove(file)) {
      // Announce the whole file, send half, then cut the connection.
      ex.sendResponseHeaders(200, body.length);
      OutputStream out = ex.getResponseBody();
      out.write(body, 0, body.length / 2);
      out.flush();
      throw new IOException("dropping the connection halfway through " + file);
    }
    ex.sendResponseHeaders(200, body.length);
    ex.getResponseBody().write(body);
  }

  private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "application/json");
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
