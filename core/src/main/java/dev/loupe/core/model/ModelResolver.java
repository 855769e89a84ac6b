package dev.loupe.core.model;

import ai.djl.ndarray.NDManager;

/**
 * One kind of model reference ({@code tiny}, {@code random-gpt2:4x128}, a Hugging Face
 * directory, {@code hf:ORG/NAME}, ...) and how to load it. Registered in a {@link ModelRegistry}.
 */
public interface ModelResolver {

  /** Whether {@code ref} is of this resolver's kind (a cheap check: no reading, at most a stat). */
  boolean handles(String ref);

  /**
   * Loads the model; its weights go under a child of {@code parent}.
   *
   * @throws IllegalArgumentException naming the reference and what is wrong with it
   */
  LoadedModel load(String ref, NDManager parent);

  /** The forms this resolver accepts, for error messages and help (e.g. {@code random-gpt2:<layers>x<d_model>}). */
  String describe();
}
