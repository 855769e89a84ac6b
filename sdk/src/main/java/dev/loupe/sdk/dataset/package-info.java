/**
 * Labelled token datasets: which rows of an activation stream belong to which class (the
 * language of the text, the position in the context, the kind of token, whether the token
 * completes a given word), for probes and neuron finders. The host defines the datasets (from
 * YAML files) and hands them to jobs through {@link dev.loupe.sdk.method.JobContext#dataset};
 * {@link dev.loupe.sdk.dataset.LabelledSample} turns labelled rows into a class-balanced sample
 * split into train and test by document.
 */
package dev.loupe.sdk.dataset;
