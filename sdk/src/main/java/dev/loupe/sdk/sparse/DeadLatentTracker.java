package dev.loupe.sdk.sparse;

import java.util.Arrays;

/**
 * Which latents have stopped firing: per latent, the number of tokens seen since it last fired
 * (dead once that reaches the window, as Gao et al. 2024 count "not fired in 10M tokens"), and
 * per-latent firing counts since the last {@link #resetDensity()} for densities. Not thread-safe.
 */
public final class DeadLatentTracker {
  private final long window;
  private final long[] sinceFired;
  private final long[] fired;
  private long densityTokens;

  /**
   * @param window tokens without firing after which a latent counts as dead
   * @throws IllegalArgumentException when dSae or window is not positive
   */
  public DeadLatentTracker(int dSae, long window) {
    if (dSae < 1) {
      throw new IllegalArgumentException("d_sae must be positive, got " + dSae);
    }
    if (window < 1) {
      throw new IllegalArgumentException("dead-latent window must be at least 1 token, got " + window);
    }
    this.window = window;
    this.sinceFired = new long[dSae];
    this.fired = new long[dSae];
  }

  /** The window in tokens. */
  public long window() {
    return window;
  }

  /**
   * Records a batch of {@code tokens} rows in which latent j fired on {@code firedCounts[j]} rows.
   * A latent that fired anywhere in the batch restarts its count at 0.
   */
  public void update(long[] firedCounts, long tokens) {
    if (firedCounts.length != sinceFired.length) {
      throw new IllegalArgumentException("expected " + sinceFired.length + " firing counts, got " + firedCounts.length);
    }
    for (int j = 0; j < sinceFired.length; j++) {
      if (firedCounts[j] > 0) {
        sinceFired[j] = 0;
        fired[j] += firedCounts[j];
      } else {
        sinceFired[j] += tokens;
      }
    }
    densityTokens += tokens;
  }

  /** Whether latent j has not fired for at least the window. */
  public boolean isDead(int j) {
    return sinceFired[j] >= window;
  }

  /** The dead latents' indices, ascending. */
  public int[] dead() {
    return java.util.stream.IntStream.range(0, sinceFired.length).filter(this::isDead).toArray();
  }

  /** Fraction of latents that are dead. */
  public double deadFraction() {
    return (double) dead().length / sinceFired.length;
  }

  /** Tokens since each latent last fired (a copy). */
  public long[] tokensSinceFired() {
    return sinceFired.clone();
  }

  /** Each latent's firing frequency since the last {@link #resetDensity()} (0 before any token). */
  public double[] density() {
    double[] d = new double[fired.length];
    if (densityTokens > 0) {
      for (int j = 0; j < d.length; j++) {
        d[j] = (double) fired[j] / densityTokens;
      }
    }
    return d;
  }

  /** Tokens counted in {@link #density()}. */
  public long densityTokens() {
    return densityTokens;
  }

  /** Fraction of latents firing on more than {@code threshold} of the tokens since the last reset. */
  public double denseFraction(double threshold) {
    return SparseMetrics.denseFraction(density(), threshold);
  }

  /** Starts a new density window (the dead counts carry on). */
  public void resetDensity() {
    Arrays.fill(fired, 0);
    densityTokens = 0;
  }

  /** Marks latent j as just revived (after resampling). */
  public void revive(int j) {
    sinceFired[j] = 0;
  }

  /** Restores counters saved with {@link #tokensSinceFired()}, {@link #firedCounts()} and {@link #densityTokens()}. */
  public void restore(long[] tokensSinceFired, long[] firedCounts, long densityTokens) {
    if (tokensSinceFired.length != sinceFired.length || firedCounts.length != fired.length) {
      throw new IllegalArgumentException("tracker state is for " + tokensSinceFired.length + " latents, expected "
          + sinceFired.length);
    }
    System.arraycopy(tokensSinceFired, 0, sinceFired, 0, sinceFired.length);
    System.arraycopy(firedCounts, 0, fired, 0, fired.length);
    this.densityTokens = densityTokens;
  }

  /** Firing counts since the last density reset (a copy). */
  public long[] firedCounts() {
    return fired.clone();
  }
}
