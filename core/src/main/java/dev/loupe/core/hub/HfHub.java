package dev.loupe.core.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.model.HfDirectory;
import dev.loupe.sdk.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds Hugging Face models in the standard local hub cache ({@code models--ORG--NAME/refs},
 * {@code snapshots/<commit>}, {@code blobs}) and, when allowed, downloads the files Loupe reads
 * (config.json, tokenizer.json, safetensors weights) into it, resumably and verified.
 *
 * <p>A complete snapshot in the cache is used without asking the hub, so a cached branch is not
 * refreshed; name a commit (or clear {@code refs/<branch>}) to move on. Thread-safe for distinct
 * models; two processes downloading the same file at once are not coordinated.
 */
public final class HfHub {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_REDIRECTS = 10;
  /** One monitor per lock file: a JVM cannot hold two overlapping FileLocks, so its threads queue here first. */
  private static final ConcurrentHashMap<Path, Object> LOCKS = new ConcurrentHashMap<>();
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
  private static final String HOW_TO_DOWNLOAD = "to download it, run with network access and HF_HUB_OFFLINE unset "
      + "(HF_TOKEN for private or gated models), or use `huggingface-cli download %s`";

  private final HubOptions options;
  private final HttpClient http;

  public HfHub(HubOptions options) {
    this.options = java.util.Objects.requireNonNull(options, "options");
    // Redirects are followed by hand so that the token goes only to the hub itself, never to the
    // storage host an LFS file redirects to (a presigned URL may reject a second credential).
    this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(30)).build();
  }

  public HubOptions options() {
    return options;
  }

  /** The cache directory of a repository: {@code <cacheRoot>/models--ORG--NAME}. */
  public Path repoDir(HubRef ref) {
    return options.cacheRoot().resolve(ref.cacheDirName());
  }

  /**
   * The snapshot directory of {@code ref}, downloading what is missing unless offline.
   *
   * @throws IllegalArgumentException naming the cache path and what is missing (offline, or the hub
   *     has no such repository, revision or file), or the hub's refusal (401/403 names HF_TOKEN)
   * @throws UncheckedIOException when the hub cannot be reached, a download breaks off (run again
   *     to resume) or the cache cannot be written
   */
  public Path snapshot(HubRef ref, HubProgress progress) {
    Optional<Path> cached = cachedSnapshot(ref);
    if (cached.isPresent() && missingFiles(cached.get()).isEmpty()) {
      return cached.get();
    }
    if (options.offline()) {
      throw new IllegalArgumentException(notCachedMessage(ref, cached) + "; offline (HF_HUB_OFFLINE is set), so "
          + "nothing is downloaded; " + String.format(HOW_TO_DOWNLOAD, ref.repo()));
    }
    try {
      return download(ref, progress == null ? HubProgress.NONE : progress);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot download " + ref + " from " + options.endpoint() + ": " + describe(e)
          + "; run again to resume, or set HF_HUB_OFFLINE=1 to use only the cache at " + options.cacheRoot(), e);
    }
  }

  /** The snapshot directory the cache maps {@code ref} to, if the revision is known there (complete or not). */
  public Optional<Path> cachedSnapshot(HubRef ref) {
    Path repoDir = repoDir(ref);
    Path snapshots = repoDir.resolve("snapshots");
    if (ref.isCommit() && Files.isDirectory(snapshots.resolve(ref.revision()))) {
      return Optional.of(snapshots.resolve(ref.revision()));
    }
    Path refFile = repoDir.resolve("refs").resolve(ref.revision());
    if (!Files.isRegularFile(refFile)) {
      return Optional.empty();
    }
    String commit;
    try {
      commit = Files.readString(refFile, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + refFile + ": " + e.getMessage(), e);
    }
    if (!commit.matches("[0-9a-f]{40}")) {
      throw new IllegalArgumentException(refFile + " should hold a 40-hex-digit commit hash, found '" + commit + "'");
    }
    Path snap = snapshots.resolve(commit);
    return Files.isDirectory(snap) ? Optional.of(snap) : Optional.empty();
  }

  /** The files Loupe needs that a snapshot directory lacks (empty when it is loadable as far as files go). */
  public static List<String> missingFiles(Path snap) {
    List<String> missing = new ArrayList<>();
    for (String f : List.of(HfDirectory.CONFIG, HfDirectory.TOKENIZER)) {
      if (!Files.isRegularFile(snap.resolve(f))) {
        missing.add(f);
      }
    }
    if (Files.isRegularFile(snap.resolve(HfDirectory.WEIGHTS))) {
      return missing;
    }
    Path index = snap.resolve(HfDirectory.WEIGHTS_INDEX);
    if (!Files.isRegularFile(index)) {
      missing.add(HfDirectory.WEIGHTS + " (or " + HfDirectory.WEIGHTS_INDEX + ")");
      return missing;
    }
    try {
      for (String shard : shards(index)) {
        if (!Files.isRegularFile(snap.resolve(shard))) {
          missing.add(shard);
        }
      }
    } catch (IllegalArgumentException e) {
      // An unreadable index is reported by the loader with its own message; count it as present here.
    }
    return missing;
  }

  private String notCachedMessage(HubRef ref, Optional<Path> cached) {
    Path repoDir = repoDir(ref);
    if (cached.isPresent()) {
      return ref + " is only partly in the Hugging Face cache: " + cached.get() + " lacks "
          + String.join(", ", missingFiles(cached.get()));
    }
    if (!Files.isDirectory(repoDir)) {
      return ref + " is not in the Hugging Face cache: " + repoDir + " does not exist";
    }
    return ref + " is not in the Hugging Face cache: " + repoDir + " has no "
        + (ref.isCommit() ? "snapshots/" + ref.revision() + " or " : "") + "refs/" + ref.revision()
        + (ref.isCommit() ? "" : " pointing to a snapshot");
  }

  /** A file of the repository as the hub describes it before download. */
  private record Remote(String file, String blobName, String sha256, long size) {
  }

  private Path download(HubRef ref, HubProgress progress) throws IOException {
    JsonNode info = getJson(apiUrl(ref), ref, null);
    JsonNode shaNode = info.get("sha");
    if (shaNode == null || !shaNode.isTextual() || !shaNode.textValue().matches("[0-9a-f]{40}")) {
      throw new IOException("the hub's answer for " + ref + " has no commit hash in field 'sha'");
    }
    String commit = shaNode.textValue();
    Set<String> siblings = new LinkedHashSet<>();
    JsonNode sib = info.get("siblings");
    if (sib != null && sib.isArray()) {
      for (JsonNode s : sib) {
        JsonNode name = s.get("rfilename");
        if (name != null && name.isTextual()) {
          siblings.add(name.textValue());
        }
      }
    }
    Path repoDir = repoDir(ref);
    Path blobs = repoDir.resolve("blobs");
    Path snap = repoDir.resolve("snapshots").resolve(commit);
    Files.createDirectories(blobs);
    // Everything is fetched into blobs first and linked into the snapshot only when all is verified,
    // so a failed download never leaves a snapshot that looks loadable.
    Map<String, Path> fetched = new LinkedHashMap<>();
    for (String f : List.of(HfDirectory.CONFIG, HfDirectory.TOKENIZER)) {
      requireListed(siblings, f, ref, commit);
      fetched.put(f, fetch(ref, commit, f, snap, blobs, progress));
    }
    if (siblings.contains(HfDirectory.WEIGHTS)) {
      fetched.put(HfDirectory.WEIGHTS, fetch(ref, commit, HfDirectory.WEIGHTS, snap, blobs, progress));
    } else if (siblings.contains(HfDirectory.WEIGHTS_INDEX)) {
      Path index = fetch(ref, commit, HfDirectory.WEIGHTS_INDEX, snap, blobs, progress);
      fetched.put(HfDirectory.WEIGHTS_INDEX, index);
      for (String shard : shards(index)) {
        requireListed(siblings, shard, ref, commit);
        fetched.put(shard, fetch(ref, commit, shard, snap, blobs, progress));
      }
    } else {
      List<String> others = siblings.stream().filter(s -> s.endsWith(".bin") || s.endsWith(".h5")
          || s.endsWith(".msgpack") || s.endsWith(".pt") || s.endsWith(".ckpt")).toList();
      throw new IllegalArgumentException(ref + " (commit " + commit + ") has no " + HfDirectory.WEIGHTS + " or "
          + HfDirectory.WEIGHTS_INDEX + "; Loupe reads only safetensors weights"
          + (others.isEmpty() ? "" : " (the repository has " + String.join(", ", others) + ")"));
    }
    Files.createDirectories(snap);
    for (Map.Entry<String, Path> e : fetched.entrySet()) {
      link(snap.resolve(e.getKey()), e.getValue());
    }
    if (!ref.isCommit()) {
      Path refFile = repoDir.resolve("refs").resolve(ref.revision());
      AtomicFiles.write(refFile, commit.getBytes(StandardCharsets.US_ASCII));
    }
    return snap;
  }

  private static void requireListed(Set<String> siblings, String file, HubRef ref, String commit) {
    if (!siblings.contains(file)) {
      throw new IllegalArgumentException(ref + " (commit " + commit + ") has no file " + file
          + "; Loupe needs config.json, tokenizer.json and safetensors weights");
    }
  }

  /** The blob holding {@code file}: already linked in the snapshot, already in blobs, or downloaded now. */
  private Path fetch(HubRef ref, String commit, String file, Path snap, Path blobs, HubProgress progress)
      throws IOException {
    Path linked = snap.resolve(file);
    if (Files.isRegularFile(linked)) {
      return linked.toRealPath();
    }
    String url = options.base() + "/" + ref.repo() + "/resolve/" + commit + "/" + encodePath(file);
    Remote remote = head(url, ref, file);
    // Same place as huggingface_hub's lock files; the lock keeps two downloaders off one partial file.
    Path lockFile = options.cacheRoot().resolve(".locks").resolve(ref.cacheDirName())
        .resolve(remote.blobName() + ".lock");
    Files.createDirectories(lockFile.getParent());
    synchronized (LOCKS.computeIfAbsent(lockFile.toAbsolutePath(), k -> new Object())) {
      try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock lock = lockChannel.lock()) {
        return fetchLocked(ref, url, file, remote, blobs, progress);
      }
    }
  }

  private Path fetchLocked(HubRef ref, String url, String file, Remote remote, Path blobs, HubProgress progress)
      throws IOException {
    Path blob = blobs.resolve(remote.blobName());
    if (Files.isRegularFile(blob) && (remote.size() < 0 || Files.size(blob) == remote.size())) {
      return blob;
    }
    Path partial = blobs.resolve(remote.blobName() + ".incomplete");
    long total = getInto(url, ref, file, partial, remote.size(), progress);
    if (remote.size() >= 0 && total != remote.size()) {
      Files.deleteIfExists(partial);
      throw new IOException(file + " of " + ref + ": downloaded " + total + " bytes but the hub announced "
          + remote.size());
    }
    String actual = sha256(partial);
    String expected = remote.sha256();
    if (expected != null && !expected.equals(actual)) {
      Files.deleteIfExists(partial);
      throw new IllegalArgumentException(file + " of " + ref + " failed verification: its SHA-256 is " + actual
          + " but the hub announced " + expected + "; the corrupt download was deleted, run again to retry");
    }
    move(partial, blob);
    return blob;
  }

  /** Asks for a file's size and hash without its body; an LFS file's hash is on the redirecting answer. */
  private Remote head(String url, HubRef ref, String file) throws IOException {
    // Stops at a redirect to another host: storage URLs are often presigned for GET only, and the
    // hash and size are on the hub's own redirecting answer.
    Answer<Void> a = exchange(url, "HEAD", null, HttpResponse.BodyHandlers.discarding(), false);
    HttpResponse<Void> r = a.response();
    if (!isRedirect(r.statusCode())) {
      check(r.statusCode(), url, ref, file);
    }
    String etag = null;
    long size = -1;
    List<HttpHeaders> all = new ArrayList<>(a.hops());
    all.add(r.headers());
    for (HttpHeaders h : all) {
      String linked = h.firstValue("X-Linked-Etag").orElse(null);
      if (linked != null && etag == null) {
        etag = linked;
        size = h.firstValueAsLong("X-Linked-Size").orElse(size);
      }
    }
    // A redirect's own ETag and Content-Length describe the redirect, not the file.
    boolean arrived = !isRedirect(r.statusCode());
    if (etag == null && arrived) {
      etag = r.headers().firstValue("ETag").orElse(null);
    }
    if (size < 0 && arrived) {
      size = r.headers().firstValueAsLong("Content-Length").orElse(-1);
    }
    String clean = etag == null ? null : etag.replaceFirst("^W/", "").replace("\"", "").trim();
    String sha = clean != null && SHA256.matcher(clean).matches() ? clean : null;
    String blobName;
    if (clean != null && clean.matches("[A-Za-z0-9_-]{8,128}")) {
      blobName = clean;
    } else {
      // No usable etag: name the blob by commit and file so a retry resumes the same partial file.
      blobName = sha256Hex((ref.repo() + "/" + url).getBytes(StandardCharsets.UTF_8));
    }
    return new Remote(file, blobName, sha, size);
  }

  /**
   * Streams {@code url} into {@code partial}, continuing a partial file with a Range request when
   * the server honours it (206 from the right offset) and starting over otherwise.
   *
   * @return the size of the file on disk when the body ended
   */
  private long getInto(String url, HubRef ref, String file, Path partial, long size, HubProgress progress)
      throws IOException {
    long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
    if (size >= 0 && have > size) {
      Files.delete(partial);
      have = 0;
    }
    if (size >= 0 && have == size) {
      // Complete but not yet verified (an earlier run stopped there): nothing to ask for.
      progress.update(file, have, size);
      return have;
    }
    HttpResponse<InputStream> r = exchange(url, "GET", have > 0 ? "bytes=" + have + "-" : null,
        HttpResponse.BodyHandlers.ofInputStream(), true).response();
    try (InputStream in = r.body()) {
      int status = r.statusCode();
      if (status == 416 && have > 0) {
        // The partial file does not fit what the server has: start over once.
        in.close();
        Files.delete(partial);
        return getInto(url, ref, file, partial, size, progress);
      }
      check(status, url, ref, file);
      boolean append = false;
      if (status == 206) {
        Matcher m = CONTENT_RANGE.matcher(r.headers().firstValue("Content-Range").orElse(""));
        append = have > 0 && m.matches() && Long.parseLong(m.group(1)) == have;
      }
      long total = size;
      if (total < 0 && status == 200) {
        total = r.headers().firstValueAsLong("Content-Length").orElse(-1);
      }
      long done = append ? have : 0;
      try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
        if (status != 200 && !append) {
          throw new IOException("the hub answered " + status + " with Content-Range '"
              + r.headers().firstValue("Content-Range").orElse("") + "' to a request for " + file + " from byte "
              + have);
        }
        byte[] buf = new byte[1 << 16];
        progress.update(file, done, total);
        for (int n; (n = in.read(buf)) > 0; ) {
          ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
          while (bb.hasRemaining()) {
            ch.write(bb);
          }
          done += n;
          progress.update(file, done, total);
        }
        ch.force(false);
      }
      return Files.size(partial);
    }
  }

  private JsonNode getJson(String url, HubRef ref, String file) throws IOException {
    HttpResponse<byte[]> r = exchange(url, "GET", null, HttpResponse.BodyHandlers.ofByteArray(), true)
        .response();
    check(r.statusCode(), url, ref, file);
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new IOException("the hub's answer from " + url + " is not JSON: " + e.getMessage(), e);
    }
  }

  private String apiUrl(HubRef ref) {
    return options.base() + "/api/models/" + ref.repo() + "/revision/"
        + URLEncoder.encode(ref.revision(), StandardCharsets.UTF_8);
  }

  /** The final answer to a request and the headers of the redirects that led to it, first to last. */
  private record Answer<T>(HttpResponse<T> response, List<HttpHeaders> hops) {
  }

  /**
   * Sends a request and follows up to {@value #MAX_REDIRECTS} redirects (relative ones too),
   * keeping the method and Range; the token is sent only to the endpoint's own scheme, host and port.
   *
   * @param leaveOrigin whether to follow a redirect away from the endpoint; if not, that redirect is
   *     the answer
   */
  private <T> Answer<T> exchange(String url, String method, String range, HttpResponse.BodyHandler<T> handler,
      boolean leaveOrigin) throws IOException {
    URI uri = URI.create(url);
    List<HttpHeaders> hops = new ArrayList<>();
    for (int i = 0; i <= MAX_REDIRECTS; i++) {
      HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("User-Agent", "loupe")
          .method(method, HttpRequest.BodyPublishers.noBody());
      if (options.token() != null && sameOrigin(uri, options.endpoint())) {
        b.header("Authorization", "Bearer " + options.token());
      }
      if (range != null) {
        b.header("Range", range);
      }
      HttpResponse<T> r = send(b.build(), info -> isRedirect(info.statusCode())
          ? HttpResponse.BodySubscribers.<T>replacing(null) : handler.apply(info));
      if (!isRedirect(r.statusCode())) {
        return new Answer<>(r, hops);
      }
      hops.add(r.headers());
      URI from = uri;
      String location = r.headers().firstValue("Location").orElseThrow(() -> new IOException(
          "the hub answered " + r.statusCode() + " without a Location header for " + from));
      URI next;
      try {
        next = uri.resolve(location);
      } catch (IllegalArgumentException e) {
        throw new IOException("the hub redirected " + from + " to an invalid location '" + location + "'", e);
      }
      if (next.getScheme() == null || next.getHost() == null
          || !(next.getScheme().equalsIgnoreCase("http") || next.getScheme().equalsIgnoreCase("https"))) {
        throw new IOException("the hub redirected " + from + " to '" + location + "', which is not an http(s) URL");
      }
      if (!leaveOrigin && !sameOrigin(next, options.endpoint())) {
        return new Answer<>(r, hops.subList(0, hops.size() - 1));
      }
      uri = next;
    }
    throw new IOException("more than " + MAX_REDIRECTS + " redirects from " + url);
  }

  private static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  private static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI u) {
    return u.getPort() >= 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
  }

  private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) throws IOException {
    try {
      return http.send(req, handler);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while talking to " + req.uri(), e);
    }
  }

  /** Turns an error status into a message saying what to do about it. */
  private void check(int status, String url, HubRef ref, String file) throws IOException {
    if (status >= 200 && status < 300) {
      return;
    }
    String what = file == null ? "repository " + ref.repo() + " at revision " + ref.revision()
        : "file " + file + " of " + ref.repo() + " at revision " + ref.revision();
    if (status == 401 || status == 403) {
      throw new IllegalArgumentException("the hub refused access (" + status + ") to " + what + " at " + url + "; "
          + (options.token() == null ? "set HF_TOKEN to an access token: the model may be private or gated"
              : "the token in HF_TOKEN was not accepted or lacks access (gated models need their terms accepted)"));
    }
    if (status == 404) {
      throw new IllegalArgumentException("the hub has no " + what + " (404 from " + url + "); check the name"
          + (file == null ? " and revision" : ""));
    }
    throw new IOException("the hub answered " + status + " for " + what + " at " + url);
  }

  /** Publishes a snapshot entry: a relative symlink into blobs, like huggingface_hub, or a copy where links fail. */
  private static void link(Path entry, Path blob) throws IOException {
    Files.createDirectories(entry.getParent());
    Path tmp = entry.resolveSibling("." + entry.getFileName() + "." + System.nanoTime() + ".tmp");
    try {
      try {
        Files.createSymbolicLink(tmp, entry.getParent().relativize(blob));
      } catch (UnsupportedOperationException | IOException e) {
        Files.deleteIfExists(tmp);
        Files.copy(blob, tmp);
      }
      move(tmp, entry);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot atomically rename " + from + " to " + to, e);
    }
  }

  /** The shard files an index names, in first-seen order. */
  static List<String> shards(Path index) {
    JsonNode root;
    try {
      root = JSON.readTree(index.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException(index + " is not valid JSON: " + e.getMessage(), e);
    }
    JsonNode map = root == null ? null : root.get("weight_map");
    if (map == null || !map.isObject()) {
      throw new IllegalArgumentException(index + ": field weight_map is missing; expected an object mapping each "
          + "tensor name to its shard file");
    }
    Set<String> out = new LinkedHashSet<>();
    for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
      JsonNode v = it.next();
      if (!v.isTextual() || v.textValue().contains("..") || v.textValue().startsWith("/")) {
        throw new IllegalArgumentException(index + ": weight_map values must be shard file names, got " + v);
      }
      out.add(v.textValue());
    }
    return new ArrayList<>(out);
  }

  private static String encodePath(String file) {
    List<String> parts = new ArrayList<>();
    for (String p : file.split("/")) {
      parts.add(URLEncoder.encode(p, StandardCharsets.UTF_8).replace("+", "%20"));
    }
    return String.join("/", parts);
  }

  private static String sha256(Path file) throws IOException {
    MessageDigest md = digest();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(digest().digest(bytes));
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : " (" + m + ")");
  }
}
