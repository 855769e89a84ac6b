package dev.loupe.core.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobListener;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.job.Progress;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * How {@code loupe job} shows a running job: a progress bar on a terminal, a progress line per
 * five seconds otherwise, or one JSON event per line. Progress is coalesced to about 10 events per
 * second in JSON and one per 5 s in plain text; metrics, results and status go out as they come.
 */
abstract class JobOutput implements JobListener, AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private long lastProgressNanos;
  private boolean closed;

  static JobOutput json(PrintWriter out) {
    return new Json(out);
  }

  static JobOutput human(PrintWriter err, boolean terminal) {
    return terminal ? new Bar() : new Lines(err);
  }

  /** Whether a progress event is due, given the minimum interval. */
  synchronized boolean due(Progress p, long intervalNanos) {
    long now = System.nanoTime();
    boolean last = p.total() > 0 && p.done() >= p.total();
    if (last || lastProgressNanos == 0 || now - lastProgressNanos >= intervalNanos) {
      lastProgressNanos = now;
      return true;
    }
    return false;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      onClose();
    }
  }

  void onClose() {}

  /** One JSON event per line on stdout. */
  private static final class Json extends JobOutput {
    private final PrintWriter out;

    Json(PrintWriter out) {
      this.out = out;
    }

    private void emit(String type, Map<String, Object> fields) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("event", type);
      m.putAll(fields);
      String line;
      try {
        line = JSON.writeValueAsString(m);
      } catch (JsonProcessingException e) {
        line = "{\"event\":\"error\",\"message\":" + JSON.getNodeFactory().textNode(e.getMessage()) + "}";
      }
      synchronized (out) {
        out.println(line);
        out.flush();
      }
    }

    @Override
    public void onProgress(JobHandle job, Progress p) {
      if (due(p, 100_000_000L)) {
        emit("progress", Map.of("jobId", job.id(), "done", p.done(), "total", p.total(), "unit", p.unit()));
      }
    }

    @Override
    public void onMetrics(JobHandle job, long step, Map<String, Double> values) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("jobId", job.id());
      f.put("step", step);
      f.put("values", values);
      emit("metrics", f);
    }

    @Override
    public void onResult(JobHandle job, String name, Object result) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("jobId", job.id());
      f.put("name", name);
      f.put("path", job.artifactDir().resolve("results").resolve(name + ".json").toString());
      f.put("result", result);
      emit("result", f);
    }

    @Override
    public void onStatus(JobHandle job, JobStatus s) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("jobId", s.jobId());
      f.put("method", s.method());
      f.put("state", s.state().name());
      f.put("message", s.message());
      f.put("artifactDir", s.artifactDir().toString());
      emit("status", f);
    }
  }

  /** Plain lines on stderr, for logs and pipes. */
  private static final class Lines extends JobOutput {
    private final PrintWriter err;

    Lines(PrintWriter err) {
      this.err = err;
    }

    @Override
    public void onProgress(JobHandle job, Progress p) {
      if (due(p, 5_000_000_000L)) {
        String pct = p.fraction() < 0 ? "" : String.format(Locale.ROOT, " (%.0f%%)", 100 * p.fraction());
        err.println("progress: " + p.done() + (p.total() > 0 ? "/" + p.total() : "") + " " + p.unit() + pct);
        err.flush();
      }
    }

    @Override
    public void onResult(JobHandle job, String name, Object result) {
      err.println("result " + name + ": " + job.artifactDir().resolve("results").resolve(name + ".json"));
      err.flush();
    }

    @Override
    public void onStatus(JobHandle job, JobStatus s) {
      if (!s.state().isFinal()) {
        err.println("job " + s.jobId() + " " + s.state().name().toLowerCase(Locale.ROOT) + " (" + s.method() + ")");
        err.flush();
      }
    }
  }

  /** A progress bar on the terminal. */
  private static final class Bar extends JobOutput {
    private ProgressBar bar;

    @Override
    public synchronized void onProgress(JobHandle job, Progress p) {
      if (bar == null) {
        bar = new ProgressBarBuilder().setTaskName(job.method()).setInitialMax(p.total())
            .setUnit(" " + p.unit(), 1).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(200).build();
      }
      if (p.total() > 0 && bar.getMax() != p.total()) {
        bar.maxHint(p.total());
      }
      bar.stepTo(p.done());
    }

    @Override
    synchronized void onClose() {
      if (bar != null) {
        bar.close();
      }
    }
  }
}
