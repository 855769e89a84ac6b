package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.config.LoupeConfig;
import dev.loupe.core.dataset.DatasetRegistry;
import dev.loupe.core.node.Harvest;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.pipeline.Pipeline;
import dev.loupe.core.pipeline.PipelineException;
import dev.loupe.core.pipeline.PipelineRunner;
import dev.loupe.core.plugin.PluginHost;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code loupe run PIPELINE.yaml}: run a declared sequence of harvests, jobs, evaluations and reports. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = {"Run a pipeline file: harvests, analysis jobs, evaluations and a report, in order.",
        "The whole file is checked (step kinds, methods, config keys and types, references) before",
        "anything runs; errors name the line and field. A failed step stops the pipeline and keeps",
        "what earlier steps made; --resume then skips the steps that completed unchanged.",
        "Exit codes: 0 done, 1 a step failed, 2 bad pipeline or usage, 130 cancelled."})
final class RunCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @ParentCommand
  LoupeCli parent;

  @Parameters(index = "0", paramLabel = "PIPELINE", description = "pipeline file (YAML), e.g. config/pipelines/sae.yaml")
  Path file;

  @Option(names = "--set", paramLabel = "NAME=VALUE", description = "override a variable of the pipeline's vars")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--out", paramLabel = "DIR", description = "the pipeline's directory (default: RUN_DIR/pipeline-NAME)")
  Path out;

  @Option(names = "--resume", description = "continue an earlier run in the same directory, skipping completed steps")
  boolean resume;

  @Option(names = "--fresh", description = "delete an earlier run in the same directory and start over")
  boolean fresh;

  @Option(names = "--check", description = "only check the pipeline file and exit")
  boolean check;

  @Option(names = "--json", description = "print one JSON event per line (steps, job progress, metrics, results)")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter o = parent.spec.commandLine().getOut();
    PrintWriter err = parent.spec.commandLine().getErr();
    if (resume && fresh) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "give --resume or --fresh, not both");
    }
    Map<String, Object> vars = new LinkedHashMap<>();
    for (String s : overrides) {
      int eq = s.indexOf('=');
      if (eq <= 0) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--set expects NAME=VALUE, got \"" + s + "\"");
      }
      vars.put(s.substring(0, eq).trim(), JobFile.scalar(s.substring(eq + 1)));
    }
    LoupeConfig cfg = parent.config();
    Pipeline pipeline;
    try {
      pipeline = Pipeline.read(file, vars);
    } catch (PipelineException e) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, e.getMessage());
    }
    DatasetRegistry datasets = DatasetRegistry.load(cfg.datasetDirs());
    PluginHost host = parent.pluginHost(cfg);
    LoupeNode[] node = new LoupeNode[1];
    try {
      try {
        pipeline.validate(host, parent.inputResolvers.kinds());
      } catch (PipelineException e) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, e.getMessage());
      }
      if (check) {
        o.println(file + ": ok (" + pipeline.stepCount() + " steps)");
        return LoupeCli.OK;
      }
      Path dir = (out != null ? out : cfg.runDir().resolve("pipeline-" + pipeline.name())).toAbsolutePath();
      if (PipelineRunner.hasState(dir)) {
        if (fresh) {
          deleteTree(dir);
        } else if (!resume) {
          throw new LoupeCli.CliException(LoupeCli.USAGE, dir + " holds an earlier run of a pipeline; --resume to "
              + "continue it, --fresh to start over, or --out another directory");
        }
      }
      JobOutput jobs = json ? JobOutput.json(o) : JobOutput.human(err, System.console() != null);
      PipelineRunner.Events events = new Events(o, err, json);
      PipelineRunner runner = new PipelineRunner(pipeline, dir, () -> {
        if (node[0] == null) {
          node[0] = LoupeNode.start("pipeline", null, host, dir.resolve("jobs"), Math.max(2, cfg.workers()));
          node[0].jobs().useDatasets(datasets);
          node[0].jobs().addListener(jobs);
        }
        return node[0];
      }, events, err);
      Thread cancel = new Thread(() -> {
        if (node[0] != null) {
          node[0].close();
        }
      }, "loupe-pipeline-cancel");
      Runtime.getRuntime().addShutdownHook(cancel);
      try {
        runner.run(resume);
      } catch (PipelineRunner.StepFailedException e) {
        throw new LoupeCli.CliException(LoupeCli.JOB_FAILED, e.getMessage() + "; what earlier steps made is in " + dir
            + "; fix the cause and run again with --resume");
      } finally {
        try {
          Runtime.getRuntime().removeShutdownHook(cancel);
        } catch (IllegalStateException shuttingDown) {
          // Ctrl-C: the hook is closing the node and cancelling its jobs.
        }
        jobs.close();
      }
      if (!json) {
        o.println("pipeline " + pipeline.name() + " done; everything is in " + dir);
      }
      return LoupeCli.OK;
    } finally {
      if (node[0] != null) {
        node[0].close(); // closes the plugin host too
      } else {
        host.close();
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** Step events as lines on stderr, or JSON lines on stdout. */
  private static final class Events implements PipelineRunner.Events {
    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean json;

    Events(PrintWriter out, PrintWriter err, boolean json) {
      this.out = out;
      this.err = err;
      this.json = json;
    }

    @Override
    public synchronized void step(int index, int count, String id, String kind, String state, Map<String, Object> outputs,
        String message) {
      if (json) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("event", "step");
        e.put("index", index);
        e.put("count", count);
        e.put("id", id);
        e.put("kind", kind);
        e.put("state", state);
        e.put("outputs", outputs);
        e.put("message", message);
        try {
          out.println(JSON.writeValueAsString(e));
        } catch (IOException ex) {
          throw new java.io.UncheckedIOException(ex);
        }
        out.flush();
        return;
      }
      String head = "[" + (index + 1) + "/" + count + "] " + id + " (" + kind + ")";
      switch (state) {
        case "started" -> err.println(head + " ...");
        case "skipped" -> err.println(head + " skipped: " + message);
        case "done" -> err.println(head + " done in " + message + (outputs.containsKey("dir") ? ": " + outputs.get("dir")
            : outputs.containsKey("file") ? ": " + outputs.get("file") : ""));
        default -> err.println(head + " failed: " + message);
      }
      err.flush();
    }

    @Override
    public void followHarvest(Harvest harvest, String label) throws InterruptedException,
        java.util.concurrent.ExecutionException {
      if (json) {
        harvest.completion().get();
        return;
      }
      try {
        HarvestProgress.follow(harvest, err, label);
      } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
        throw e;
      } catch (Exception e) {
        throw new java.util.concurrent.ExecutionException(e);
      }
    }
  }
}
