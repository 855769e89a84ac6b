package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.norm.LayerNorm;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.Normalization;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A GPT-NeoX decoder (Pythia, GPT-NeoX-20B) with TransformerLens-style hooks, computed in fp32 with
 * DJL NDArray ops: LayerNorm, partial rotary embeddings (rotate-half over the first
 * {@code rotary_ndims} dims of each head), a fused per-head q/k/v projection, exact GELU and
 * parallel or sequential attention and MLP.
 *
 * <p>Weights are held under their Hugging Face names ({@code gpt_neox.embed_in.weight},
 * {@code gpt_neox.layers.3.attention.query_key_value.weight}, ...) in {@code nn.Linear} layout.
 * The fused projection's output rows are grouped by head: viewed as {@code [heads, 3 * d_head]},
 * each head's row block is its q, then k, then v (not all q rows first as in GPT-2's c_attn).
 *
 * <p>Hook semantics follow TransformerLens without weight folding: {@code ln*.hook_normalized} is
 * the LayerNorm output after its weight and bias; {@code attn.hook_q/k} are before the rotary
 * embedding. With {@code use_parallel_residual} (Pythia) both ln1 and ln2 read
 * {@code hook_resid_pre} and {@code hook_resid_post = resid_pre + attn_out + mlp_out}; there is no
 * residual stream between attention and MLP, so such models have no {@code hook_resid_mid}, as in
 * TransformerLens. There is no {@code hook_pos_embed}. Sequences are right-padded, positions count
 * from 0 in every sequence, padded keys are masked.
 */
public final class NeoxModel implements HookedTransformer {
  private static final double INIT_STD = 0.02;
  private static final String EMBED = "gpt_neox.embed_in.weight";
  private static final String FINAL_NORM = "gpt_neox.final_layer_norm";
  private static final String UNEMBED = "embed_out.weight";
  private static final int RESID_MID = HookPoint.BLOCK_SITES.indexOf("hook_resid_mid");

  private final NeoxConfig config;
  private final NDManager manager;
  private final Map<String, NDArray> weights;
  /** Transposed views ({@code [in, out]}) of the projection matrices, so that y = x @ W^T is one matmul. */
  private final Map<String, NDArray> transposed = new HashMap<>();
  private final NDArray unembedding;
  private final double[] inverseFrequencies;
  private final List<String> hookNames;
  private final Map<String, Integer> hookWidths;
  private final String[][] blockHookNames;

