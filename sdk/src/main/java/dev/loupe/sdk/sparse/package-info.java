/**
 * The shared sparse-coder toolkit: SAEs, transcoders and crosscoders are one family (inputs ->
 * sparse code -> targets). {@link dev.loupe.sdk.sparse.SparseCoder} holds the weights and runs
 * inference, {@link dev.loupe.sdk.sparse.SparseActivation} picks the published nonlinearity,
 * {@link dev.loupe.sdk.sparse.SparseCoderTrainer} trains with closed-form gradients (no autograd
 * lock, so jobs train concurrently), {@link dev.loupe.sdk.sparse.SparseCoderInit} initialises from
 * data, {@link dev.loupe.sdk.sparse.SparseMetrics} and {@link dev.loupe.sdk.sparse.DeadLatentTracker}
 * measure, and {@link dev.loupe.sdk.sparse.SparseCoderFiles} reads and writes the SAELens layout.
 */
package dev.loupe.sdk.sparse;
