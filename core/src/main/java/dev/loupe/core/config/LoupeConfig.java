package dev.loupe.core.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loupe's installation settings (plugin directories, run directory, server address, cache size),
 * read from {@code config/loupe.yaml} under the Loupe home, or from a file given explicitly.
 *
 * <p>The home is {@code --home}/the {@code loupe.home} system property, else the {@code LOUPE_HOME}
 * environment variable, else the working directory; relative paths in the file are resolved
 * against it and {@code ~} against the user's home. Every key is optional (defaults below) and
 * every key is checked: an unknown or ill-typed key is a {@link ConfigException} naming it as
 * {@code section.key} and the file. The system property {@code loupe.plugins.dirs} (a
 * path-separator list, set by the launcher) adds plugin directories in front of the file's.
 */
public final class LoupeConfig {
  /** Where the file is looked for under the home. */
  public static final String DEFAULT_FILE = "config/loupe.yaml";

  private static final Map<String, ConfigSchema> SECTIONS = new LinkedHashMap<>();

  static {
    SECTIONS.put("plugins", ConfigSchema.builder()
        .stringListOption("dirs", List.of("target/plugins", "~/.loupe/plugins"),
            "directories of plugin zips/jars; missing ones are skipped")
        .stringListOption("development", List.of(), "plugin Maven module directories loaded from target/classes")
        .stringOption("extract_dir", "", "where plugin zips are expanded (empty: a per-user temp directory)")
        .build());
    SECTIONS.put("jobs", ConfigSchema.builder()
        .stringOption("run_dir", "runs", "where each job's artifact directory is created")
        .intOption("workers", 2, 1, 256, "jobs that may run at once")
        .build());
    SECTIONS.put("server", ConfigSchema.builder()
        .stringOption("host", "127.0.0.1", "address the HTTP/WebSocket server binds")
        .intOption("port", 7070, 1, 65535, "port of the HTTP/WebSocket server")
        .stringOption("token", "", "access token every request must carry (empty: none on loopback, "
            + "generated at start for other addresses)")
        .build());
    SECTIONS.put("datasets", ConfigSchema.builder()
        .stringListOption("dirs", List.of("config/datasets", "~/.loupe/datasets"),
            "directories of labelled token dataset definitions (*.yaml); missing ones are skipped")
        .build());
    SECTIONS.put("cache", ConfigSchema.builder()
        .stringOption("max_bytes", "512MiB", "activation cache bound, e.g. 536870912, 512MB or 2GiB")
        .build());
  }

  private final Path home;
  private final Path source;
  private final List<Path> pluginDirs;
  private final List<Path> developmentPlugins;
  private final Path extractDir;
  private final Path runDir;
  private final int workers;
  private final String serverHost;
  private final int serverPort;
  private final String serverToken;
  private final long cacheMaxBytes;
  private final List<Path> datasetDirs;

  private LoupeConfig(Path home, Path source, Map<String, JobConfig> s) {
    this.home = home;
    this.source = source;
    List<Path> dirs = new ArrayList<>();
    String extra = System.getProperty("loupe.plugins.dirs", "");
    for (String p : extra.split(Pattern.quote(File.pathSeparator))) {
      if (!p.isBlank()) {
        dirs.add(resolve(home, p.trim()));
      }
    }
    for (String p : s.get("plugins").getStringList("dirs")) {
      Path d = resolve(home, p);
      if (!dirs.contains(d)) {
        dirs.add(d);
      }
    }
    this.pluginDirs = List.copyOf(dirs);
    this.developmentPlugins = s.get("plugins").getStringList("development").stream().map(p -> resolve(home, p)).toList();
    String extract = s.get("plugins").getString("extract_dir");
    this.extractDir = extract.isBlank() ? null : resolve(home, extract);
    this.runDir = resolve(home, s.get("jobs").getString("run_dir"));
    this.workers = s.get("jobs").getInt("workers");
    this.serverHost = s.get("server").getString("host");
    this.serverPort = s.get("server").getInt("port");
    String token = s.get("server").getString("token");
    this.serverToken = token.isBlank() ? null : token;
    this.cacheMaxBytes = parseBytes("cache.max_bytes", s.get("cache").getString("max_bytes"));
    this.datasetDirs = s.get("datasets").getStringList("dirs").stream().map(p -> resolve(home, p)).toList();
  }

  /**
   * Loads the configuration.
   *
   * @param file an explicit file (must exist), or null for {@code <home>/config/loupe.yaml} when
   *     present and the defaults otherwise
   * @param home the Loupe home, or null to take it from loupe.home / LOUPE_HOME / the working dir
   * @throws ConfigException naming the file and key when the file is missing, unreadable or wrong
   */
  public static LoupeConfig load(Path file, Path home) {
    Path h = home != null ? home : defaultHome();
    h = h.toAbsolutePath().normalize();
    Path f = file;
    if (f == null) {
      Path candidate = h.resolve(DEFAULT_FILE);
      f = Files.isRegularFile(candidate) ? candidate : null;
    } else if (!Files.isRegularFile(f)) {
      throw new ConfigException("", "config file " + f + " does not exist");
    }
    Map<String, Object> doc = f == null ? Map.of() : read(f);
    return fromDocument(doc, h, f);
  }

