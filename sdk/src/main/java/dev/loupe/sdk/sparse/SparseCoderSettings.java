package dev.loupe.sdk.sparse;

import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.config.JobConfig;
import java.util.List;

/**
 * The options every sparse-coder training job shares (the sae, transcoder and crosscoder
 * methods, and third-party ones built on {@link SparseCoderRun}): the activation and its
 * hyper-parameters, the dictionary size, the optimiser, the data budget, held-out evaluation,
 * checkpoints and what the final report keeps. {@link #schema} adds them to a method's config
 * schema; {@link #of} reads a validated config once the input widths are known, refusing values
 * that do not fit (k above d_sae, ...) with a message naming the key.
 *
 * @param dIn the coder's input width (for a crosscoder all sources together)
 * @param dOut the target width for a transcoder, 0 for autoencoders (whose target is the input)
 */
public record SparseCoderSettings(SparseActivation activation, int dIn, int dOut, int dSae, int batchSize,
    long maxTokens, int epochs, long evalEvery, int evalRows, long checkpointEvery, boolean normalize,
    boolean initBDec, int topExamples, int contextTokens, int metricsEvery, long seed, int spliceSequences,
    int logitEffects, TrainerConfig trainer) {

  /** Initial JumpReLU threshold in normalised units (SAELens' default). */
  public static final double JUMPRELU_INIT_THRESHOLD = 0.001;
  /** A latent firing on more than this fraction of rows counts as dense (Gao et al. 2024). */
  public static final double DENSE = 0.1;

  /** The four activations by config name. */
  public static final List<String> ALL_ACTIVATIONS = List.of("relu", "topk", "batchtopk", "jumprelu");

  /**
   * A schema builder holding the shared options.
   *
   * @param activations the activation names this method accepts (a subset of {@link #ALL_ACTIVATIONS})
   * @param defaultActivation the default one
   * @param defaultL1 the default L1 coefficient (relu)
   * @param expansionOf what d_sae = expansion x ... multiplies, for the option's description
   */
  public static ConfigSchema.Builder schema(List<String> activations, String defaultActivation, double defaultL1,
      String expansionOf) {
    return ConfigSchema.builder()
        .enumOption("activation", defaultActivation, activations,
            "nonlinearity: " + String.join(", ", activations) + " (relu: +L1; jumprelu: +L0 target)")
        .intOption("expansion", 8, 1, 4096, "d_sae = expansion x " + expansionOf + ", unless d_sae is set")
        .intOption("d_sae", 0, 0, null, "number of latents (0: expansion x " + expansionOf + ")")
        .intOption("k", 32, 1, null, "active latents per row (topk) or per row on average (batchtopk)")
        .doubleOption("l1", defaultL1, 0.0, null, "L1 coefficient (relu)")
        .longOption("l1_warmup_steps", 0L, 0L, null, "steps over which the L1 coefficient rises from 0 (relu)")
        .doubleOption("target_l0", 32.0, 0.0, null, "target mean L0 (jumprelu)")
        .doubleOption("l0_coefficient", 1.0, 0.0, null, "weight of the L0-target penalty (jumprelu)")
        .intOption("k_aux", 0, 0, null, "dead latents used by the AuxK loss (topk, batchtopk; 0: d_in / 2)")
        .doubleOption("aux_coefficient", 1.0 / 32, 0.0, null, "AuxK loss weight (topk, batchtopk; 0: off)")
        .doubleOption("lr", 3e-4, 0.0, null, "Adam learning rate")
        .doubleOption("threshold_momentum", 0.99, 0.0, 0.999999,
            "decay of the running average of the smallest kept activation that becomes BatchTopK's inference threshold")
        .longOption("lr_warmup_steps", 0L, 0L, null, "steps of linear learning-rate warm-up")
        .longOption("lr_decay_steps", 0L, 0L, null,
            "final steps of linear decay to 0 (needs a known input length or max_tokens)")
        .intOption("batch_size", 4096, 1, null, "rows per training step")
        .longOption("max_tokens", 0L, 0L, null, "training rows to use after the held-out rows (0: the whole input)")
        .intOption("epochs", 1, 1, 1000,
            "passes over the training rows; above 1 they are kept in memory (needs a known input length or max_tokens)")
        .longOption("eval_every", 500L, 0L, null, "held-out evaluation every this many steps (0: only at the end)")
        .intOption("eval_rows", 4096, 1, null,
            "the first eval_rows rows of the input are held out: evaluated on, never trained on")
        .longOption("checkpoint_every", 1000L, 0L, null, "save a resumable checkpoint every this many steps (0: never)")
        .longOption("dead_window", 10_000_000L, 1L, null, "tokens without firing after which a latent is dead")
        .longOption("resample_every", 0L, 0L, null, "resample dead latents every this many steps (0: never)")
        .longOption("seed", 42L, null, null, "seed for the initial weights and resampling")
        .boolOption("normalize", true, "scale inputs so their mean squared norm is their width (estimated on the first batch)")
        .boolOption("init_b_dec", true, "start the decoder bias at the geometric median of the first batch's targets")
        .intOption("top_examples", 20, 0, 10_000, "top activating held-out examples kept per latent")
        .intOption("context_tokens", 8, 0, 1024, "token ids kept before (and held-out tokens shown after) each top example")
        .intOption("metrics_every", 10, 1, null, "record a training metrics row every this many steps")
        .intOption("splice_sequences", 64, 0, null,
            "held-out windows run with the coder spliced in, to measure loss recovered and KL (0: skip)")
        .intOption("logit_effects", 10, 0, 1000,
            "top positive and negative direct logit effects (W_dec W_U) kept per latent (0: skip)");
  }

  /**
   * Reads a validated config (built from {@link #schema}).
   *
   * @param dIn the coder's input width
   * @param dOut the target width (0 for autoencoders)
   * @param expansionBase what {@code expansion} multiplies (d_in for an SAE or transcoder, one
   *     source's width for a crosscoder)
   * @param expansionName its name in messages, e.g. {@code "d_in"}
   * @throws IllegalArgumentException naming the config key whose value does not fit
   */
  public static SparseCoderSettings of(JobConfig cfg, int dIn, int dOut, int expansionBase, String expansionName) {
    int dSae = cfg.getInt("d_sae");
    String dSaeFrom;
    if (dSae == 0) {
      long n = (long) cfg.getInt("expansion") * expansionBase;
      if (n > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("config expansion = " + cfg.getInt("expansion") + " x " + expansionName
            + " " + expansionBase + " gives more than " + Integer.MAX_VALUE + " latents");
      }
      dSae = (int) n;
      dSaeFrom = "d_sae = expansion " + cfg.getInt("expansion") + " x " + expansionName + " " + expansionBase + " = "
          + dSae;
    } else {
      dSaeFrom = "d_sae = " + dSae;
    }
    String name = cfg.getString("activation");
    int k = cfg.getInt("k");
    if ((name.equals("topk") || name.equals("batchtopk")) && k > dSae) {
      throw new IllegalArgumentException("config k = " + k + " exceeds the number of latents (" + dSaeFrom
          + "); choose k <= d_sae");
    }
    double targetL0 = cfg.getDouble("target_l0");
    if (name.equals("jumprelu") && targetL0 > dSae) {
      throw new IllegalArgumentException("config target_l0 = " + targetL0 + " exceeds the number of latents ("
          + dSaeFrom + ")");
    }
    SparseActivation activation = switch (name) {
      case "relu" -> new SparseActivation.Relu();
      case "topk" -> new SparseActivation.TopK(k);
      case "batchtopk" -> new SparseActivation.BatchTopK(k);
      case "jumprelu" -> new SparseActivation.JumpRelu();
      default -> throw new IllegalArgumentException("config activation = " + name
          + "; expected relu, topk, batchtopk or jumprelu");
    };
    int kAux = cfg.getInt("k_aux") == 0 ? Math.max(1, dIn / 2) : cfg.getInt("k_aux");
    TrainerConfig trainer;
    try {
      trainer = TrainerConfig.builder()
          .learningRate(cfg.getDouble("lr"))
          .lrWarmupSteps(cfg.getLong("lr_warmup_steps"))
          .l1Coefficient(cfg.getDouble("l1"))
          .l1WarmupSteps(cfg.getLong("l1_warmup_steps"))
          .targetL0(targetL0)
          .l0Coefficient(cfg.getDouble("l0_coefficient"))
          .kAux(Math.min(kAux, dSae))
          .auxKCoefficient(cfg.getDouble("aux_coefficient"))
          .deadTokenWindow(cfg.getLong("dead_window"))
          .resampleEverySteps(cfg.getLong("resample_every"))
          .thresholdMomentum(cfg.getDouble("threshold_momentum"))
          .seed(cfg.getLong("seed"))
          .build();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid config: " + e.getMessage(), e);
    }
    return new SparseCoderSettings(activation, dIn, dOut, dSae, cfg.getInt("batch_size"), cfg.getLong("max_tokens"),
        cfg.getInt("epochs"), cfg.getLong("eval_every"), cfg.getInt("eval_rows"), cfg.getLong("checkpoint_every"),
        cfg.getBoolean("normalize"), cfg.getBoolean("init_b_dec"), cfg.getInt("top_examples"),
        cfg.getInt("context_tokens"), cfg.getInt("metrics_every"), cfg.getLong("seed"), cfg.getInt("splice_sequences"),
        cfg.getInt("logit_effects"), trainer);
  }

  /** Width of one input row as the job reads it: the coder's input, then the target (if any). */
  public int rowWidth() {
    return dIn + dOut;
  }

  /** Steps the input allows (-1 when its length is unknown and max_tokens is 0). */
  public long plannedSteps(long totalRows) {
    long trainRows;
    if (totalRows >= 0) {
      trainRows = Math.max(0, totalRows - evalRows);
      if (maxTokens > 0) {
        trainRows = Math.min(trainRows, maxTokens);
      }
    } else if (maxTokens > 0) {
      trainRows = maxTokens;
    } else {
      return -1;
    }
    return (trainRows * epochs + batchSize - 1) / batchSize;
  }

  /**
   * This config fitted to a run of {@code plannedSteps} (-1: unknown): the learning-rate decay
   * placed at its end, and BatchTopK's threshold average restarted half-way, so the inference
   * threshold reflects the trained coder rather than its first steps.
   *
   * @throws IllegalArgumentException when lr_decay_steps is set but the run's length is unknown or shorter
   */
  public SparseCoderSettings withPlannedSteps(long lrDecaySteps, long plannedSteps) {
    TrainerConfig.Builder t = trainer.toBuilder();
    if (plannedSteps > 1) {
      t.thresholdStartStep(plannedSteps / 2);
    }
    if (lrDecaySteps > 0) {
      if (plannedSteps < 0) {
        throw new IllegalArgumentException("config lr_decay_steps = " + lrDecaySteps
            + " needs a known run length: the input's length is unknown, so set max_tokens");
      }
      if (lrDecaySteps > plannedSteps) {
        throw new IllegalArgumentException("config lr_decay_steps = " + lrDecaySteps + " exceeds the planned "
            + plannedSteps + " steps");
      }
      t.totalSteps(plannedSteps).lrDecaySteps(lrDecaySteps);
    }
    return new SparseCoderSettings(activation, dIn, dOut, dSae, batchSize, maxTokens, epochs, evalEvery, evalRows,
        checkpointEvery, normalize, initBDec, topExamples, contextTokens, metricsEvery, seed, spliceSequences,
        logitEffects, t.build());
  }
}
