package dev.loupe.core.coder;

import dev.loupe.core.job.SafePaths;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The sparse coders (SAEs, transcoders, crosscoders) that jobs left in a run directory: every
 * {@code <runDir>/<job>/<name>/} holding {@code cfg.json} and {@code sae_weights.safetensors}
 * (the SAELens layout). A coder's id is {@code job:name} ({@code sae-demo:sae}); a job with one
 * coder may be named by its job id alone. Reads the disk on every call (nothing cached), so run it
 * off the event loop. Thread-safe.
 */
public final class CoderCatalog {
  private final Path runDir;

  /** @param runDir the directory holding one directory per job */
  public CoderCatalog(Path runDir) {
    this.runDir = runDir.toAbsolutePath().normalize();
  }

  public Path runDir() {
    return runDir;
  }

  /**
   * One coder on disk.
   *
   * @param id {@code job:name}
   * @param job the job that wrote it
   * @param name its directory under the job's ({@code sae}, {@code transcoder}, ...)
   * @param dir its directory
   * @param cfg its cfg.json
   */
  public record Entry(String id, String job, String name, Path dir, JsonObject cfg) {
    /** {@code sae}, {@code transcoder} or {@code crosscoder}. */
    public String kind() {
      String k = cfg.getString("loupe_kind");
      if (k != null) {
        return k;
      }
      String arch = String.valueOf(cfg.getValue("architecture"));
      return arch.endsWith("transcoder") ? "transcoder" : arch.equals("crosscoder") ? "crosscoder" : "sae";
    }

    public int dIn() {
      return cfg.getInteger("d_in", 0);
    }

    public int dSae() {
      return cfg.getInteger("d_sae", 0);
    }

    /** The output width: d_out for transcoders, d_in otherwise. */
    public int dOut() {
      return cfg.getInteger("d_out", dIn());
    }

    /** The hook it reads (null when cfg.json names none). */
    public String hook() {
      return cfg.getString("hook_name");
    }

    /** The hook its decoder writes: hook_name_out for transcoders, else the hook it reads. */
    public String hookOut() {
      String out = cfg.getString("hook_name_out");
      return out != null ? out : hook();
    }

    /** The model it was trained on (cfg.json's model_name), or null. */
    public String model() {
      return cfg.getString("model_name");
    }

    /** The job directory: config.json, results/, ... */
    public Path jobDir() {
      return dir.getParent();
    }

    /** {@code results/features.json} of its job (per-latent dashboards), whether or not it exists. */
    public Path featuresFile() {
      return jobDir().resolve("results").resolve("features.json");
    }

    /** {@code results/summary.json} of its job, whether or not it exists. */
    public Path summaryFile() {
      return jobDir().resolve("results").resolve("summary.json");
    }
  }

  /** Every coder under the run directory, sorted by id; empty when the directory does not exist. */
  public List<Entry> list() {
    if (!Files.isDirectory(runDir)) {
      return List.of();
    }
    List<Entry> out = new ArrayList<>();
    try (Stream<Path> jobs = Files.list(runDir)) {
      for (Path job : jobs.sorted().toList()) {
        if (!Files.isDirectory(job, LinkOption.NOFOLLOW_LINKS) || !SafePaths.NAME.matcher(job.getFileName().toString())
            .matches()) {
          continue;
        }
        out.addAll(coders(job));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the run directory " + runDir + ": " + e.getMessage(), e);
    }
    out.sort(Comparator.comparing(Entry::id));
    return out;
  }

  /** The coders in one job directory. */
  private List<Entry> coders(Path jobDir) throws IOException {
    List<Entry> out = new ArrayList<>();
    try (Stream<Path> dirs = Files.list(jobDir)) {
      for (Path d : dirs.sorted().toList()) {
        String name = d.getFileName().toString();
        if (name.equals("checkpoints") || !Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)
            || !SafePaths.NAME.matcher(name).matches()) {
          continue;
        }
        Optional<Entry> e = read(jobDir.getFileName().toString(), name, d);
        e.ifPresent(out::add);
      }
    }
    return out;
  }

  private static Optional<Entry> read(String job, String name, Path dir) {
    Path cfg = dir.resolve(SparseCoderFiles.CFG);
    if (!SafePaths.isPlainFile(cfg) || !SafePaths.isPlainFile(dir.resolve(SparseCoderFiles.WEIGHTS))) {
      return Optional.empty();
    }
    try {
      return Optional.of(new Entry(job + ":" + name, job, name, dir, new JsonObject(Files.readString(cfg,
          StandardCharsets.UTF_8))));
    } catch (IOException | DecodeException e) {
      return Optional.empty(); // half-written or foreign: not a coder we can serve
    }
  }

