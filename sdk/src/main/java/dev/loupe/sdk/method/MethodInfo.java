package dev.loupe.sdk.method;

import dev.loupe.sdk.config.ConfigSchema;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What an analysis method is: a stable id used in job requests and pipelines, a one-line
 * description, the named activation inputs it reads and the configuration keys it accepts.
 *
 * @param id lower-case id such as {@code sae} or {@code activation-stats}
 * @param description one line for {@code loupe plugins}
 * @param inputs names of the activation inputs the method reads (usually {@code ["main"]});
 *     empty when the method needs no activations; {@code ["*"]} ({@link #ANY_INPUTS}) when it
 *     reads one or more inputs under names its user chooses (a crosscoder over models or layers)
 * @param config the accepted configuration keys
 */
public record MethodInfo(String id, String description, List<String> inputs, ConfigSchema config) {
  private static final Pattern ID = Pattern.compile("[a-z][a-z0-9-]{0,63}");

  /** The input name used by methods that read one activation source. */
  public static final String MAIN_INPUT = "main";

  /** The sole entry of {@link #inputs()} for a method that takes any inputs by any names. */
  public static final String ANY_INPUTS = "*";

  public MethodInfo {
    Objects.requireNonNull(id, "id");
    if (!ID.matcher(id).matches()) {
      throw new IllegalArgumentException("method id '" + id + "' must match " + ID.pattern());
    }
    description = description == null ? "" : description;
    inputs = inputs == null ? List.of() : List.copyOf(inputs);
    config = config == null ? ConfigSchema.empty() : config;
  }

  /** Whether the method takes inputs under names of its user's choosing (inputs = ["*"]). */
  public boolean anyInputs() {
    return inputs.equals(List.of(ANY_INPUTS));
  }

  /** A method reading one activation input named {@code main}. */
  public static MethodInfo of(String id, String description, ConfigSchema config) {
    return new MethodInfo(id, description, List.of(MAIN_INPUT), config);
  }
}
