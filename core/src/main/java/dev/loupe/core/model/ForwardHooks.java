package dev.loupe.core.model;

import dev.loupe.sdk.model.HookFunction;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What one forward pass does at its hook points: which activations to capture and which hook
 * functions to run (in registration order). Hook points with neither cost nothing.
 *
 * <p>Not thread-safe while being built; a forward pass only reads it.
 */
public final class ForwardHooks {
  private final Map<String, List<HookFunction>> functions = new LinkedHashMap<>();
  private final Set<String> capture = new LinkedHashSet<>();

  /** No capture, no interventions. */
  public static ForwardHooks none() {
    return new ForwardHooks();
  }

  /** Captures the named hooks (after any hook functions there), no interventions. */
  public static ForwardHooks capturing(Set<String> hooks) {
    ForwardHooks h = new ForwardHooks();
    hooks.forEach(h::capture);
    return h;
  }

  /** Adds a hook function at {@code hook}; functions at one hook run in the order added. */
  public ForwardHooks add(String hook, HookFunction fn) {
    Objects.requireNonNull(hook, "hook");
    Objects.requireNonNull(fn, "fn");
    functions.computeIfAbsent(hook, k -> new ArrayList<>()).add(fn);
    return this;
  }

  /** Captures the activation at {@code hook} as it leaves the hook point. */
  public ForwardHooks capture(String hook) {
    capture.add(Objects.requireNonNull(hook, "hook"));
    return this;
  }

  /** Removes every function and capture request. */
  public void clear() {
    functions.clear();
    capture.clear();
  }

  /** Every hook name mentioned, by a function or a capture request. */
  public Set<String> hookNames() {
    Set<String> all = new LinkedHashSet<>(functions.keySet());
    all.addAll(capture);
    return all;
  }

  List<HookFunction> functionsAt(String hook) {
    return functions.getOrDefault(hook, List.of());
  }

  boolean captures(String hook) {
    return capture.contains(hook);
  }

  boolean touches(String hook) {
    return capture.contains(hook) || functions.containsKey(hook);
  }

  /** The capture requests, read-only. */
  public Set<String> captured() {
    return Collections.unmodifiableSet(capture);
  }
}
