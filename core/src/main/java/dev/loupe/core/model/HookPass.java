package dev.loupe.core.model;

import dev.loupe.sdk.hook.HookPoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.model.HookFunction;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * State of one forward pass, shared by the architectures: runs hook functions, keeps captures,
 * and frees intermediate arrays that no hook function may still hold.
 */
final class HookPass {
  final NDManager sub;
  final ForwardHooks hooks;
  final Map<String, NDArray> captured = new LinkedHashMap<>();
  private final Set<NDArray> retained = Collections.newSetFromMap(new IdentityHashMap<>());

  HookPass(NDManager sub, ForwardHooks hooks) {
    this.sub = sub;
    this.hooks = hooks;
  }

  NDArray at(String name, NDArray x) {
    if (!hooks.touches(name)) {
      return x;
    }
    // A hook function may keep a reference (trace.save does), so nothing seen here is freed early.
    retained.add(x);
    for (HookFunction fn : hooks.functionsAt(name)) {
      NDArray r = fn.apply(x, name);
      if (r == null || r == x) {
        continue;
      }
      if (!r.getShape().equals(x.getShape())) {
        throw new IllegalArgumentException("hook function at '" + name + "' returned shape " + r.getShape()
            + ", expected " + x.getShape());
      }
      if (r.getDataType() != DataType.FLOAT32) {
        r = r.toType(DataType.FLOAT32, false);
      }
      if (r.getManager() != sub) {
        // The replacement may belong to the caller (a patch source): copy it into this pass.
        NDArray copy = r.duplicate();
        copy.attach(sub);
        r = copy;
      }
      retained.add(r);
      x = r;
    }
    if (hooks.captures(name)) {
      captured.put(name, x);
    }
    return x;
  }

  void free(NDArray... arrays) {
    for (NDArray a : arrays) {
      if (a != null && !retained.contains(a)) {
        a.close();
      }
    }
  }

