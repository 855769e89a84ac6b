package dev.loupe.core.job;

import java.util.Map;

/**
 * Turns one input spec of a job file into an activation source. A spec is a mapping whose
 * kind key says what it is, e.g. {@code main: {synthetic: {rows: 1000, width: 64}}}; the
 * {@link InputResolvers} registry picks the resolver by that key. Implementations validate the
 * spec and throw {@link dev.loupe.sdk.config.ConfigException} naming the offending field as
 * {@code inputs.NAME.KIND.FIELD}.
 */
@FunctionalInterface
public interface InputResolver {

  /**
   * @param name the input's name in the job file (e.g. {@code main})
   * @param spec the whole spec mapping of that input, kind key included
   * @return the source (and the model session it reads, when there is one)
   */
  ResolvedInput resolve(String name, Map<String, Object> spec);
}