  /** The defaults, with {@code home} as the base of relative paths. */
  public static LoupeConfig defaults(Path home) {
    return fromDocument(Map.of(), home.toAbsolutePath().normalize(), null);
  }

  /**
   * Builds a configuration from a parsed document ({@code section -> key -> value}).
   *
   * @param source the file it came from, for messages (may be null)
   */
  public static LoupeConfig fromDocument(Map<String, ?> doc, Path home, Path source) {
    String where = source == null ? "" : " (in " + source + ")";
    Map<String, JobConfig> sections = new LinkedHashMap<>();
    for (String key : doc.keySet()) {
      if (!SECTIONS.containsKey(key)) {
        throw new ConfigException(key, "unknown section; expected one of " + SECTIONS.keySet() + where);
      }
    }
    for (Map.Entry<String, ConfigSchema> e : SECTIONS.entrySet()) {
      Object raw = doc.get(e.getKey());
      if (raw != null && !(raw instanceof Map<?, ?>)) {
        throw new ConfigException(e.getKey(), "expected a mapping of " + e.getValue().options().stream()
            .map(o -> o.name()).toList() + where);
      }
      Map<String, Object> m = new LinkedHashMap<>();
      if (raw != null) {
        ((Map<?, ?>) raw).forEach((k, v) -> m.put(String.valueOf(k), v));
      }
      try {
        sections.put(e.getKey(), e.getValue().validate(m));
      } catch (ConfigException ce) {
        throw new ConfigException(e.getKey() + "." + ce.field(), ce.getMessage().replaceFirst("^'[^']*': ", "") + where);
      }
    }
    try {
      return new LoupeConfig(home, source, sections);
    } catch (ConfigException ce) {
      throw new ConfigException(ce.field(), ce.getMessage().replaceFirst("^'[^']*': ", "") + where);
    }
  }

  private static Map<String, Object> read(Path f) {
    try {
      ObjectMapper m = new ObjectMapper(new YAMLFactory());
      Object v = m.readValue(f.toFile(), Object.class);
      if (v == null) {
        return Map.of();
      }
      if (!(v instanceof Map<?, ?> map)) {
        throw new ConfigException("", "config file " + f + " must be a mapping of sections " + SECTIONS.keySet());
      }
      Map<String, Object> out = new LinkedHashMap<>();
      map.forEach((k, val) -> out.put(String.valueOf(k), val));
      return out;
    } catch (IOException e) {
      throw new ConfigException("", "cannot read config file " + f + ": " + e.getMessage().split("\n")[0]);
    }
  }

  /** loupe.home system property, else LOUPE_HOME, else the working directory. */
  public static Path defaultHome() {
    String p = System.getProperty("loupe.home");
    if (p == null || p.isBlank()) {
      p = System.getenv("LOUPE_HOME");
    }
    return Path.of(p == null || p.isBlank() ? "" : p).toAbsolutePath().normalize();
  }

  static Path resolve(Path home, String p) {
    if (p.equals("~") || p.startsWith("~/")) {
      return Path.of(System.getProperty("user.home")).resolve(p.length() > 2 ? p.substring(2) : "").normalize();
    }
    return home.resolve(p).toAbsolutePath().normalize();
  }

  private static final Pattern BYTES = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgt]?i?b?)?", Pattern.CASE_INSENSITIVE);

  /**
   * Parses a byte size such as {@code 1048576}, {@code 512MB}, {@code 2GiB} (MB and MiB both mean
   * 2^20 here: caches are sized in binary units).
   *
   * @throws ConfigException naming {@code field} when it is not a size
   */
  public static long parseBytes(String field, String text) {
    Matcher m = BYTES.matcher(text.trim());
    if (!m.matches()) {
      throw new ConfigException(field, "expected a size such as 536870912, 512MB or 2GiB, got \"" + text + "\"");
    }
    double n = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
    int shift = switch (unit.isEmpty() ? ' ' : unit.charAt(0)) {
      case 'k' -> 10;
      case 'm' -> 20;
      case 'g' -> 30;
      case 't' -> 40;
      default -> 0;
    };
    double bytes = n * Math.pow(2, shift);
    if (bytes < 1 || bytes > Long.MAX_VALUE) {
      throw new ConfigException(field, "size must be between 1 byte and 8 EiB, got \"" + text + "\"");
    }
    return (long) bytes;
  }

  /** The Loupe home: the base of relative paths. */
  public Path home() { return home; }
  /** The file read, or null when only defaults apply. */
  public Path source() { return source; }
  /** Plugin directories, launcher-given first; missing ones are fine (skipped by the host). */
  public List<Path> pluginDirs() { return pluginDirs; }
  /** Plugin module directories loaded in development mode. */
  public List<Path> developmentPlugins() { return developmentPlugins; }
  /** Where plugin zips are expanded, or null for the host's default. */
  public Path extractDir() { return extractDir; }
  public Path runDir() { return runDir; }
  public int workers() { return workers; }
  public String serverHost() { return serverHost; }
  public int serverPort() { return serverPort; }
  /** The configured access token of the server, or null for none. */
  public String serverToken() { return serverToken; }
  public long cacheMaxBytes() { return cacheMaxBytes; }
  public List<Path> datasetDirs() { return datasetDirs; }
}
