package dev.loupe.core.model;

import java.util.Objects;

/**
 * A model resolved from a reference: its weights and the tokenizer that goes with them.
 * Closing it frees the weights.
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

  @Override
  public void close() {
    model.close();
  }
}
