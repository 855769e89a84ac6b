package dev.loupe.sdk.probe;

/**
 * How a probe fit ended: iterations, objective evaluations, the final objective and the max-norm of
 * its gradient (pseudo-gradient for L1; in the summed objective's units, so scikit-learn's tol
 * corresponds to {@code gradientNorm / (C * n)}), whether it converged and why it stopped.
 */
public record FitReport(int iterations, int evaluations, double objective, double gradientNorm, boolean converged,
    Stop stop, double seconds) {
  /** Why the solver stopped; converged means GRADIENT_TOLERANCE, or NO_PROGRESS at rounding level. */
  public enum Stop {
    GRADIENT_TOLERANCE, NO_PROGRESS, MAX_ITERATIONS, LINE_SEARCH_FAILED
  }
}
