package dev.loupe.core.model;

import java.util.Objects;

/**
 * A model resolved from a reference: its weights and the tokenizer that goes with them.
 * Closing it frees the weights (and a native tokenizer).
 *
 * @param id the reference it was loaded from, used as the model id in activations and caches
 */
public record LoadedModel(String id, Gpt2Model model, Tokenizer tokenizer) implements AutoCloseable {
  public LoadedModel {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(tokenizer, "tokenizer");
    if (tokenizer.vocabSize() > model.config().vocabSize()) {
      throw new IllegalArgumentException("model '" + id + "': tokenizer has " + tokenizer.vocabSize()
          + " ids but the model's vocab_size is " + model.config().vocabSize());
    }
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