  /** Moves the logits and captures to {@code out} and wraps them. */
  ForwardResult result(NDArray logits, int[] lengths, NDManager out) {
    logits.attach(out);
    Map<String, NDArray> kept = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : captured.entrySet()) {
      e.getValue().attach(out);
      kept.put(e.getKey(), e.getValue());
    }
    return new ForwardResult(logits, kept, lengths);
  }

  /** The length of every sequence of a batch. */
  static int[] lengths(int[][] tokens) {
    int[] lengths = new int[tokens.length];
    for (int b = 0; b < tokens.length; b++) {
      lengths[b] = tokens[b].length;
    }
    return lengths;
  }

  /** The ids of a batch right-padded with 0 to the longest sequence, flattened. */
  static NDArray paddedIds(NDManager m, int[][] tokens, int seq) {
    long[] ids = new long[tokens.length * seq];
    for (int b = 0; b < tokens.length; b++) {
      for (int i = 0; i < tokens[b].length; i++) {
        ids[b * seq + i] = tokens[b][i];
      }
    }
    return owned(m.create(ids, new Shape((long) tokens.length * seq)));
  }

  /**
   * A copy that owns its memory. Arrays made from Java buffers may share the buffer, which is
   * released when the array is closed; autograd keeps index tensors for the backward pass after
   * the forward has closed its arrays, so those must not point into Java memory.
   */
  static NDArray owned(NDArray fromJava) {
    NDArray copy = fromJava.duplicate();
    fromJava.close();
    return copy;
  }

  /** [batch, 1, seq, seq]: 0 where query i may attend key j (j <= i and j a real token), -inf elsewhere. */
  static NDArray causalPaddingMask(NDManager m, int[] lengths, int seq) {
    float[] mask = new float[lengths.length * seq * seq];
    for (int b = 0; b < lengths.length; b++) {
      int base = b * seq * seq;
      for (int i = 0; i < seq; i++) {
        for (int j = 0; j < seq; j++) {
          if (j > i || j >= lengths[b]) {
            mask[base + i * seq + j] = Float.NEGATIVE_INFINITY;
          }
        }
      }
    }
    return m.create(mask, new Shape(lengths.length, 1, seq, seq));
  }

  /**
   * Checks a batch against a context length and vocabulary.
   *
   * @param contextName what limits the length, for the message (e.g. "the context of 16")
   */
  static void validateTokens(int[][] tokens, int maxContext, String contextName, int vocabSize) {
    if (tokens == null || tokens.length == 0) {
      throw new IllegalArgumentException("tokens: the batch is empty; expected at least one sequence");
    }
    for (int b = 0; b < tokens.length; b++) {
      int[] seq = tokens[b];
      if (seq == null || seq.length == 0) {
        throw new IllegalArgumentException("tokens[" + b + "] is empty; expected 1.." + maxContext + " tokens");
      }
      if (seq.length > maxContext) {
        throw new IllegalArgumentException("tokens[" + b + "] has " + seq.length + " tokens, more than "
            + contextName);
      }
      for (int i = 0; i < seq.length; i++) {
        if (seq[i] < 0 || seq[i] >= vocabSize) {
          throw new IllegalArgumentException("tokens[" + b + "][" + i + "] = " + seq[i]
              + " is outside the vocabulary [0, " + vocabSize + ")");
        }
      }
    }
  }

  /**
   * Checks a checkpoint's weights against an architecture's expected names and shapes and adopts
   * them: every expected weight must be present, of its shape and float32; any other name must be
   * {@code ignorable} (buffers, tied heads). The expected arrays are attached to {@code own}.
   *
   * @param label how messages call a weight, e.g. {@code "weight"} or {@code "BERT weight"}
   * @param unexpected the tail of the message for an unexpected name, e.g. {@code " for a GPT-2 with 4 layers"}
   * @return the expected weights by name, in the order of {@code expected}
   * @throws IllegalArgumentException naming the first missing, mis-shaped, non-fp32 or unexpected weight
   */
  static Map<String, NDArray> adoptWeights(Map<String, ai.djl.ndarray.types.Shape> expected,
      Map<String, NDArray> weights, java.util.function.Predicate<String> ignorable, String label,
      java.util.function.Function<String, String> unexpected, NDManager own) {
    for (Map.Entry<String, ai.djl.ndarray.types.Shape> e : expected.entrySet()) {
      NDArray a = weights.get(e.getKey());
      if (a == null) {
        throw new IllegalArgumentException(label + " " + e.getKey() + " is missing (expected shape " + e.getValue() + ")");
      }
      if (!a.getShape().equals(e.getValue())) {
        throw new IllegalArgumentException(label + " " + e.getKey() + " has shape " + a.getShape() + ", expected "
            + e.getValue());
      }
      if (a.getDataType() != ai.djl.ndarray.types.DataType.FLOAT32) {
        throw new IllegalArgumentException(label + " " + e.getKey() + " is " + a.getDataType() + ", expected float32");
      }
    }
    for (String name : weights.keySet()) {
      if (!expected.containsKey(name) && !ignorable.test(name)) {
        throw new IllegalArgumentException("unexpected weight " + name + unexpected.apply(name));
      }
    }
    Map<String, NDArray> kept = new java.util.LinkedHashMap<>();
    for (String name : expected.keySet()) {
      NDArray a = weights.get(name);
      a.attach(own);
      a.setName(name);
      kept.put(name, a);
    }
    return kept;
  }

  /** {@code table[layer][i]} = the name of {@link HookPoint#BLOCK_SITES}{@code .get(i)} in that block. */
  static String[][] blockHookTable(int nLayers) {
    String[][] t = new String[nLayers][HookPoint.BLOCK_SITES.size()];
    for (int l = 0; l < nLayers; l++) {
      for (int i = 0; i < HookPoint.BLOCK_SITES.size(); i++) {
        t[l][i] = HookPoint.block(l, HookPoint.BLOCK_SITES.get(i));
      }
    }
    return t;
  }

  /** The last-axis width of every hook, from its site's width (read-only, in hook order). */
  static Map<String, Integer> hookWidths(java.util.List<String> hookNames, java.util.function.ToIntFunction<String> widthOfSite) {
    Map<String, Integer> widths = new java.util.LinkedHashMap<>();
    for (String h : hookNames) {
      widths.put(h, widthOfSite.applyAsInt(HookPoint.parse(h).site()));
    }
    return java.util.Collections.unmodifiableMap(widths);
  }
  /** The block sites of normalisation hooks, in block order. */
  static final java.util.List<String> NORM_SITES = java.util.List.of("ln1.hook_normalized", "ln2.hook_normalized");

  /**
   * Where a normalisation hook sits: {@code {layer, 1}} for {@code blocks.L.ln1.hook_normalized},
   * {@code {layer, 2}} for ln2, {@code {-1, 0}} for {@code ln_final.hook_normalized}.
   *
   * @param what how messages call the model, e.g. {@code "this GPT-2 with 4 layers"}
   * @param note appended to the message when the hook is not one (may be empty)
   * @throws IllegalArgumentException naming the hook and listing the model's normalisation hooks
   *     when {@code hook} is not among {@code hookNames} or is not a normalisation's output
   */
  static int[] normalizationSite(String hook, java.util.List<String> hookNames, String what, String note) {
    if (hook != null && hookNames.contains(hook)) {
      if (hook.equals("ln_final.hook_normalized")) {
        return new int[] {-1, 0};
      }
      HookPoint h = HookPoint.parse(hook);
      int i = NORM_SITES.indexOf(h.site());
      if (h.layer() >= 0 && i >= 0) {
        return new int[] {h.layer(), i + 1};
      }
    }
    java.util.List<String> norms = hookNames.stream().filter(n -> n.endsWith(".hook_normalized")).toList();
    String valid;
    if (norms.size() <= 9) {
      valid = String.join(", ", norms);
    } else {
      // blocks.L.ln1.hook_normalized and ln2 for every L, then any global ones
      int layers = (int) norms.stream().filter(n -> n.endsWith(".ln1.hook_normalized")).count();
      java.util.List<String> parts = new java.util.ArrayList<>();
      for (String site : NORM_SITES) {
        parts.add("blocks.L." + site);
      }
      String tail = norms.stream().filter(n -> !n.startsWith("blocks.")).map(n -> ", " + n)
          .reduce("", String::concat);
      valid = String.join(", ", parts) + " for L in 0.." + (layers - 1) + tail;
    }
    String kind = hook != null && hookNames.contains(hook) ? "is not a normalisation hook of " : "is not a hook of ";
    throw new IllegalArgumentException("'" + hook + "' " + kind + what + note + "; its normalisation hooks are "
        + valid);
  }
}
