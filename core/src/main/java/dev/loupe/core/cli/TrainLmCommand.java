package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.core.model.ModelRegistry;
import dev.loupe.core.train.LmTrainConfig;
import dev.loupe.core.train.LmTrainer;
import dev.loupe.core.train.ModelCards;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe train-lm}: trains (or fine-tunes) a causal language model from a YAML recipe, with a
 * progress bar, checkpoints, {@code --resume}, and a Hugging Face directory plus MODEL_CARD.md at
 * the end.
 */
@Command(name = "train-lm", mixinStandardHelpOptions = true,
    description = {"Train a small causal language model (GPT-2 architecture, byte-level tokenizer) on a corpus, or",
        "fine-tune an existing one, with DJL autograd. Writes a Hugging Face directory (config.json,",
        "model.safetensors, tokenizer.json) and MODEL_CARD.md; checkpoints go to the work directory.",
        "Example: loupe train-lm --config config/models/demo.yaml"})
final class TrainLmCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Option(names = "--config", required = true, paramLabel = "FILE", description = "training recipe (YAML)")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "override a recipe key (repeatable; model keys as model.layers=6)")
  Map<String, String> overrides = new LinkedHashMap<>();

  @Option(names = "--resume", description = "continue from the latest checkpoint in the work directory")
  boolean resume;

  @Option(names = "--fresh", description = "discard existing checkpoints in the work directory and start over")
  boolean fresh;

  @Option(names = "--no-card", description = "skip the model card and its evaluation (faster, for tests)")
  boolean noCard;

  @Option(names = "--json", description = "print one JSON event per line on stdout instead of a progress bar")
  boolean json;

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public Integer call() throws Exception {
    PrintWriter err = parent.spec.commandLine().getErr();
    PrintWriter out = parent.spec.commandLine().getOut();
    if (resume && fresh) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--resume and --fresh contradict each other; give one");
    }
    LmTrainConfig cfg = LmTrainConfig.read(config, overrides);
    Reporter reporter = new Reporter(cfg, err, out);
    LmTrainer.Result r;
    try {
      r = new LmTrainer(cfg, ModelRegistry.withDefaults(), reporter).run(resume, fresh);
    } catch (IllegalStateException e) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, e.getMessage());
    } finally {
      reporter.close();
    }
    if (!noCard) {
      reporter.message("evaluating per-language bits per byte and writing the model card");
      Path card = ModelCards.write(cfg, config.toString(), r, ModelRegistry.withDefaults(), reporter::message);
      reporter.message("model card: " + card);
    }
    if (json) {
      ObjectNode o = JSON.createObjectNode().put("event", "done").put("out", r.out().toString())
          .put("steps", r.steps()).put("tokens", r.tokens()).put("elapsed_s", r.elapsedSeconds())
          .put("val_bpb", r.valBpb()).put("final_loss", r.finalLoss());
      out.println(JSON.writeValueAsString(o));
    } else {
      out.printf("trained %s: %,d steps, %,d tokens in %.1f min; validation %.3f bits/byte; written to %s%n", cfg.name(),
          r.steps(), r.tokens(), r.elapsedSeconds() / 60, r.valBpb(), r.out());
    }
    out.flush();
    return LoupeCli.OK;
  }

  /** Progress bar on a terminal, a log line every 30 s otherwise, or JSON events with --json. */
  private final class Reporter implements LmTrainer.Listener, AutoCloseable {
    private final LmTrainConfig cfg;
    private final PrintWriter err;
    private final PrintWriter out;
    private ProgressBar bar;
    private long lastLine;
    private double lastVal = Double.NaN;

    Reporter(LmTrainConfig cfg, PrintWriter err, PrintWriter out) {
      this.cfg = cfg;
      this.err = err;
      this.out = out;
    }

    @Override
    public void message(String text) {
      if (json) {
        event(JSON.createObjectNode().put("event", "message").put("text", text));
      } else {
        err.println(cfg.name() + ": " + text);
        err.flush();
      }
    }

    @Override
    public void started(int fromStep, int totalSteps, long parameters) {
      message(String.format("%,d parameters; steps %d..%d of %d", parameters, fromStep + 1, totalSteps, totalSteps));
      if (!json && System.console() != null) {
        bar = new ProgressBarBuilder().setTaskName(cfg.name()).setInitialMax(totalSteps).startsFrom(fromStep,
            java.time.Duration.ZERO).setStyle(ProgressBarStyle.ASCII).setUnit(" steps", 1).build();
      }
    }

    @Override
    public void step(LmTrainer.StepStats s) {
      if (json) {
        event(JSON.createObjectNode().put("event", "step").put("step", s.step()).put("loss", s.loss())
            .put("lr", s.lr()).put("tokens_per_s", s.tokensPerSecond()));
      } else if (bar != null) {
        bar.stepTo(s.step());
        bar.setExtraMessage(String.format(" loss %.3f | %,.0f tok/s%s", s.loss(), s.tokensPerSecond(),
            Double.isNaN(lastVal) ? "" : String.format(" | val %.3f bpb", lastVal)));
      } else if (System.nanoTime() - lastLine > 30e9 || s.step() == cfg.steps()) {
        lastLine = System.nanoTime();
        err.printf("%s: step %d/%d loss %.3f lr %.2e %,.0f tok/s elapsed %.1f min%s%n", cfg.name(), s.step(),
            cfg.steps(), s.loss(), s.lr(), s.tokensPerSecond(), s.elapsedSeconds() / 60,
            Double.isNaN(lastVal) ? "" : String.format(" val %.3f bpb", lastVal));
        err.flush();
      }
    }

    @Override
    public void evaluated(int step, double valBpb) {
      lastVal = valBpb;
      if (json) {
        event(JSON.createObjectNode().put("event", "eval").put("step", step).put("val_bpb", valBpb));
      }
    }

    @Override
    public void checkpointed(int step, Path dir) {
      if (json) {
        event(JSON.createObjectNode().put("event", "checkpoint").put("step", step).put("dir", dir.toString()));
      }
    }

    private void event(ObjectNode o) {
      out.println(o.toString());
      out.flush();
    }

    @Override
    public void close() {
      if (bar != null) {
        bar.close();
        bar = null;
      }
    }
  }
}
