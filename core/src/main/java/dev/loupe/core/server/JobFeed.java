package dev.loupe.core.server;

import dev.loupe.core.job.JobAddresses;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One client following one job over a WebSocket: first what the job stored (its metrics rows from
 * {@code metrics.jsonl}, from row {@code since} on, and the results it published), then what
 * happens live (metrics, progress, results, status), never dropping a metrics row and never
 * holding more than a bounded amount for a slow client:
 * <ul>
 *   <li>metrics are read from the file, from the byte offset this client has reached, in chunks
 *       of at most {@value #CHUNK_BYTES} bytes; a live metrics event only says "read again", and
 *       while the client's write queue is full nothing is read, so a stalled client costs one
 *       offset, not a queue of rows (it catches up from the file when it drains);</li>
 *   <li>progress and status keep only the latest value while the client cannot take more;</li>
 *   <li>published results are announced by name (the content inline when at most
 *       {@value #INLINE_RESULT_BYTES} bytes), at most one pending announcement per name.</li>
 * </ul>
 * A status is sent once the metrics before it have been sent, so a client sees a job's last rows
 * before its final state. Runs on the event loop of its connection (event-bus messages and
 * worker results come back to it), so its state needs no locks.
 */
final class JobFeed {
  /** Largest metrics chunk read and sent at once. */
  static final int CHUNK_BYTES = 256 * 1024;
  /** Results up to this size are sent inline with their announcement. */
  static final int INLINE_RESULT_BYTES = 64 * 1024;

  private final FeedSink sink;
  private final String job;
  private final Path dir;
  private final boolean live;
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();

  private long offset;
  private long index;
  private boolean started;
  private boolean pumping;
  private boolean again;
  private boolean waitingForDrain;
  private boolean closed;
  private JsonObject pendingProgress;
  private JsonObject pendingStatus;
  private final Map<String, JsonObject> pendingResults = new LinkedHashMap<>();

  // Counters for tests and the load benchmark.
  private long progressEvents;
  private long progressSent;
  private long metricsRowsSent;

  /**
   * @param live whether the job runs on this node (then its events are followed), or is only a
   *     directory (then only what it stored is sent)
   */
  JobFeed(FeedSink sink, String job, Path dir, boolean live) {
    this.sink = sink;
    this.job = job;
    this.dir = dir;
    this.live = live;
  }

  String job() {
    return job;
  }

  long progressEvents() {
    return progressEvents;
  }

  long progressSent() {
    return progressSent;
  }

  long metricsRowsSent() {
    return metricsRowsSent;
  }

  /** Pending frames held for this client: at most one progress, one status, one per result name. */
  int pending() {
    return (pendingProgress != null ? 1 : 0) + (pendingStatus != null ? 1 : 0) + pendingResults.size();
  }

  /**
   * Starts following: subscribes to the job's events first (so nothing published from now on is
   * missed), then replays the stored rows from {@code since} and the stored results.
   *
   * @param status the job's status now, sent in the {@code subscribed} frame
   */
  void start(long since, JsonObject status, Object requestId) {
    if (live) {
      var bus = sink.vertx().eventBus();
      consumers.add(bus.<JsonObject>consumer(JobAddresses.progress(job), m -> {
        progressEvents++;
        pendingProgress = m.body();
        flush();
      }));
      consumers.add(bus.<JsonObject>consumer(JobAddresses.metrics(job), m -> pump()));
      consumers.add(bus.<JsonObject>consumer(JobAddresses.status(job), m -> {
        pendingStatus = m.body();
        pump(); // the status goes out after the rows written before it
      }));
      consumers.add(bus.<JsonObject>consumer(JobAddresses.results(job), m -> announce(m.body().getString("name"))));
    }
    sink.send(new JsonObject().put("type", "subscribed").put("job", job).put("id", requestId).put("since", since)
        .put("status", status));
    Path metrics = dir.resolve("metrics.jsonl");
    sink.vertx().<Object[]>executeBlocking(() -> new Object[] {JobFiles.offsetOfRow(metrics, since),
        storedResults()}, false).onComplete(ar -> {
          if (closed) {
            return;
          }
          if (ar.failed()) {
            sink.send(error("cannot read the job's files: " + ar.cause().getMessage()));
            return;
          }
          long[] at = (long[]) ar.result()[0];
          offset = at[0];
          index = at[1];
          @SuppressWarnings("unchecked")
          List<JsonObject> stored = (List<JsonObject>) ar.result()[1];
          stored.forEach(r -> pendingResults.putIfAbsent(r.getString("name"), r));
          started = true;
          pump();
        });
  }

  private List<JsonObject> storedResults() throws java.io.IOException {
    List<JsonObject> out = new ArrayList<>();
    for (Object o : JobFiles.results(dir)) {
      out.add(resultFrame(((JsonObject) o).getString("name")));
    }
    return out;
  }

  /** A result announcement, with the content when it is small (blocking: reads the file). */
  private JsonObject resultFrame(String name) throws java.io.IOException {
    Path f = JobFiles.result(dir, name);
    long bytes = Files.size(f);
    JsonObject frame = new JsonObject().put("type", "result").put("job", job).put("name", name).put("bytes", bytes)
        .put("url", "/api/jobs/" + job + "/results/" + name);
    if (bytes <= INLINE_RESULT_BYTES) {
      String text = Files.readString(f, StandardCharsets.UTF_8);
      frame.put("result", io.vertx.core.json.Json.decodeValue(text));
    }
    return frame;
  }

  private void announce(String name) {
    if (name == null) {
      return;
    }
    sink.vertx().executeBlocking(() -> resultFrame(name), false).onComplete(ar -> {
      if (closed) {
        return;
      }
      pendingResults.put(name, ar.succeeded() ? ar.result() : new JsonObject().put("type", "result").put("job", job)
          .put("name", name).put("url", "/api/jobs/" + job + "/results/" + name));
      flush();
    });
  }

  /** Reads and sends the metrics rows the client has not had yet, one chunk at a time. */
  private void pump() {
    if (closed || !started) {
      return;
    }
    if (pumping) {
      again = true;
      return;
    }
    if (sink.full()) {
      waitingForDrain = true;
      return;
    }
    pumping = true;
    again = false;
    long fromOffset = offset;
    long fromIndex = index;
    Path file = dir.resolve("metrics.jsonl");
    // The worker reads, checks and wraps the rows into the frame's text: the event loop only sends it.
    sink.vertx().executeBlocking(() -> Chunk.read(file, fromOffset, fromIndex, job), false).onComplete(ar -> {
      pumping = false;
      if (closed) {
        return;
      }
      if (ar.failed()) {
        sink.send(error("cannot read metrics.jsonl: " + ar.cause().getMessage()));
        return;
      }
      Chunk chunk = ar.result();
      boolean more = chunk.more();
      if (chunk.truncated()) {
        // The job was started afresh under the same id: its metrics begin again.
        offset = 0;
        index = 0;
        sink.send(new JsonObject().put("type", "reset").put("job", job));
        more = true;
      } else if (chunk.rows() > 0) {
        sink.sendText(chunk.frame());
        index += chunk.rows();
        metricsRowsSent += chunk.rows();
        offset = chunk.nextOffset();
      }
      if (more || again) {
        pump();
      }
      flush();
    });
  }

  /** A metrics frame read from the file, ready to send. */
  private record Chunk(String frame, int rows, long nextOffset, boolean more, boolean truncated) {
    static Chunk read(Path file, long offset, long index, String job) throws java.io.IOException {
      JobFiles.MetricsChunk c = JobFiles.readLines(file, offset, CHUNK_BYTES);
      if (c.truncated() || c.lines().isEmpty()) {
        return new Chunk(null, 0, c.nextOffset(), c.more(), c.truncated());
      }
      StringBuilder sb = new StringBuilder(c.lines().stream().mapToInt(String::length).sum() + c.lines().size() + 96);
      sb.append("{\"type\":\"metrics\",\"job\":").append(io.vertx.core.json.Json.encode(job)).append(",\"from\":")
          .append(index).append(",\"rows\":[");
      boolean first = true;
      for (String line : c.lines()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        // Rows go out as written; one that does not parse (a damaged file) goes out as null, so
        // indexes stay those of the file's lines.
        sb.append(JobFiles.parseRow(line) == null ? "null" : line.strip());
      }
      sb.append("]}");
      return new Chunk(sb.toString(), c.lines().size(), c.nextOffset(), c.more(), false);
    }
  }

  /** Sends what is pending, as far as the client's write queue allows. */
  void flush() {
    if (closed) {
      return;
    }
    var it = pendingResults.values().iterator();
    while (it.hasNext() && !sink.full()) {
      sink.send(it.next());
      it.remove();
    }
    if (pendingProgress != null && !sink.full()) {
      sink.send(new JsonObject().put("type", "progress").put("job", job).put("progress", pendingProgress));
      pendingProgress = null;
      progressSent++;
    }
    if (pendingStatus != null && started && !pumping && !again && !sink.full()) {
      sink.send(new JsonObject().put("type", "status").put("job", job).put("status", pendingStatus));
      pendingStatus = null;
    }
    if (pending() > 0 && sink.full()) {
      waitingForDrain = true;
    }
  }

  /** The client's write queue has drained: catch up. */
  void drained() {
    if (waitingForDrain) {
      waitingForDrain = false;
      pump();
      flush();
    }
  }

  private JsonObject error(String message) {
    return new JsonObject().put("type", "error").put("op", "subscribe").put("job", job).put("status", 500)
        .put("error", message);
  }

  /** Stops following; nothing more is sent. */
  void close() {
    closed = true;
    consumers.forEach(MessageConsumer::unregister);
    consumers.clear();
    pendingResults.clear();
    pendingProgress = null;
    pendingStatus = null;
  }
}
