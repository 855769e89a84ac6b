package dev.loupe.sdk.sparse;

/**
 * Hyper-parameters of {@link SparseCoderTrainer}, validated on construction: a bad value throws an
 * {@link IllegalArgumentException} naming the field, the value and what was expected. Terms that
 * do not apply to the coder's activation are ignored (L1 only for ReLU, AuxK for TopK and
 * BatchTopK, the L0 target for JumpReLU). Build with {@link #builder()}.
 *
 * @param learningRate Adam step size after warm-up (> 0)
 * @param adamBeta1 Adam first-moment decay in [0, 1)
 * @param adamBeta2 Adam second-moment decay in [0, 1)
 * @param adamEpsilon Adam denominator guard (> 0)
 * @param lrWarmupSteps steps over which the learning rate rises linearly from 0 (0: none)
 * @param lrDecaySteps final steps over which it falls linearly to 0 (0: none; needs totalSteps)
 * @param totalSteps planned number of steps (0: open-ended, no decay)
 * @param l1Coefficient ReLU sparsity penalty (>= 0)
 * @param l1WarmupSteps steps over which the L1 coefficient rises linearly from 0 (0: none)
 * @param decoderNormWeightedL1 the April 2024 variant: L1 of {@code f_j ||W_dec_j||}, decoder not unit-normed
 * @param auxKCoefficient AuxK loss weight (Gao et al.: 1/32; 0 disables it)
 * @param kAux dead latents used by AuxK (Gao et al.: d_in / 2)
 * @param deadTokenWindow tokens without firing after which a latent is dead
 * @param resampleEverySteps resample dead latents every this many steps (0: never)
 * @param resampleEncoderScale resampled encoder norm relative to the mean alive encoder norm (0.2)
 * @param jumpReluBandwidth width epsilon of the straight-through rectangle kernel (> 0)
 * @param targetL0 JumpReLU's target mean L0 (> 0)
 * @param l0Coefficient weight of the JumpReLU penalty {@code (L0 / target - 1)^2} (>= 0)
 * @param thresholdMomentum BatchTopK's running-average decay for its inference threshold in [0, 1)
 * @param thresholdStartStep the step at which BatchTopK's running average restarts from that
 *     step's value, forgetting the early steps whose activations are far from the final ones (0: never)
 * @param seed seed for resampling choices
 */
