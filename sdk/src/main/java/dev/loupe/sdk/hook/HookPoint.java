package dev.loupe.sdk.hook;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A named place in a transformer's forward pass where an activation can be read or replaced.
 *
 * <p>Names follow TransformerLens so that users and saved sparse coders carry over:
 * {@code hook_embed}, {@code blocks.3.hook_resid_post}, {@code blocks.0.attn.hook_pattern},
 * {@code ln_final.hook_normalized}. Which names a particular model has is told by its
 * {@code ModelInfo#hookNames()}; this class only knows the naming scheme.
 *
 * @param name the full hook name
 * @param layer the block index, or -1 for hooks outside the blocks
 * @param site the name within the block (for example {@code hook_resid_post}), or the full name
 *     for hooks outside the blocks
 */
public record HookPoint(String name, int layer, String site) {

  /** Sites inside each block, in forward order. */
  public static final List<String> BLOCK_SITES = List.of(
      "hook_resid_pre",
      "ln1.hook_normalized",
      "attn.hook_q",
      "attn.hook_k",
      "attn.hook_v",
      "attn.hook_attn_scores",
      "attn.hook_pattern",
      "attn.hook_z",
      "hook_attn_out",
      "hook_resid_mid",
      "ln2.hook_normalized",
      "mlp.hook_pre",
      "mlp.hook_post",
      "hook_mlp_out",
      "hook_resid_post");

  /** Hooks outside the blocks. */
  public static final List<String> GLOBAL_SITES =
      List.of("hook_embed", "hook_pos_embed", "ln_final.hook_normalized");

  private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d{1,4})\\.(.+)");

  public HookPoint {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(site, "site");
  }

  /**
   * Parses a hook name.
   *
   * @throws IllegalArgumentException naming the input and the expected forms when it is not a
   *     hook name of the scheme (whether a given model has it is checked by the model)
   */
  public static HookPoint parse(String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("hook name is empty; expected e.g. blocks.0.hook_resid_post");
    }
    Matcher m = BLOCK.matcher(name);
    if (m.matches()) {
      String site = m.group(2);
      if (!BLOCK_SITES.contains(site)) {
        throw new IllegalArgumentException("unknown hook '" + name + "': block site '" + site
            + "' is not one of " + BLOCK_SITES);
      }
      return new HookPoint(name, Integer.parseInt(m.group(1)), site);
    }
    if (GLOBAL_SITES.contains(name)) {
      return new HookPoint(name, -1, name);
    }
    throw new IllegalArgumentException("unknown hook '" + name + "': expected one of " + GLOBAL_SITES
        + " or blocks.{L}.{site} with site in " + BLOCK_SITES);
  }

  /** The name of {@code site} in block {@code layer}, e.g. {@code block(3, "hook_resid_post")}. */
  public static String block(int layer, String site) {
    if (layer < 0) {
      throw new IllegalArgumentException("layer must be >= 0, got " + layer);
    }
    if (!BLOCK_SITES.contains(site)) {
      throw new IllegalArgumentException("unknown block site '" + site + "'; expected one of " + BLOCK_SITES);
    }
    return "blocks." + layer + "." + site;
  }

  /** {@code blocks.L.hook_resid_pre}. */
  public static String residPre(int layer) {
    return block(layer, "hook_resid_pre");
  }

  /** {@code blocks.L.hook_resid_post}. */
  public static String residPost(int layer) {
    return block(layer, "hook_resid_post");
  }

  /** {@code blocks.L.mlp.hook_post}. */
  public static String mlpPost(int layer) {
    return block(layer, "mlp.hook_post");
  }

  /** Every block-site name for {@code nLayers} blocks, in forward order, between the globals. */
  public static List<String> standardNames(int nLayers, boolean positionalEmbedding) {
    List<String> out = new ArrayList<>();
    out.add("hook_embed");
    if (positionalEmbedding) {
      out.add("hook_pos_embed");
    }
    for (int l = 0; l < nLayers; l++) {
      for (String s : BLOCK_SITES) {
        out.add(block(l, s));
      }
    }
    out.add("ln_final.hook_normalized");
    return out;
  }

  /** Whether this hook is a residual-stream hook (resid_pre, resid_mid or resid_post). */
  public boolean isResidual() {
    return site.equals("hook_resid_pre") || site.equals("hook_resid_mid") || site.equals("hook_resid_post");
  }
}
