package dev.loupe.core.server;

import dev.loupe.core.job.SafePaths;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The files of jobs in the run directory, read for the API: stored statuses (also of jobs run by
 * earlier processes or by {@code loupe job}), {@code metrics.jsonl} rows by index, the artifact
 * tree and {@code results/NAME.json}. Every name from a request goes through {@link SafePaths}.
 * Blocking: call it off the event loop.
 */
final class JobFiles {
  /** Most entries an artifact listing returns. */
  static final int MAX_ARTIFACTS = 10_000;
  /** Most metrics rows one request returns. */
  static final int MAX_METRICS_ROWS = 100_000;

  private final Path runDir;

  JobFiles(Path runDir) {
    this.runDir = runDir.toAbsolutePath().normalize();
  }

  Path runDir() {
    return runDir;
  }

  /** The directory of a job in the run directory, if there is one (not a link). */
  Path dirOf(String jobId) {
    SafePaths.name("id", jobId);
    Path d = runDir.resolve(jobId);
    return Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) ? d : null;
  }

  /** A job's status.json, or null when it has none or it is unreadable. */
  static JsonObject storedStatus(Path jobDir) {
    Path f = jobDir.resolve("status.json");
    if (!SafePaths.isPlainFile(f)) {
      return null;
    }
    try {
      return new JsonObject(Files.readString(f, StandardCharsets.UTF_8));
    } catch (IOException | DecodeException e) {
      return null;
    }
  }

  /** The stored status of every job directory in the run directory (those with a status.json). */
  List<JsonObject> storedJobs() {
    if (!Files.isDirectory(runDir)) {
      return List.of();
    }
    List<JsonObject> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(runDir)) {
      for (Path d : s.sorted().toList()) {
        if (Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) && SafePaths.NAME.matcher(d.getFileName().toString()).matches()) {
          JsonObject st = storedStatus(d);
          if (st != null) {
            out.add(st);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the run directory " + runDir + ": " + e.getMessage(), e);
    }
    return out;
  }

  /**
   * Rows {@code since, since + 1, ...} of a job's metrics.jsonl (at most {@code limit}), each as
   * written ({@code {step, time, name: value...}}). A last line still being written (no newline
   * yet) is not returned; a row that does not parse is returned as null, so indexes stay those of
   * the file's lines.
   */
  static JsonArray metrics(Path jobDir, long since, int limit) throws IOException {
    JsonArray out = new JsonArray();
    Path f = jobDir.resolve("metrics.jsonl");
    if (!SafePaths.isPlainFile(f)) {
      return out;
    }
    try (InputStream in = Files.newInputStream(f)) {
      long index = 0;
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = r.read()) >= 0) {
        if (c != '\n') {
          if (index >= since) {
            line.append((char) c);
          }
          continue;
        }
        if (index >= since) {
          out.add(parseRow(line.toString()));
          line.setLength(0);
          if (out.size() >= limit) {
            break;
          }
        }
        index++;
      }
    }
    return out;
  }

  static Object parseRow(String line) {
    try {
      return new JsonObject(line);
    } catch (DecodeException e) {
      return null;
    }
  }

  /** Complete lines read from a metrics file from a byte offset. */
  record MetricsChunk(List<String> lines, long nextOffset, boolean more, boolean truncated) {
  }

  /**
   * Reads whole lines of {@code file} from {@code offset}, at most about {@code maxBytes}.
   * {@code truncated} says the file is now shorter than {@code offset} (it was started afresh);
   * {@code more} that complete lines remain after this chunk.
   */
  static MetricsChunk readLines(Path file, long offset, int maxBytes) throws IOException {
    if (!Files.exists(file)) {
      return new MetricsChunk(List.of(), offset, false, false);
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < offset) {
        return new MetricsChunk(List.of(), 0, false, true);
      }
      int want = (int) Math.min(maxBytes, size - offset);
      ByteBuffer buf = ByteBuffer.allocate(want);
      while (buf.hasRemaining() && ch.read(buf, offset + buf.position()) > 0) {
        // read until full or end of file
      }
      byte[] bytes = buf.array();
      int n = buf.position();
      int lastNl = -1;
      for (int i = n - 1; i >= 0; i--) {
        if (bytes[i] == '\n') {
          lastNl = i;
          break;
        }
      }
      if (lastNl < 0) {
        if (n == maxBytes) {
          throw new IOException(file + ": a metrics row longer than " + maxBytes + " bytes");
        }
        return new MetricsChunk(List.of(), offset, false, false);
      }
      List<String> lines = new ArrayList<>();
      int start = 0;
      for (int i = 0; i <= lastNl; i++) {
        if (bytes[i] == '\n') {
          lines.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
          start = i + 1;
        }
      }
      long next = offset + lastNl + 1;
      // Capped reads may have left whole lines behind; an uncapped one read to the end, and what
      // follows its last newline is a line still being written.
      return new MetricsChunk(lines, next, want == maxBytes && next < size, false);
    }
  }

  /** The byte offset after the first {@code rows} complete lines (or the end of the complete lines). */
  static long[] offsetOfRow(Path file, long rows) throws IOException {
    if (rows <= 0 || !Files.exists(file)) {
      return new long[] {0, 0};
    }
    try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      long offset = 0;
      long seen = 0;
      long lastLineEnd = 0;
      int c;
      while (seen < rows && (c = in.read()) >= 0) {
        offset++;
        if (c == '\n') {
          seen++;
          lastLineEnd = offset;
        }
      }
      return new long[] {lastLineEnd, seen};
    }
  }

  /** Every regular file under the job directory: path (relative, '/'), bytes, modified time. */
  static JsonArray artifacts(Path jobDir) throws IOException {
    JsonArray out = new JsonArray();
    try (Stream<Path> s = Files.walk(jobDir)) {
      for (Path p : s.sorted().toList()) {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile() || p.getFileName().toString().startsWith(".")) {
          continue; // directories, links, and temp files of atomic writes
        }
        if (out.size() >= MAX_ARTIFACTS) {
          break;
        }
        out.add(new JsonObject().put("path", jobDir.relativize(p).toString().replace('\\', '/'))
            .put("bytes", a.size()).put("modified", a.lastModifiedTime().toString()));
      }
    }
    return out;
  }

  /**
   * The artifact {@code path} of a job: a regular file whose real path is inside the job directory.
   *
   * @throws IllegalArgumentException naming 'path' for a bad or escaping name
   * @throws NoSuchFileException when there is no such file
   */
  static Path artifact(Path jobDir, String path) throws IOException {
    Path real = SafePaths.existing(jobDir, "path", path);
    if (!Files.isRegularFile(real)) {
      throw new NoSuchFileException(path + " (a directory; GET .../artifacts lists the files)");
    }
    return real;
  }

  /** The results a job published: name, bytes, modified. */
  static JsonArray results(Path jobDir) throws IOException {
    JsonArray out = new JsonArray();
    Path dir = jobDir.resolve("results");
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return out;
    }
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.sorted().toList()) {
        String file = p.getFileName().toString();
        if (!file.endsWith(".json") || file.startsWith(".") || !SafePaths.isPlainFile(p)) {
          continue;
        }
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        out.add(new JsonObject().put("name", file.substring(0, file.length() - 5)).put("bytes", a.size())
            .put("modified", a.lastModifiedTime().toString()));
      }
    }
    return out;
  }

  /**
   * The file of result {@code name} ({@code results/NAME.json}; a trailing {@code .json} in the
   * name is accepted).
   *
   * @throws IllegalArgumentException naming 'name' when it is not a plain name
   * @throws NoSuchFileException when the job has no such result
   */
  static Path result(Path jobDir, String name) throws IOException {
    String n = name.endsWith(".json") ? name.substring(0, name.length() - 5) : name;
    SafePaths.name("name", n);
    Path f = jobDir.resolve("results").resolve(n + ".json");
    if (!SafePaths.isPlainFile(f)) {
      throw new NoSuchFileException("results/" + n + ".json (GET .../results lists the job's results)");
    }
    return SafePaths.inside(jobDir, "name", f, name);
  }
}
