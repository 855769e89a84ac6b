package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.Normalization;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A GPT-2 decoder with a TransformerLens-style hook at every named activation, computed in fp32
 * with DJL NDArray ops.
 *
 * <p>Weights are held under their Hugging Face GPT-2 safetensors names ({@code wte.weight},
 * {@code h.3.attn.c_attn.weight}, ...) with Conv1D layout ({@code y = x @ W + b}), and the
 * unembedding is tied to {@code wte.weight}; a safetensors loader only has to fill the map.
 *
 * <p>Hook semantics follow TransformerLens without LayerNorm folding: {@code ln*.hook_normalized}
 * is the LayerNorm output (after its weight and bias), {@code attn.hook_attn_scores} are the
 * scaled, masked ({@code -inf}) pre-softmax scores, {@code attn.hook_pattern} the softmax
 * probabilities, {@code hook_q/k/v/z} are {@code [batch, pos, head, d_head]}, and attention
 * hooks are {@code [batch, head, query, key]}. Sequences are right-padded; padded keys are masked.
 *
 * <p>Weights are read-only after construction, but one forward pass allocates a lot of native
 * memory, so callers (the session) run one pass at a time.
 */
public final class Gpt2Model implements HookedTransformer {
  private static final double INIT_STD = 0.02;

  private final Gpt2Config config;
  private final NDManager manager;
  private final Map<String, NDArray> weights;
  private final List<String> hookNames;
  private final Map<String, Integer> hookWidths;
  private final String[][] blockHookNames;

  private Gpt2Model(Gpt2Config config, NDManager manager, Map<String, NDArray> weights) {
    this.config = config;
    this.manager = manager;
    this.weights = Collections.unmodifiableMap(weights);
    this.hookNames = List.copyOf(HookPoint.standardNames(config.nLayer(), true));
    this.hookWidths = HookPass.hookWidths(hookNames, this::widthOf);
    this.blockHookNames = HookPass.blockHookTable(config.nLayer());
  }

  private int widthOf(String site) {
    switch (site) {
      case "attn.hook_q":
      case "attn.hook_k":
      case "attn.hook_v":
      case "attn.hook_z":
        return config.dHead();
      case "attn.hook_attn_scores":
      case "attn.hook_pattern":
        return -1;
      case "mlp.hook_pre":
      case "mlp.hook_post":
        return config.nInner();
      default:
        return config.nEmbd();
    }
  }

  /** The Hugging Face name and shape of every weight, in file order. */
  public static Map<String, Shape> weightShapes(Gpt2Config c) {
    long d = c.nEmbd();
    Map<String, Shape> s = new LinkedHashMap<>();
    s.put("wte.weight", new Shape(c.vocabSize(), d));
    s.put("wpe.weight", new Shape(c.nPositions(), d));
    for (int l = 0; l < c.nLayer(); l++) {
      String p = "h." + l + ".";
      s.put(p + "ln_1.weight", new Shape(d));
      s.put(p + "ln_1.bias", new Shape(d));
      s.put(p + "attn.c_attn.weight", new Shape(d, 3 * d));
      s.put(p + "attn.c_attn.bias", new Shape(3 * d));
      s.put(p + "attn.c_proj.weight", new Shape(d, d));
      s.put(p + "attn.c_proj.bias", new Shape(d));
      s.put(p + "ln_2.weight", new Shape(d));
      s.put(p + "ln_2.bias", new Shape(d));
      s.put(p + "mlp.c_fc.weight", new Shape(d, c.nInner()));
      s.put(p + "mlp.c_fc.bias", new Shape(c.nInner()));
      s.put(p + "mlp.c_proj.weight", new Shape(c.nInner(), d));
      s.put(p + "mlp.c_proj.bias", new Shape(d));
    }
    s.put("ln_f.weight", new Shape(d));
    s.put("ln_f.bias", new Shape(d));
    return s;
  }

