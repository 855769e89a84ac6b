package dev.loupe.core.job;

import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.model.ModelSession;
import java.util.Objects;

/**
 * An input ready to wire into a job.
 *
 * @param source the activation source (the job takes ownership and closes it)
 * @param model the model session the activations come from, or null
 */
public record ResolvedInput(ActivationSource source, ModelSession model) {
  public ResolvedInput {
    Objects.requireNonNull(source, "source");
  }
}