  /**
   * The coder of that id: {@code job:name}, or {@code job} when the job has exactly one coder.
   *
   * @throws IllegalArgumentException naming {@code field} when the id is malformed, or the job has
   *     several coders and the id does not say which
   */
  public Optional<Entry> find(String field, String id) {
    if (id == null || id.isEmpty()) {
      throw new IllegalArgumentException("'" + field + "': empty; expected a coder id such as sae-demo:sae");
    }
    int colon = id.indexOf(':');
    String job = SafePaths.name(field, colon < 0 ? id : id.substring(0, colon));
    Path jobDir = runDir.resolve(job);
    if (!Files.isDirectory(jobDir, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    if (colon >= 0) {
      String name = SafePaths.name(field, id.substring(colon + 1));
      return read(job, name, jobDir.resolve(name));
    }
    List<Entry> all;
    try {
      all = coders(jobDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + jobDir + ": " + e.getMessage(), e);
    }
    if (all.size() > 1) {
      throw new IllegalArgumentException("'" + field + "': job '" + job + "' holds " + all.size() + " coders; name one: "
          + all.stream().map(Entry::id).toList());
    }
    return all.stream().findFirst();
  }

  /**
   * Resolves a coder reference from a request: {@code {"id": "job:name"}}, {@code {"job": ID}}
   * (optionally with {@code "name"}) or {@code {"path": "job/dir"}} (relative to the run
   * directory; links may not lead outside it).
   *
   * @throws IllegalArgumentException naming {@code field} (e.g. {@code hooks[0].coder.job}) when the
   *     reference is malformed or names no coder
   */
  public Entry resolve(String field, Object ref) {
    if (ref instanceof String s) {
      return find(field, s).orElseThrow(() -> new IllegalArgumentException("'" + field + "': no coder '" + s
          + "' in the run directory; GET /api/coders lists them"));
    }
    if (!(ref instanceof JsonObject o)) {
      throw new IllegalArgumentException("'" + field + "': expected {\"job\": ID} , {\"id\": \"job:name\"} or "
          + "{\"path\": \"job/dir\"}");
    }
    for (String k : o.fieldNames()) {
      if (!List.of("job", "name", "id", "path").contains(k)) {
        throw new IllegalArgumentException("'" + field + "." + k + "': unknown key; expected job (and name), id or path");
      }
    }
    if (o.getValue("path") != null) {
      if (!(o.getValue("path") instanceof String p)) {
        throw new IllegalArgumentException("'" + field + ".path': expected a string");
      }
      Path dir;
      try {
        dir = SafePaths.existing(runDir, field + ".path", p);
      } catch (NoSuchFileException e) {
        throw new IllegalArgumentException("'" + field + ".path': '" + p + "' does not exist in the run directory");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Path rel;
      try {
        rel = runDir.toRealPath().relativize(dir);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (rel.getNameCount() != 2) {
        throw new IllegalArgumentException("'" + field + ".path': '" + p + "' is not a coder directory of a job "
            + "(expected JOB/NAME, e.g. sae-demo/sae)");
      }
      String job = rel.getName(0).toString();
      String name = rel.getName(1).toString();
      return read(job, name, dir).orElseThrow(() -> new IllegalArgumentException("'" + field + ".path': '" + p
          + "' holds no " + SparseCoderFiles.CFG + " and " + SparseCoderFiles.WEIGHTS));
    }
    String id;
    String idField;
    if (o.getValue("id") != null) {
      if (!(o.getValue("id") instanceof String s)) {
        throw new IllegalArgumentException("'" + field + ".id': expected a string such as \"sae-demo:sae\"");
      }
      id = s;
      idField = field + ".id";
    } else if (o.getValue("job") != null) {
      if (!(o.getValue("job") instanceof String s)) {
        throw new IllegalArgumentException("'" + field + ".job': expected a job id string");
      }
      Object name = o.getValue("name");
      if (name != null && !(name instanceof String)) {
        throw new IllegalArgumentException("'" + field + ".name': expected a string such as \"sae\"");
      }
      id = name == null ? s : s + ":" + name;
      idField = field + ".job";
    } else {
      throw new IllegalArgumentException("'" + field + "': needs job, id or path");
    }
    String shown = id;
    return find(idField, id).orElseThrow(() -> new IllegalArgumentException("'" + idField + "': no coder '" + shown
        + "' in the run directory; GET /api/coders lists them"));
  }
}