  /**
   * Builds a model from weights named as in Hugging Face GPT-2; the arrays are attached to a new
   * child manager of {@code parent}, which the model then owns.
   *
   * @throws IllegalArgumentException naming the first missing, unexpected, mis-shaped or non-fp32 weight
   */
  public static Gpt2Model fromWeights(Gpt2Config config, Map<String, NDArray> weights, NDManager parent) {
    NDManager own = parent.newSubManager();
    Map<String, NDArray> kept;
    try {
      kept = HookPass.adoptWeights(weightShapes(config), weights, name -> name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias")
          || name.equals("lm_head.weight"), "weight",
          name -> " for a GPT-2 with " + config.nLayer() + " layers", own);
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
    return new Gpt2Model(config, own, kept);
  }

  /**
   * A randomly initialised GPT-2 as Hugging Face initialises one: every matrix and embedding
   * drawn from N(0, 0.02), the residual projections ({@code c_proj}) from N(0, 0.02/sqrt(2 n_layer)),
   * biases 0, LayerNorm weights 1. Values come from {@link java.util.Random} seeded per weight
   * name, so a seed gives bit-identical weights on every machine and engine.
   */
  public static Gpt2Model random(Gpt2Config config, long seed, NDManager parent) {
    NDManager own = parent.newSubManager();
    Map<String, NDArray> w = new LinkedHashMap<>();
    double projStd = INIT_STD / Math.sqrt(2.0 * config.nLayer());
    for (Map.Entry<String, Shape> e : weightShapes(config).entrySet()) {
      String name = e.getKey();
      float[] v = new float[Math.toIntExact(e.getValue().size())];
      boolean bias = name.endsWith(".bias");
      if (!bias && name.contains("ln_")) {
        java.util.Arrays.fill(v, 1f);
      } else if (!bias) {
        double std = name.endsWith("c_proj.weight") ? projStd : INIT_STD;
        Random r = new Random(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (r.nextGaussian() * std);
        }
      }
      NDArray a = own.create(v, e.getValue());
      a.setName(name);
      w.put(name, a);
    }
    return new Gpt2Model(config, own, w);
  }

  public Gpt2Config config() {
    return config;
  }

  @Override
  public String architecture() {
    return "gpt2";
  }

  @Override
  public boolean causal() {
    return true;
  }

  @Override
  public int nLayers() {
    return config.nLayer();
  }

  @Override
  public int dModel() {
    return config.nEmbd();
  }

  @Override
  public int nHeads() {
    return config.nHead();
  }

  @Override
  public int dHead() {
    return config.dHead();
  }

  @Override
  public int dMlp() {
    return config.nInner();
  }

  @Override
  public int vocabSize() {
    return config.vocabSize();
  }

  @Override
  public int maxContext() {
    return config.nPositions();
  }

  @Override
  public long parameterCount() {
    return config.parameterCount();
  }

  /** The weights by Hugging Face name, read-only; the arrays belong to this model. */
  @Override
  public Map<String, NDArray> weights() {
    return weights;
  }

  /** Every hook name, in forward order. */
  @Override
  public List<String> hookNames() {
    return hookNames;
  }

  /** Last-axis width of every hook (-1 for attention-pattern hooks, whose last axis is key position). */
  @Override
  public Map<String, Integer> hookWidths() {
    return hookWidths;
  }

  /**
   * Checks a batch of token sequences.
   *
   * @throws IllegalArgumentException naming the sequence (and token index) that is empty, too
   *     long or holds an id outside the vocabulary
   */
  @Override
  public void validateTokens(int[][] tokens) {
    HookPass.validateTokens(tokens, config.nPositions(), "the context of " + config.nPositions(), config.vocabSize());
  }

  /**
   * Checks that every hook named in {@code hooks} exists in this model.
   *
   * @throws IllegalArgumentException naming the unknown hook
   */
  @Override
  public void validateHooks(ForwardHooks hooks) {
    for (String h : hooks.hookNames()) {
      if (!hookWidths.containsKey(h)) {
        throw new IllegalArgumentException("unknown hook '" + h + "' for this GPT-2 with " + config.nLayer()
            + " layers; run `loupe model info` for the list");
      }
    }
  }

  /**
   * One forward pass over right-padded sequences.
   *
   * @param out the manager that receives the logits and the captured activations
   * @throws IllegalArgumentException for bad tokens or unknown hooks (see the validate methods),
   *     or when a hook function returns an array of the wrong shape
   */
  @Override
  public ForwardResult forward(int[][] tokens, ForwardHooks hooks, NDManager out) {
    validateTokens(tokens);
    validateHooks(hooks);
    int batch = tokens.length;
    int[] lengths = HookPass.lengths(tokens);
    int seq = java.util.Arrays.stream(lengths).max().orElseThrow();
    long d = config.nEmbd();
    try (NDManager sub = manager.newSubManager()) {
      HookPass p = new HookPass(sub, hooks);
      NDArray idArray = HookPass.paddedIds(sub, tokens, seq);
      NDArray embed = weights.get("wte.weight").get(sub, new NDIndex("{}", idArray)).reshape(batch, seq, d);
      embed = p.at("hook_embed", embed);
      NDArray pos = weights.get("wpe.weight").get(sub, new NDIndex(":{}", seq)).expandDims(0)
          .broadcast(batch, seq, d);
      pos = p.at("hook_pos_embed", pos);
      NDArray resid = embed.add(pos);
      p.free(embed, pos, idArray);
      NDArray mask = HookPass.causalPaddingMask(sub, lengths, seq);
      for (int l = 0; l < config.nLayer(); l++) {
        resid = block(p, l, resid, mask, batch, seq);
      }
      NDArray fin = layerNorm(resid, "ln_f");
      fin = p.at("ln_final.hook_normalized", fin);
      NDArray wt = unembedding();
      NDArray logits = fin.matMul(wt);
      wt.close();
      return p.result(logits, lengths, out);
    }
  }

  private NDArray block(HookPass p, int l, NDArray residIn, NDArray mask, int batch, int seq) {
    String[] n = blockHookNames[l];
    String w = "h." + l + ".";
    long d = config.nEmbd();
    int heads = config.nHead();
    long dh = config.dHead();
    NDArray resid = p.at(n[0], residIn);
    NDArray x = p.at(n[1], layerNorm(resid, w + "ln_1"));
    NDArray qkv = x.matMul(weights.get(w + "attn.c_attn.weight")).addi(weights.get(w + "attn.c_attn.bias"));
    p.free(x);
    NDList parts = qkv.split(3, 2);
    NDArray q = p.at(n[2], parts.get(0).reshape(batch, seq, heads, dh));
    NDArray k = p.at(n[3], parts.get(1).reshape(batch, seq, heads, dh));
    NDArray v = p.at(n[4], parts.get(2).reshape(batch, seq, heads, dh));
    NDArray scores = q.transpose(0, 2, 1, 3).matMul(k.transpose(0, 2, 3, 1))
        .muli(1.0 / Math.sqrt(dh)).addi(mask);
    scores = p.at(n[5], scores);
    NDArray pattern = p.at(n[6], scores.softmax(-1));
    p.free(scores);
    NDArray z = p.at(n[7], pattern.matMul(v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3));
    p.free(pattern, q, k, v, qkv);
    p.free(parts.toArray(new NDArray[0]));
    NDArray attnOut = z.reshape(batch, seq, d).matMul(weights.get(w + "attn.c_proj.weight"))
        .addi(weights.get(w + "attn.c_proj.bias"));
    p.free(z);
    attnOut = p.at(n[8], attnOut);
    NDArray mid = p.at(n[9], resid.add(attnOut));
    p.free(attnOut, resid);
    NDArray x2 = p.at(n[10], layerNorm(mid, w + "ln_2"));
    NDArray pre = x2.matMul(weights.get(w + "mlp.c_fc.weight")).addi(weights.get(w + "mlp.c_fc.bias"));
    p.free(x2);
    pre = p.at(n[11], pre);
    NDArray post = p.at(n[12], geluNew(p, pre));
    p.free(pre);
    NDArray mlpOut = post.matMul(weights.get(w + "mlp.c_proj.weight")).addi(weights.get(w + "mlp.c_proj.bias"));
    p.free(post);
    mlpOut = p.at(n[13], mlpOut);
    NDArray outResid = p.at(n[14], mid.add(mlpOut));
    p.free(mlpOut, mid);
    return outResid;
  }

  /** GPT-2's tanh approximation of GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
  private static NDArray geluNew(HookPass p, NDArray x) {
    NDArray inner = x.mul(x).muli(x).muli(0.044715f).addi(x).muli((float) Math.sqrt(2.0 / Math.PI));
    NDArray t = inner.tanh();
    p.free(inner);
    // Not in place on t: tanh's backward needs its own output, so autograd (training) must see it unchanged.
    NDArray y = t.add(1f).muli(x).muli(0.5f);
    p.free(t);
    return y;
  }

  private NDArray layerNorm(NDArray x, String prefix) {
    NDList r = LayerNorm.layerNorm(x, new Shape(config.nEmbd()), weights.get(prefix + ".weight"),
        weights.get(prefix + ".bias"), (float) config.layerNormEpsilon());
    return r.singletonOrThrow();
  }

  /**
   * Logit lens: final LayerNorm then the tied unembedding, {@code [..., d_model] -> [..., vocab]};
   * the result belongs to the residual's manager.
   *
   * @throws IllegalArgumentException when the last axis is not d_model
   */
  @Override
  public NDArray unembed(NDArray residual) {
    Shape s = residual.getShape();
    if (s.dimension() == 0 || s.get(s.dimension() - 1) != config.nEmbd()) {
      throw new IllegalArgumentException("unembed expects a residual whose last axis is d_model = " + config.nEmbd()
          + ", got shape " + s);
    }
    NDArray x = layerNorm(residual, "ln_f");
    NDArray wt = unembedding();
    NDArray logits = x.matMul(wt);
    x.close();
    wt.close();
    return logits;
  }

  /**
   * Direct logit effect of residual-stream directions {@code [..., d_model] -> [..., vocab]}: the
   * linear part of the final norm (centring and gain for LayerNorm, gain for RMSNorm; the
   * per-token scale and the bias left out, as after TransformerLens's {@code fold_ln}) then the
   * unembedding. For an SAE this is W_dec W_U, the "top logits" of a feature dashboard.
   */
  @Override
  public NDArray unembedDirections(NDArray directions) {
    HookedTransformer.requireWidth(directions, config.nEmbd());
    NDArray centred = directions.sub(directions.mean(new int[] {-1}, true));
    NDArray scaled = centred.mul(weights.get("ln_f.weight"));
    NDArray wt = unembedding();
    NDArray logits = scaled.matMul(wt);
    centred.close();
    scaled.close();
    wt.close();
    return logits;
  }

  /**
   * {@inheritDoc}
   *
   * <p>GPT-2's hooks are the LayerNorm outputs after their weight and bias, so the gain and bias
   * are {@code ln_1}/{@code ln_2}/{@code ln_f}'s; ln1 reads {@code hook_resid_pre}, ln2
   * {@code hook_resid_mid}, ln_final the last block's {@code hook_resid_post}; centred, eps
   * {@code layer_norm_epsilon}.
   */
  @Override
  public Normalization normalization(String normalizedHook) {
    int[] at = HookPass.normalizationSite(normalizedHook, hookNames, "this GPT-2 with " + config.nLayer() + " layers", "");
    int l = at[0];
    String prefix = switch (at[1]) {
      case 1 -> "h." + l + ".ln_1";
      case 2 -> "h." + l + ".ln_2";
      default -> "ln_f";
    };
    String input = switch (at[1]) {
      case 1 -> HookPoint.residPre(l);
      case 2 -> HookPoint.block(l, "hook_resid_mid");
      default -> HookPoint.residPost(config.nLayer() - 1);
    };
    return new Normalization(normalizedHook, input, weights.get(prefix + ".weight").toFloatArray(),
        weights.get(prefix + ".bias").toFloatArray(), true, config.layerNormEpsilon());
  }

  // A fresh transposed view of the tied embedding per pass, so gradients reach wte.weight when training.
  private NDArray unembedding() {
    return weights.get("wte.weight").transpose(1, 0);
  }

  /** Frees the weights' native memory. */
  @Override
  public void close() {
    manager.close();
  }
}
