package dev.loupe.core.model;

import java.util.Objects;

/**
 * A model resolved from a reference: its weights and the tokenizer that goes with them.
 * Closing it frees the weights (and a native tokenizer).
 *
 * @param id the reference it was loaded from, used as the model id in activations and caches
 */
public record LoadedModel(String id, HookedTransformer model, Tokenizer tokenizer) implements AutoCloseable {
  public LoadedModel {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(tokenizer, "tokenizer");
    if (tokenizer.vocabSize() > model.vocabSize()) {
      throw new IllegalArgumentException("model '" + id + "': tokenizer has " + tokenizer.vocabSize()
          + " ids but the model's vocab_size is " + model.vocabSize());
    }
  }

  /**
   * The model as a GPT-2, for code that needs its config.
   *
   * @throws IllegalStateException naming the architecture when it is not a GPT-2
   */
  public Gpt2Model gpt2() {
    if (model instanceof Gpt2Model g) {
      return g;
    }
    throw new IllegalStateException("model '" + id + "' is a " + model.architecture() + " model, not gpt2");
  }

  /**
   * The model as a Llama-family model, for code that needs its config.
   *
   * @throws IllegalStateException naming the architecture when it is not one
   */
  public LlamaModel llama() {
    if (model instanceof LlamaModel l) {
      return l;
    }
    throw new IllegalStateException("model '" + id + "' is a " + model.architecture() + " model, not llama");
  }

  /**
   * The model as a GPT-NeoX, for code that needs its config.
   *
   * @throws IllegalStateException naming the architecture when it is not one
   */
  public NeoxModel neox() {
    if (model instanceof NeoxModel n) {
      return n;
    }
    throw new IllegalStateException("model '" + id + "' is a " + model.architecture() + " model, not gpt_neox");
  }

  /** Frees the weights, and the tokenizer's native resources when it has any. */
  @Override
  public void close() {
    try {
      model.close();
    } finally {
      if (tokenizer instanceof AutoCloseable c) {
        try {
          c.close();
        } catch (Exception e) {
          throw new IllegalStateException("cannot close the tokenizer of model '" + id + "'", e);
        }
      }
    }
  }
}
