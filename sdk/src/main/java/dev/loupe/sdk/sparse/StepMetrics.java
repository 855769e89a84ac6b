package dev.loupe.sdk.sparse;

/**
 * What one training step measured on its batch (in the coder's normalised space).
 *
 * @param step the number of steps taken after this one
 * @param rows rows trained on
 * @param skippedRows rows dropped because they held NaN or infinity
 * @param loss total loss (reconstruction + sparsity + auxiliary)
 * @param mse mean squared reconstruction error per element
 * @param fve fraction of variance explained
 * @param l0 mean number of active latents per row (training code)
 * @param sparsityLoss the L1 or L0 penalty term
 * @param auxLoss the AuxK term (0 when off or no latent is dead)
 * @param learningRate the learning rate used
 * @param l1Coefficient the (warmed-up) L1 coefficient used
 * @param deadFraction fraction of latents dead after this step
 * @param resampled latents resampled at this step
 */
public record StepMetrics(long step, int rows, int skippedRows, double loss, double mse, double fve, double l0,
    double sparsityLoss, double auxLoss, double learningRate, double l1Coefficient, double deadFraction,
    int resampled) {
}
