package dev.loupe.core.cli;

import dev.loupe.core.config.LoupeConfig;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.dataset.DatasetRegistry;
import dev.loupe.core.job.JobManager;
import dev.loupe.core.job.JobRequest;
import dev.loupe.core.job.JobState;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.job.ResolvedInput;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.core.plugin.PluginHost;
import dev.loupe.sdk.config.ConfigException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe job METHOD --config FILE}: validates the job file against the method, resolves its
 * inputs, runs the job in this process and follows it (progress bar on a terminal, log lines
 * otherwise, JSON events with {@code --json}). Ctrl-C cancels the job and exits 130.
 */
@Command(name = "job", mixinStandardHelpOptions = true,
    description = "Run an analysis method on the inputs of a job file and follow it to the end.",
    footer = {"", "Job file (YAML or JSON):",
        "  config:                 # the method's options, see `loupe plugins`",
        "    bins: 40",
        "  inputs:                 # input name -> one input kind",
        "    main:",
        "      synthetic: {rows: 100000, width: 64, seed: 1}",
        "", "Exit codes: 0 succeeded, 1 job failed, 2 bad usage or config, 130 cancelled (Ctrl-C)."})
final class JobCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Parameters(index = "0", paramLabel = "METHOD", description = "method id (see `loupe plugins`)")
  String method;

  @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "job file (YAML/JSON) with config: and inputs:")
  Path jobFile;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "override a config key (bins=10) or input field (inputs.main.synthetic.rows=100); repeatable")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--run-dir", paramLabel = "DIR", description = "where the job's directory is created (default: jobs.run_dir)")
  Path runDir;

  @Option(names = "--job-id", paramLabel = "ID", description = "job id (default: METHOD-date-time-random)")
  String jobId;

  @Option(names = "--json", description = "print one JSON event per line (progress, metrics, result, status)")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = parent.spec.commandLine().getOut();
    PrintWriter err = parent.spec.commandLine().getErr();
    JobFile file = jobFile == null ? JobFile.empty() : JobFile.read(jobFile);
    for (String o : overrides) {
      file.set(o);
    }
    if (file.method != null && !file.method.equals(method)) {
      throw new ConfigException("method", "job file " + jobFile + " is for method '" + file.method + "', not '" + method + "'");
    }
    LoupeConfig cfg = parent.config();
    try (PluginHost host = parent.pluginHost(cfg)) {
      MethodEntry entry = host.method(method);
      // Validate before opening any input, so a typo costs nothing.
      entry.info().config().validate(file.config);

      JobRequest.Builder req = JobRequest.builder(method).config(file.config)
          .runDir(runDir != null ? runDir.toAbsolutePath() : cfg.runDir()).jobId(jobId);
      // model inputs that differ only in their hook share one harvest: the model runs once
      List<ResolvedInput> opened = new ArrayList<>(parent.inputResolvers.resolveAll(file.inputs).values());
      int i = 0;
      for (Map.Entry<String, Object> in : file.inputs.entrySet()) {
        ResolvedInput r = opened.get(i++);
        req.input(in.getKey(), r.source()).inputDescription(in.getKey(), in.getValue());
        if (r.model() != null) {
          req.model(in.getKey(), r.model());
        }
      }

      JobOutput output = json ? JobOutput.json(out) : JobOutput.human(err, System.console() != null);
      req.listener(output);
      try (JobManager jobs = new JobManager(host, cfg.runDir(), 1)) {
        jobs.useDatasets(DatasetRegistry.load(cfg.datasetDirs()));
        JobHandle job;
        try {
          job = jobs.start(req.build());
        } catch (RuntimeException e) {
          opened.forEach(r -> r.source().close());
          throw e;
        }
        Thread hook = new Thread(() -> {
          job.cancel();
          try {
            job.completion().get(10, TimeUnit.SECONDS);
          } catch (InterruptedException | ExecutionException | TimeoutException e) {
            // The JVM is going down either way; the job's status.json says how far it got.
          }
          output.close();
        }, "loupe-cancel-on-exit");
        Runtime.getRuntime().addShutdownHook(hook);
        JobStatus end;
        try {
          end = job.completion().get();
        } finally {
          try {
            Runtime.getRuntime().removeShutdownHook(hook);
          } catch (IllegalStateException shuttingDown) {
            // Ctrl-C: the hook is running and cancels the job.
          }
        }
        output.close();
        return finish(end, out, err);
      }
    }
  }

  private int finish(JobStatus end, PrintWriter out, PrintWriter err) {
    if (!json) {
      String where = "artifacts in " + end.artifactDir();
      switch (end.state()) {
        case SUCCEEDED -> out.println("job " + end.jobId() + " succeeded; " + where);
        case FAILED -> err.println("job " + end.jobId() + " failed: " + end.message() + " (log: "
            + end.artifactDir().resolve("job.log") + ")");
        case CANCELLED -> err.println("job " + end.jobId() + " cancelled; " + where);
        default -> err.println("job " + end.jobId() + " ended " + end.state());
      }
    }
    out.flush();
    err.flush();
    return end.state() == JobState.SUCCEEDED ? LoupeCli.OK
        : end.state() == JobState.CANCELLED ? LoupeCli.CANCELLED : LoupeCli.JOB_FAILED;
  }
}