public record TrainerConfig(
    double learningRate, double adamBeta1, double adamBeta2, double adamEpsilon,
    long lrWarmupSteps, long lrDecaySteps, long totalSteps,
    double l1Coefficient, long l1WarmupSteps, boolean decoderNormWeightedL1,
    double auxKCoefficient, int kAux, long deadTokenWindow,
    long resampleEverySteps, double resampleEncoderScale,
    double jumpReluBandwidth, double targetL0, double l0Coefficient,
    double thresholdMomentum, long thresholdStartStep, long seed) {

  public TrainerConfig {
    positive("learningRate", learningRate);
    unitInterval("adamBeta1", adamBeta1);
    unitInterval("adamBeta2", adamBeta2);
    positive("adamEpsilon", adamEpsilon);
    nonNegative("lrWarmupSteps", lrWarmupSteps);
    nonNegative("lrDecaySteps", lrDecaySteps);
    nonNegative("totalSteps", totalSteps);
    if (lrDecaySteps > 0 && totalSteps == 0) {
      throw new IllegalArgumentException("lrDecaySteps = " + lrDecaySteps + " needs totalSteps > 0 to know when decay starts");
    }
    if (totalSteps > 0 && lrDecaySteps > totalSteps) {
      throw new IllegalArgumentException("lrDecaySteps = " + lrDecaySteps + " exceeds totalSteps = " + totalSteps);
    }
    nonNegative("l1Coefficient", l1Coefficient);
    nonNegative("l1WarmupSteps", l1WarmupSteps);
    nonNegative("auxKCoefficient", auxKCoefficient);
    if (kAux < 1) {
      throw new IllegalArgumentException("kAux must be at least 1, got " + kAux);
    }
    if (deadTokenWindow < 1) {
      throw new IllegalArgumentException("deadTokenWindow must be at least 1 token, got " + deadTokenWindow);
    }
    nonNegative("resampleEverySteps", resampleEverySteps);
    positive("resampleEncoderScale", resampleEncoderScale);
    positive("jumpReluBandwidth", jumpReluBandwidth);
    positive("targetL0", targetL0);
    nonNegative("l0Coefficient", l0Coefficient);
    unitInterval("thresholdMomentum", thresholdMomentum);
    nonNegative("thresholdStartStep", thresholdStartStep);
  }

  private static void positive(String name, double v) {
    if (!(v > 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException(name + " must be a positive finite number, got " + v);
    }
  }

  private static void nonNegative(String name, double v) {
    if (!(v >= 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException(name + " must be >= 0 and finite, got " + v);
    }
  }

  private static void unitInterval(String name, double v) {
    if (!(v >= 0 && v < 1)) {
      throw new IllegalArgumentException(name + " must be in [0, 1), got " + v);
    }
  }

  /** Checks the values that depend on the coder's size, naming the bad one. */
  void validateFor(SparseCoder coder) {
    int dSae = coder.dSae();
    coder.activation().validate(dSae);
    if (coder.activation() instanceof SparseActivation.JumpRelu && targetL0 > dSae) {
      throw new IllegalArgumentException("targetL0 = " + targetL0 + " exceeds d_sae = " + dSae);
    }
    if (decoderNormWeightedL1 && !(coder.activation() instanceof SparseActivation.Relu)) {
      throw new IllegalArgumentException("decoderNormWeightedL1 applies to the relu activation only, not "
          + coder.activation().name());
    }
  }

  /** A builder starting from the defaults (lr 3e-4, Adam 0.9/0.999, AuxK 1/32 with kAux 256). */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from this config. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.learningRate = learningRate;
    b.adamBeta1 = adamBeta1;
    b.adamBeta2 = adamBeta2;
    b.adamEpsilon = adamEpsilon;
    b.lrWarmupSteps = lrWarmupSteps;
    b.lrDecaySteps = lrDecaySteps;
    b.totalSteps = totalSteps;
    b.l1Coefficient = l1Coefficient;
    b.l1WarmupSteps = l1WarmupSteps;
    b.decoderNormWeightedL1 = decoderNormWeightedL1;
    b.auxKCoefficient = auxKCoefficient;
    b.kAux = kAux;
    b.deadTokenWindow = deadTokenWindow;
    b.resampleEverySteps = resampleEverySteps;
    b.resampleEncoderScale = resampleEncoderScale;
    b.jumpReluBandwidth = jumpReluBandwidth;
    b.targetL0 = targetL0;
    b.l0Coefficient = l0Coefficient;
    b.thresholdMomentum = thresholdMomentum;
    b.thresholdStartStep = thresholdStartStep;
    b.seed = seed;
    return b;
  }

  /** Fluent builder; {@link #build()} validates. Not thread-safe. */
  public static final class Builder {
    private double learningRate = 3e-4;
    private double adamBeta1 = 0.9;
    private double adamBeta2 = 0.999;
    private double adamEpsilon = 1e-8;
    private long lrWarmupSteps;
    private long lrDecaySteps;
    private long totalSteps;
    private double l1Coefficient = 5;
    private long l1WarmupSteps;
    private boolean decoderNormWeightedL1;
    private double auxKCoefficient = 1.0 / 32;
    private int kAux = 256;
    private long deadTokenWindow = 10_000_000;
    private long resampleEverySteps;
    private double resampleEncoderScale = 0.2;
    private double jumpReluBandwidth = 0.001;
    private double targetL0 = 32;
    private double l0Coefficient = 1;
    // a time constant of 100 steps: the smallest kept activation drifts while the coder learns, and
    // runs here are hundreds, not hundreds of thousands, of steps
    private long thresholdStartStep;
    private double thresholdMomentum = 0.99;
    private long seed = 42;

    private Builder() {
    }

    public Builder learningRate(double v) {
      learningRate = v;
      return this;
    }

    public Builder adam(double beta1, double beta2, double epsilon) {
      adamBeta1 = beta1;
      adamBeta2 = beta2;
      adamEpsilon = epsilon;
      return this;
    }

    public Builder lrWarmupSteps(long v) {
      lrWarmupSteps = v;
      return this;
    }

    public Builder lrDecaySteps(long v) {
      lrDecaySteps = v;
      return this;
    }

    public Builder totalSteps(long v) {
      totalSteps = v;
      return this;
    }

    public Builder l1Coefficient(double v) {
      l1Coefficient = v;
      return this;
    }

    public Builder l1WarmupSteps(long v) {
      l1WarmupSteps = v;
      return this;
    }

    public Builder decoderNormWeightedL1(boolean v) {
      decoderNormWeightedL1 = v;
      return this;
    }

    public Builder auxKCoefficient(double v) {
      auxKCoefficient = v;
      return this;
    }

    public Builder kAux(int v) {
      kAux = v;
      return this;
    }

    public Builder deadTokenWindow(long v) {
      deadTokenWindow = v;
      return this;
    }

    public Builder resampleEverySteps(long v) {
      resampleEverySteps = v;
      return this;
    }

    public Builder resampleEncoderScale(double v) {
      resampleEncoderScale = v;
      return this;
    }

    public Builder jumpReluBandwidth(double v) {
      jumpReluBandwidth = v;
      return this;
    }

    public Builder targetL0(double v) {
      targetL0 = v;
      return this;
    }

    public Builder l0Coefficient(double v) {
      l0Coefficient = v;
      return this;
    }

    public Builder thresholdStartStep(long v) {
      this.thresholdStartStep = v;
      return this;
    }

    public Builder thresholdMomentum(double v) {
      thresholdMomentum = v;
      return this;
    }

    public Builder seed(long v) {
      seed = v;
      return this;
    }

    /** @throws IllegalArgumentException naming the first invalid field */
    public TrainerConfig build() {
      return new TrainerConfig(learningRate, adamBeta1, adamBeta2, adamEpsilon, lrWarmupSteps, lrDecaySteps, totalSteps,
          l1Coefficient, l1WarmupSteps, decoderNormWeightedL1, auxKCoefficient, kAux, deadTokenWindow,
          resampleEverySteps, resampleEncoderScale, jumpReluBandwidth, targetL0, l0Coefficient, thresholdMomentum,
          thresholdStartStep, seed);
    }
  }
}
