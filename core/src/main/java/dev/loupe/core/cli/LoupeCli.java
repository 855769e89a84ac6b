package dev.loupe.core.cli;

import dev.loupe.core.config.LoupeConfig;
import dev.loupe.core.job.InputResolvers;
import dev.loupe.core.node.LazyLocalServices;
import dev.loupe.core.node.NodeInputResolvers;
import dev.loupe.core.plugin.PluginHost;
import dev.loupe.core.plugin.UnknownMethodException;
import dev.loupe.sdk.LoupeSdk;
import dev.loupe.sdk.config.ConfigException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code loupe} command line: {@code loupe plugins}, {@code loupe job METHOD ...}, {@code loupe trace} ... Exit codes:
 * 0 success, 1 a job failed (or an unexpected error), 2 bad usage or configuration (the message
 * names the field), 130 cancelled. Expected errors print one line without a stack trace;
 * unexpected ones print one line and the path of the log file that has the trace.
 */
@Command(name = "loupe", mixinStandardHelpOptions = true, versionProvider = LoupeCli.Version.class,
    description = "Interpretability platform for transformer language models.",
    subcommands = {PluginsCommand.class, JobCommand.class, HarvestCommand.class, StoreCommand.class, ServeCommand.class,
        DemoCommand.class, BenchCommand.class, ModelsCommand.class, ModelCommand.class, TraceCommand.class,
        GenerateCommand.class, TrainLmCommand.class, CorpusCommand.class, SaeCommand.class, DatasetsCommand.class, RunCommand.class,
        CommandLine.HelpCommand.class})
public final class LoupeCli implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(LoupeCli.class);

  public static final int OK = 0;
  public static final int JOB_FAILED = 1;
  public static final int USAGE = 2;
  public static final int CANCELLED = 130;

  @Option(names = "--config-file", paramLabel = "FILE",
      description = "Loupe settings file (default: $LOUPE_HOME/config/loupe.yaml, when present)")
  Path configFile;

  @Option(names = "--home", paramLabel = "DIR", description = "Loupe home: base of relative paths (default: $LOUPE_HOME or .)")
  Path home;

  @Option(names = "--plugins-dir", paramLabel = "DIR", description = "additional plugin directory (repeatable)")
  List<Path> pluginDirs = new ArrayList<>();

  @Option(names = "--dev-plugin", paramLabel = "MODULE_DIR",
      description = "load a plugin Maven module from its target/classes (repeatable)")
  List<Path> devPlugins = new ArrayList<>();

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  final InputResolvers inputResolvers;

  /** A CLI whose job files may use the input kinds registered in {@code inputResolvers}. */
  public LoupeCli(InputResolvers inputResolvers) {
    this.inputResolvers = inputResolvers;
  }

  /** A CLI with the default input kinds ({@link InputResolvers#withDefaults()}). */
  public LoupeCli() {
    this(InputResolvers.withDefaults());
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return USAGE;
  }

  /** The settings, with command-line overrides applied; throws ConfigException when wrong. */
  LoupeConfig config() {
    return LoupeConfig.load(configFile, home);
  }

  /** Loads the plugins named by the settings and the command line. */
  PluginHost pluginHost(LoupeConfig cfg) {
    PluginHost.Builder b = PluginHost.builder();
    pluginDirs.forEach(b::pluginDir);
    b.pluginDirs(cfg.pluginDirs());
    b.developmentPlugins(cfg.developmentPlugins());
    devPlugins.forEach(b::developmentPlugin);
    if (cfg.extractDir() != null) {
      b.extractDir(cfg.extractDir());
    }
    return b.build();
  }

  /** A configured command line (for in-process use and tests); output goes to the given writers. */
  public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    return commandLine(out, err, InputResolvers.withDefaults());
  }

  /** As {@link #commandLine(PrintWriter, PrintWriter)}, with the input kinds job files may use. */
  public static CommandLine commandLine(PrintWriter out, PrintWriter err, InputResolvers resolvers) {
    CommandLine cl = new CommandLine(new LoupeCli(resolvers));
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> handle(ex, cmd.getErr()));
    return cl;
  }

  /**
   * Runs {@code args} and returns the exit code. Job files may use every input kind, including
   * {@code model} and {@code stream}, served by a local node started only when one is used.
   */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    try (LazyLocalServices local = new LazyLocalServices("local")) {
      return commandLine(out, err, NodeInputResolvers.register(InputResolvers.withDefaults(), local)).execute(args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  public static void main(String[] args) {
    int code;
    try {
      code = run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    } catch (Throwable t) {
      // picocli passes Errors through; without an explicit exit, the non-daemon threads of a node
      // that already started (Vert.x, Hazelcast) would keep a dead `serve` JVM in the cluster.
      LOG.error("fatal error", t);
      System.err.println("error: fatal " + t + " (details in " + logFile() + ")");
      code = JOB_FAILED;
    }
    System.exit(code);
  }

  static int handle(Exception ex, PrintWriter err) {
    if (ex instanceof CliException c) {
      err.println("error: " + c.getMessage());
      return c.exitCode();
    }
    if (ex instanceof ConfigException || ex instanceof UnknownMethodException || ex instanceof IllegalArgumentException) {
      err.println("error: " + ex.getMessage());
      return USAGE;
    }
    if (ex instanceof java.io.UncheckedIOException || ex instanceof java.io.IOException) {
      // A file or directory problem (unwritable run dir, unreadable input): the message names it.
      LOG.warn("I/O error", ex);
      err.println("error: " + ex.getMessage());
      return JOB_FAILED;
    }
    LOG.error("unexpected error", ex);
    err.println("error: unexpected " + ex.getClass().getSimpleName() + ": " + ex.getMessage()
        + " (details in " + logFile() + ")");
    return JOB_FAILED;
  }

  /** Where logback writes the full log (see logback.xml). */
  static Path logFile() {
    return Path.of(System.getProperty("loupe.log.dir", System.getProperty("java.io.tmpdir")), "loupe.log");
  }

  /** An expected failure with its exit code; printed as one line. */
  static final class CliException extends RuntimeException {
    private final int exitCode;

    CliException(int exitCode, String message) {
      super(message);
      this.exitCode = exitCode;
    }

    int exitCode() {
      return exitCode;
    }
  }

  /** {@code loupe --version}. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"loupe " + LoupeSdk.VERSION + " (plugin SDK " + LoupeSdk.VERSION + ", Java "
          + System.getProperty("java.version") + ")"};
    }
  }
}
