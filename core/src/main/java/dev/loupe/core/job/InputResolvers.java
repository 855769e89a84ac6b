package dev.loupe.core.job;

import dev.loupe.sdk.config.ConfigException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The registry of input kinds a job file may use ({@code synthetic}, and whatever else is
 * registered: stores, files, live models). Thread-safe for reads once set up.
 */
public final class InputResolvers {
  private final Map<String, InputResolver> byKind = new LinkedHashMap<>();
  private java.util.function.Function<Map<String, Object>, Map<String, ResolvedInput>> shared = specs -> Map.of();

  /** A registry with the kinds core provides without other services: {@code synthetic}. */
  public static InputResolvers withDefaults() {
    return new InputResolvers().register(SyntheticSource.KIND, new SyntheticSource.Resolver());
  }

  /**
   * Registers (or replaces) the resolver for specs carrying the key {@code kind}.
   *
   * @return this, for chaining
   */
  public synchronized InputResolvers register(String kind, InputResolver resolver) {
    if (kind == null || kind.isBlank()) {
      throw new IllegalArgumentException("input kind is empty");
    }
    byKind.put(kind, Objects.requireNonNull(resolver, "resolver"));
    return this;
  }

  /**
   * Registers what resolves several inputs together before the rest are resolved one by one, e.g.
   * {@code model} inputs that differ only in their hook and so can share one harvest. It returns
   * the inputs it resolved (possibly none).
   *
   * @return this, for chaining
   */
  public synchronized InputResolvers registerShared(
      java.util.function.Function<Map<String, Object>, Map<String, ResolvedInput>> resolver) {
    this.shared = Objects.requireNonNull(resolver, "resolver");
    return this;
  }

  /**
   * Resolves every input of a job, those that can share a source together (see
   * {@link #registerShared}), in the specs' order; when one fails, the ones opened are closed.
   *
   * @throws ConfigException naming the bad input's field
   */
  public Map<String, ResolvedInput> resolveAll(Map<String, Object> specs) {
    java.util.function.Function<Map<String, Object>, Map<String, ResolvedInput>> together;
    synchronized (this) {
      together = shared;
    }
    Map<String, ResolvedInput> byShared = together.apply(specs);
    Map<String, ResolvedInput> out = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Object> in : specs.entrySet()) {
        ResolvedInput r = byShared.get(in.getKey());
        out.put(in.getKey(), r != null ? r : resolve(in.getKey(), in.getValue()));
      }
      return out;
    } catch (RuntimeException e) {
      byShared.values().forEach(r -> r.source().close());
      out.values().stream().filter(r -> !byShared.containsValue(r)).forEach(r -> r.source().close());
      throw e;
    }
  }

  /** The registered kinds, in registration order. */
  public synchronized List<String> kinds() {
    return List.copyOf(byKind.keySet());
  }

  /**
   * Resolves one input spec.
   *
   * @throws ConfigException naming {@code inputs.NAME} when the spec is not a mapping or has no
   *     (or more than one) registered kind key, or the resolver's own field errors
   */
  public ResolvedInput resolve(String name, Object spec) {
    String field = "inputs." + name;
    if (!(spec instanceof Map<?, ?> raw)) {
      throw new ConfigException(field, "expected a mapping with one of the keys " + kinds() + ", e.g. "
          + "{synthetic: {rows: 1000, width: 64}}");
    }
    Map<String, Object> m = new LinkedHashMap<>();
    raw.forEach((k, v) -> m.put(String.valueOf(k), v));
    List<String> found = new ArrayList<>();
    InputResolver resolver = null;
    synchronized (this) {
      for (Map.Entry<String, InputResolver> e : byKind.entrySet()) {
        if (m.containsKey(e.getKey())) {
          found.add(e.getKey());
          resolver = e.getValue();
        }
      }
    }
    if (found.isEmpty()) {
      throw new ConfigException(field, "unknown input kind " + m.keySet() + "; expected one of " + kinds());
    }
    if (found.size() > 1) {
      throw new ConfigException(field, "give one input kind, found " + found);
    }
    return resolver.resolve(name, m);
  }
}