  private NeoxModel(NeoxConfig config, NDManager manager, Map<String, NDArray> weights) {
    this.config = config;
    this.manager = manager;
    this.weights = Collections.unmodifiableMap(weights);
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      String n = e.getKey();
      if (n.startsWith("gpt_neox.layers.") && n.endsWith(".weight") && !n.contains("layernorm")) {
        transposed.put(n, e.getValue().transpose(1, 0));
      }
    }
    this.unembedding = weights.get(config.tieWordEmbeddings() ? EMBED : UNEMBED).transpose(1, 0);
    this.inverseFrequencies = config.ropeInverseFrequencies();
    List<String> names = new ArrayList<>(HookPoint.standardNames(config.numHiddenLayers(), false));
    if (config.useParallelResidual()) {
      names.removeIf(h -> h.endsWith(".hook_resid_mid"));
    }
    this.hookNames = List.copyOf(names);
    this.hookWidths = HookPass.hookWidths(hookNames, this::widthOf);
    this.blockHookNames = HookPass.blockHookTable(config.numHiddenLayers());
  }

  private int widthOf(String site) {
    switch (site) {
      case "attn.hook_q":
      case "attn.hook_k":
      case "attn.hook_v":
      case "attn.hook_z":
        return config.headDim();
      case "attn.hook_attn_scores":
      case "attn.hook_pattern":
        return -1;
      case "mlp.hook_pre":
      case "mlp.hook_post":
        return config.intermediateSize();
      default:
        return config.hiddenSize();
    }
  }

  /** The Hugging Face name and shape of every weight, in file order. */
  public static Map<String, Shape> weightShapes(NeoxConfig c) {
    long d = c.hiddenSize();
    long inner = c.intermediateSize();
    Map<String, Shape> s = new LinkedHashMap<>();
    s.put(EMBED, new Shape(c.vocabSize(), d));
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      String p = "gpt_neox.layers." + l + ".";
      s.put(p + "input_layernorm.weight", new Shape(d));
      s.put(p + "input_layernorm.bias", new Shape(d));
      s.put(p + "post_attention_layernorm.weight", new Shape(d));
      s.put(p + "post_attention_layernorm.bias", new Shape(d));
      s.put(p + "attention.query_key_value.weight", new Shape(3 * d, d));
      if (c.attentionBias()) {
        s.put(p + "attention.query_key_value.bias", new Shape(3 * d));
      }
      s.put(p + "attention.dense.weight", new Shape(d, d));
      if (c.attentionBias()) {
        s.put(p + "attention.dense.bias", new Shape(d));
      }
      s.put(p + "mlp.dense_h_to_4h.weight", new Shape(inner, d));
      s.put(p + "mlp.dense_h_to_4h.bias", new Shape(inner));
      s.put(p + "mlp.dense_4h_to_h.weight", new Shape(d, inner));
      s.put(p + "mlp.dense_4h_to_h.bias", new Shape(d));
    }
    s.put(FINAL_NORM + ".weight", new Shape(d));
    s.put(FINAL_NORM + ".bias", new Shape(d));
    if (!c.tieWordEmbeddings()) {
      s.put(UNEMBED, new Shape(c.vocabSize(), d));
    }
    return s;
  }

  /**
   * Builds a model from weights named as in Hugging Face; the arrays are attached to a new child
   * manager of {@code parent}, which the model then owns. With tied embeddings an
   * {@code embed_out.weight} is ignored, as {@code transformers} does.
   *
   * @throws IllegalArgumentException naming the first missing, unexpected, mis-shaped or non-fp32 weight
   */
  public static NeoxModel fromWeights(NeoxConfig config, Map<String, NDArray> weights, NDManager parent) {
    NDManager own = parent.newSubManager();
    Map<String, NDArray> kept;
    try {
      kept = HookPass.adoptWeights(weightShapes(config), weights, name -> config.tieWordEmbeddings() && name.equals(UNEMBED), "weight",
          name -> " for a gpt_neox with " + config.numHiddenLayers() + " layers"
              + (name.endsWith(".bias") ? " and attention_bias " + config.attentionBias() : ""), own);
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
    return new NeoxModel(config, own, kept);
  }

  /**
   * A randomly initialised model as {@code transformers} initialises one: matrices and embeddings
   * from N(0, 0.02), biases 0, LayerNorm weights 1. Values come from {@link java.util.Random}
   * seeded per weight name, so a seed gives bit-identical weights on every machine and engine.
   */
  public static NeoxModel random(NeoxConfig config, long seed, NDManager parent) {
    NDManager own = parent.newSubManager();
    Map<String, NDArray> w = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : weightShapes(config).entrySet()) {
      String name = e.getKey();
      float[] v = new float[Math.toIntExact(e.getValue().size())];
      boolean norm = name.contains("layernorm") || name.startsWith(FINAL_NORM);
      if (norm && name.endsWith(".weight")) {
        Arrays.fill(v, 1f);
      } else if (!name.endsWith(".bias")) {
        Random r = new Random(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (r.nextGaussian() * INIT_STD);
        }
      }
      NDArray a = own.create(v, e.getValue());
      a.setName(name);
      w.put(name, a);
    }
    return new NeoxModel(config, own, w);
  }

  public NeoxConfig config() {
    return config;
  }

  @Override
  public String architecture() {
    return NeoxConfig.MODEL_TYPE;
  }

  @Override
  public boolean causal() {
    return true;
  }

  @Override
  public int nLayers() {
    return config.numHiddenLayers();
  }

  @Override
  public int dModel() {
    return config.hiddenSize();
  }

  @Override
  public int nHeads() {
    return config.numAttentionHeads();
  }

  @Override
  public int dHead() {
    return config.headDim();
  }

  @Override
  public int dMlp() {
    return config.intermediateSize();
  }

  @Override
  public int vocabSize() {
    return config.vocabSize();
  }

  @Override
  public int maxContext() {
    return config.maxPositionEmbeddings();
  }

  @Override
  public long parameterCount() {
    return config.parameterCount();
  }

  @Override
  public Map<String, NDArray> weights() {
    return weights;
  }

  @Override
  public List<String> hookNames() {
    return hookNames;
  }

  @Override
  public Map<String, Integer> hookWidths() {
    return hookWidths;
  }

  @Override
  public void validateTokens(int[][] tokens) {
    HookPass.validateTokens(tokens, config.maxPositionEmbeddings(), "the context of "
        + config.maxPositionEmbeddings(), config.vocabSize());
  }

  @Override
  public void validateHooks(ForwardHooks hooks) {
    for (String h : hooks.hookNames()) {
      if (!hookWidths.containsKey(h)) {
        String why = h.equals("hook_pos_embed") ? " (rotary embeddings have no positional-embedding hook)"
            : h.endsWith(".hook_resid_mid") && config.useParallelResidual()
                ? " (use_parallel_residual: attention and MLP both read resid_pre, so there is no resid_mid)" : "";
        throw new IllegalArgumentException("unknown hook '" + h + "' for this gpt_neox with "
            + config.numHiddenLayers() + " layers" + why + "; run `loupe model info` for the list");
      }
    }
  }

  @Override
  public ForwardResult forward(int[][] tokens, ForwardHooks hooks, NDManager out) {
    validateTokens(tokens);
    validateHooks(hooks);
    int batch = tokens.length;
    int[] lengths = HookPass.lengths(tokens);
    int seq = Arrays.stream(lengths).max().orElseThrow();
    long d = config.hiddenSize();
    try (NDManager sub = manager.newSubManager()) {
      HookPass p = new HookPass(sub, hooks);
      NDArray ids = HookPass.paddedIds(sub, tokens, seq);
      NDArray resid = weights.get(EMBED).get(sub, new NDIndex("{}", ids)).reshape(batch, seq, d);
      p.free(ids);
      resid = p.at("hook_embed", resid);
      NDArray mask = HookPass.causalPaddingMask(sub, lengths, seq);
      NDArray[] rope = rotaryTables(sub, seq);
      for (int l = 0; l < config.numHiddenLayers(); l++) {
        resid = block(p, l, resid, mask, rope, batch, seq);
      }
      NDArray fin = p.at("ln_final.hook_normalized", layerNorm(resid, FINAL_NORM));
      p.free(resid);
      NDArray logits = fin.matMul(unembedding);
      p.free(fin);
      return p.result(logits, lengths, out);
    }
  }

  /** cos and sin of every (position, frequency), laid out {@code [1, seq, 1, rotary_ndims]} as cat(f, f). */
  private NDArray[] rotaryTables(NDManager m, int seq) {
    int rot = config.rotaryNdims();
    int half = rot / 2;
    float[] cos = new float[seq * rot];
    float[] sin = new float[seq * rot];
    for (int pos = 0; pos < seq; pos++) {
      for (int i = 0; i < half; i++) {
        // fp32 angle, as transformers computes it, so that long contexts round the same way
        float angle = (float) inverseFrequencies[i] * pos;
        float c = (float) Math.cos(angle);
        float s = (float) Math.sin(angle);
        cos[pos * rot + i] = c;
        cos[pos * rot + half + i] = c;
        sin[pos * rot + i] = s;
        sin[pos * rot + half + i] = s;
      }
    }
    Shape shape = new Shape(1, seq, 1, rot);
    return new NDArray[] {m.create(cos, shape), m.create(sin, shape)};
  }

  /**
   * Rotates the first rotary_ndims dims of every head of {@code x [batch, pos, head, d_head]}
   * (x * cos + rotate_half(x) * sin) and passes the rest through.
   */
  private NDArray rotate(HookPass p, NDArray x, NDArray[] rope) {
    int rot = config.rotaryNdims();
    boolean partial = rot < config.headDim();
    NDList parts = partial ? x.split(new long[] {rot}, 3) : new NDList(x);
    NDArray r = parts.get(0);
    NDList halves = r.split(2, 3);
    NDArray neg = halves.get(1).neg();
    NDArray rotated = NDArrays.concat(new NDList(neg, halves.get(0)), 3);
    NDArray turned = r.mul(rope[0]).addi(rotated.muli(rope[1]));
    p.free(neg, rotated);
    p.free(halves.toArray(new NDArray[0]));
    if (!partial) {
      return turned;
    }
    NDArray out = NDArrays.concat(new NDList(turned, parts.get(1)), 3);
    p.free(turned);
    p.free(parts.toArray(new NDArray[0]));
    return out;
  }

  private NDArray linear(NDArray x, String prefix) {
    NDArray y = x.matMul(transposed.get(prefix + ".weight"));
    NDArray bias = weights.get(prefix + ".bias");
    return bias == null ? y : y.addi(bias);
  }

  private NDArray layerNorm(NDArray x, String prefix) {
    NDList r = LayerNorm.layerNorm(x, new Shape(config.hiddenSize()), weights.get(prefix + ".weight"),
        weights.get(prefix + ".bias"), (float) config.layerNormEps());
    return r.singletonOrThrow();
  }

  private NDArray block(HookPass p, int l, NDArray residIn, NDArray mask, NDArray[] rope, int batch, int seq) {
    String[] n = blockHookNames[l];
    String w = "gpt_neox.layers." + l + ".";
    int heads = config.numAttentionHeads();
    long dh = config.headDim();
    NDArray resid = p.at(n[0], residIn);
    NDArray x = p.at(n[1], layerNorm(resid, w + "input_layernorm"));
    // [b, s, 3d] viewed as [b, s, heads, 3 * d_head]: each head's slice is its q, k, v in turn.
    NDArray qkv = linear(x, w + "attention.query_key_value").reshape(batch, seq, heads, 3 * dh);
    p.free(x);
    NDList parts = qkv.split(3, 3);
    NDArray q = p.at(n[2], parts.get(0));
    NDArray k = p.at(n[3], parts.get(1));
    NDArray v = p.at(n[4], parts.get(2));
    NDArray qRot = rotate(p, q, rope);
    NDArray kRot = rotate(p, k, rope);
    NDArray qHeads = qRot.transpose(0, 2, 1, 3);
    NDArray kHeads = kRot.transpose(0, 2, 3, 1);
    NDArray scores = qHeads.matMul(kHeads).muli(1.0 / Math.sqrt(dh)).addi(mask);
    p.free(qHeads, kHeads, qRot, kRot, q, k);
    scores = p.at(n[5], scores);
    NDArray pattern = p.at(n[6], scores.softmax(-1));
    p.free(scores);
    NDArray mixed = pattern.matMul(v.transpose(0, 2, 1, 3));
    NDArray z = p.at(n[7], mixed.transpose(0, 2, 1, 3));
    p.free(pattern, v, qkv);
    p.free(parts.toArray(new NDArray[0]));
    NDArray flat = z.reshape(batch, seq, (long) heads * dh);
    NDArray attnOut = p.at(n[8], linear(flat, w + "attention.dense"));
    p.free(flat, z, mixed);
    NDArray mlpIn;
    NDArray mid = null;
    if (config.useParallelResidual()) {
      mlpIn = resid;
    } else {
      mid = p.at(n[RESID_MID], resid.add(attnOut));
      mlpIn = mid;
    }
    NDArray x2 = p.at(n[10], layerNorm(mlpIn, w + "post_attention_layernorm"));
    NDArray pre = p.at(n[11], linear(x2, w + "mlp.dense_h_to_4h"));
    p.free(x2);
    NDArray post = p.at(n[12], Activation.gelu(pre));
    p.free(pre);
    NDArray mlpOut = p.at(n[13], linear(post, w + "mlp.dense_4h_to_h"));
    p.free(post);
    NDArray out;
    if (mid == null) {
      // transformers' order of the sums: mlp_output + attn_output + hidden_states
      NDArray sum = mlpOut.add(attnOut);
      out = p.at(n[14], sum.addi(resid));
    } else {
      out = p.at(n[14], mid.add(mlpOut));
      p.free(mid);
    }
    p.free(attnOut, mlpOut, resid);
    return out;
  }

  @Override
  public NDArray unembed(NDArray residual) {
    Shape s = residual.getShape();
    if (s.dimension() == 0 || s.get(s.dimension() - 1) != config.hiddenSize()) {
      throw new IllegalArgumentException("unembed expects a residual whose last axis is d_model = "
          + config.hiddenSize() + ", got shape " + s);
    }
    NDArray x = layerNorm(residual, FINAL_NORM);
    NDArray logits = x.matMul(unembedding);
    x.close();
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
    HookedTransformer.requireWidth(directions, config.hiddenSize());
    NDArray centred = directions.sub(directions.mean(new int[] {-1}, true));
    NDArray scaled = centred.mul(weights.get(FINAL_NORM + ".weight"));
    NDArray logits = scaled.matMul(unembedding);
    centred.close();
    scaled.close();
    return logits;
  }

  /**
   * {@inheritDoc}
   *
   * <p>GPT-NeoX's hooks are the LayerNorm outputs after their weight and bias, so the gain and
   * bias are {@code input_layernorm}/{@code post_attention_layernorm}/{@code final_layer_norm}'s;
   * ln1 reads {@code hook_resid_pre}; ln2 reads {@code hook_resid_pre} too with
   * {@code use_parallel_residual}, {@code hook_resid_mid} without; ln_final reads the last block's
   * {@code hook_resid_post}; centred, eps {@code layer_norm_eps}.
   */
  @Override
  public Normalization normalization(String normalizedHook) {
    int[] at = HookPass.normalizationSite(normalizedHook, hookNames, "this gpt_neox with "
        + config.numHiddenLayers() + " layers", "");
    int l = at[0];
    String prefix = switch (at[1]) {
      case 1 -> "gpt_neox.layers." + l + ".input_layernorm";
      case 2 -> "gpt_neox.layers." + l + ".post_attention_layernorm";
      default -> FINAL_NORM;
    };
    String input = switch (at[1]) {
      case 1 -> HookPoint.residPre(l);
      case 2 -> config.useParallelResidual() ? HookPoint.residPre(l) : HookPoint.block(l, "hook_resid_mid");
      default -> HookPoint.residPost(config.numHiddenLayers() - 1);
    };
    return new Normalization(normalizedHook, input, weights.get(prefix + ".weight").toFloatArray(),
        weights.get(prefix + ".bias").toFloatArray(), true, config.layerNormEps());
  }

  @Override
  public void close() {
    manager.close();
  }
}
