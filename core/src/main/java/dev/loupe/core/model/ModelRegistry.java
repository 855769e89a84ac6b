package dev.loupe.core.model;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Turns model references into loaded models by asking its {@link ModelResolver}s in order; the
 * first that handles a reference loads it. New kinds of reference (Hugging Face directories,
 * {@code hf:} names, shipped demo models) are added as resolvers. Thread-safe.
 */
public final class ModelRegistry {
  private final List<ModelResolver> resolvers = new CopyOnWriteArrayList<>();

  /**
   * A registry with the built-in references (the shipped {@code demo} and {@code demo-ft}, {@code tiny}, {@code random-gpt2:...},
   * {@code random-llama:...}, {@code random-neox:...}, {@code random-bert:...}, the ONNX sentence encoders {@code bge-small-en[-v1.5]}, {@code all-minilm-l6-v2-q}),
   * {@code hf:ORG/NAME[@REVISION]} (hub cache, downloading when online) and local Hugging Face
   * directories; the names come first, so a directory called {@code tiny} is opened
   * as {@code ./tiny}.
   */
  public static ModelRegistry withDefaults() {
    return new ModelRegistry().register(new ShippedModels()).register(ModelRefs.tiny()).register(ModelRefs.randomGpt2())
        .register(ModelRefs.randomLlama()).register(ModelRefs.randomNeox())
        .register(ModelRefs.randomBert())
        .register(EncoderModels.resolver())
        .register(new dev.loupe.core.hub.HfHubResolver()).register(new HfDirectoryResolver());
  }

  /** Adds a resolver, asked after the ones already registered. */
  public ModelRegistry register(ModelResolver resolver) {
    resolvers.add(Objects.requireNonNull(resolver, "resolver"));
    return this;
  }

  /**
   * Loads {@code ref}.
   *
   * @throws IllegalArgumentException naming the reference and listing the resolvable forms when
   *     no resolver handles it, or the resolver's own message when loading fails
   */
  public LoadedModel load(String ref, NDManager parent) {
    if (ref == null || ref.isBlank()) {
      throw new IllegalArgumentException("model reference is empty; expected one of " + forms());
    }
    for (ModelResolver r : resolvers) {
      if (r.handles(ref)) {
        return r.load(ref, parent);
      }
    }
    throw new IllegalArgumentException("unknown model reference '" + ref + "'; resolvable: " + forms());
  }

  /** The reference forms this registry resolves. */
  public List<String> forms() {
    List<String> out = new ArrayList<>();
    for (ModelResolver r : resolvers) {
      out.add(r.describe());
    }
    return out;
  }
}
