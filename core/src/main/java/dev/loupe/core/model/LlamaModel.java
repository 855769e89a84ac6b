package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.Normalization;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A Llama-family decoder (Llama 1-3, Mistral, Qwen2) with TransformerLens-style hooks, computed in
 * fp32 with DJL NDArray ops: RMSNorm, rotary embeddings (transformers' rotate-half layout, with
 * linear / llama3 scaling), grouped-query attention and a SwiGLU MLP.
 *
 * <p>Weights are held under their Hugging Face names ({@code model.embed_tokens.weight},
 * {@code model.layers.3.self_attn.q_proj.weight}, ...) in {@code nn.Linear} layout
 * ({@code [out, in]}, {@code y = x W^T + b}).
 *
 * <p>Hook semantics follow TransformerLens without weight folding: {@code ln*.hook_normalized}
 * and {@code ln_final.hook_normalized} are {@code x / rms(x)} <em>before</em> the RMSNorm weight
 * (as TransformerLens' RMSNorm, unlike its LayerNorm); {@code attn.hook_q/k} are before the rotary
 * embedding (TransformerLens' {@code hook_rot_q/k}, after it, have no name in Loupe's scheme);
 * {@code attn.hook_k/v} have {@code num_key_value_heads} heads, repeated for the query heads only
 * when attention is computed; {@code mlp.hook_pre} is the gate's pre-activation and
 * {@code mlp.hook_post} is {@code silu(gate) * up}. There is no {@code hook_pos_embed}. Sequences
 * are right-padded, positions count from 0 in every sequence, padded keys are masked.
 */
public final class LlamaModel implements HookedTransformer {
  private static final double INIT_STD = 0.02;
  private static final String EMBED = "model.embed_tokens.weight";
  private static final String NORM = "model.norm.weight";
  private static final String LM_HEAD = "lm_head.weight";

  private final LlamaConfig config;
  private final NDManager manager;
  private final Map<String, NDArray> weights;
  /** Transposed views ({@code [in, out]}) of the projection matrices, so that y = x @ W^T is one matmul. */
  private final Map<String, NDArray> transposed = new HashMap<>();
  private final NDArray unembedding;
  private final double[] inverseFrequencies;
  private final List<String> hookNames;
  private final Map<String, Integer> hookWidths;
  private final String[][] blockHookNames;

  private LlamaModel(LlamaConfig config, NDManager manager, Map<String, NDArray> weights) {
    this.config = config;
    this.manager = manager;
    this.weights = Collections.unmodifiableMap(weights);
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      if (e.getKey().endsWith("_proj.weight")) {
        transposed.put(e.getKey(), e.getValue().transpose(1, 0));
      }
    }
    this.unembedding = weights.get(config.tieWordEmbeddings() ? EMBED : LM_HEAD).transpose(1, 0);
    this.inverseFrequencies = config.ropeInverseFrequencies();
    this.hookNames = List.copyOf(HookPoint.standardNames(config.numHiddenLayers(), false));
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
  public static Map<String, Shape> weightShapes(LlamaConfig c) {
    long d = c.hiddenSize();
    long q = (long) c.numAttentionHeads() * c.headDim();
    long kv = (long) c.numKeyValueHeads() * c.headDim();
    long inner = c.intermediateSize();
    Map<String, Shape> s = new LinkedHashMap<>();
    s.put(EMBED, new Shape(c.vocabSize(), d));
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      String p = "model.layers." + l + ".";
      s.put(p + "input_layernorm.weight", new Shape(d));
      s.put(p + "self_attn.q_proj.weight", new Shape(q, d));
      if (c.qkvBias()) {
        s.put(p + "self_attn.q_proj.bias", new Shape(q));
      }
      s.put(p + "self_attn.k_proj.weight", new Shape(kv, d));
      if (c.qkvBias()) {
        s.put(p + "self_attn.k_proj.bias", new Shape(kv));
      }
      s.put(p + "self_attn.v_proj.weight", new Shape(kv, d));
      if (c.qkvBias()) {
        s.put(p + "self_attn.v_proj.bias", new Shape(kv));
      }
      s.put(p + "self_attn.o_proj.weight", new Shape(d, q));
      if (c.outputBias()) {
        s.put(p + "self_attn.o_proj.bias", new Shape(d));
      }
      s.put(p + "post_attention_layernorm.weight", new Shape(d));
      s.put(p + "mlp.gate_proj.weight", new Shape(inner, d));
      s.put(p + "mlp.up_proj.weight", new Shape(inner, d));
      s.put(p + "mlp.down_proj.weight", new Shape(d, inner));
    }
    s.put(NORM, new Shape(d));
    if (!c.tieWordEmbeddings()) {
      s.put(LM_HEAD, new Shape(c.vocabSize(), d));
    }
    return s;
  }

  /**
   * Builds a model from weights named as in Hugging Face; the arrays are attached to a new child
   * manager of {@code parent}, which the model then owns. With tied embeddings an
   * {@code lm_head.weight} is ignored, as {@code transformers} does.
   *
   * @throws IllegalArgumentException naming the first missing, unexpected, mis-shaped or non-fp32 weight
   */
  public static LlamaModel fromWeights(LlamaConfig config, Map<String, NDArray> weights, NDManager parent) {
    NDManager own = parent.newSubManager();
    Map<String, NDArray> kept;
    try {
      kept = HookPass.adoptWeights(weightShapes(config), weights, name -> config.tieWordEmbeddings() && name.equals(LM_HEAD), "weight",
          name -> " for a " + config.modelType() + " with " + config.numHiddenLayers() + " layers"
              + (name.endsWith(".bias") ? " and these attention_bias settings" : ""), own);
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
    return new LlamaModel(config, own, kept);
  }

  /**
   * A randomly initialised model as {@code transformers} initialises one: matrices and embeddings
   * from N(0, 0.02), biases 0, RMSNorm weights 1. Values come from {@link java.util.Random} seeded
   * per weight name, so a seed gives bit-identical weights on every machine and engine.
   */
  public static LlamaModel random(LlamaConfig config, long seed, NDManager parent) {
    NDManager own = parent.newSubManager();
    Map<String, NDArray> w = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : weightShapes(config).entrySet()) {
      String name = e.getKey();
      float[] v = new float[Math.toIntExact(e.getValue().size())];
      if (name.endsWith("norm.weight")) {
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
    return new LlamaModel(config, own, w);
  }

  public LlamaConfig config() {
    return config;
  }

  @Override
  public String architecture() {
    return "llama";
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
    return config.maxContext();
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
    String limit = config.maxContext() < config.maxPositionEmbeddings()
        ? "the sliding window of " + config.maxContext() + " (longer sequences would need the windowed mask)"
        : "the context of " + config.maxContext();
    HookPass.validateTokens(tokens, config.maxContext(), limit, config.vocabSize());
  }

  @Override
  public void validateHooks(ForwardHooks hooks) {
    for (String h : hooks.hookNames()) {
      if (!hookWidths.containsKey(h)) {
        throw new IllegalArgumentException("unknown hook '" + h + "' for this " + config.modelType() + " with "
            + config.numHiddenLayers() + " layers" + (h.equals("hook_pos_embed")
                ? " (rotary embeddings have no positional-embedding hook)" : "")
            + "; run `loupe model info` for the list");
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
      NDArray normed = p.at("ln_final.hook_normalized", rmsScale(resid));
      p.free(resid);
      NDArray fin = normed.mul(weights.get(NORM));
      p.free(normed);
      NDArray logits = fin.matMul(unembedding);
      p.free(fin);
      return p.result(logits, lengths, out);
    }
  }

  /** cos and sin of every (position, frequency), laid out {@code [1, seq, 1, head_dim]} as cat(f, f). */
  private NDArray[] rotaryTables(NDManager m, int seq) {
    int dh = config.headDim();
    int half = dh / 2;
    float[] cos = new float[seq * dh];
    float[] sin = new float[seq * dh];
    for (int pos = 0; pos < seq; pos++) {
      for (int i = 0; i < half; i++) {
        // fp32 angle, as transformers computes it, so that long contexts round the same way
        float angle = (float) inverseFrequencies[i] * pos;
        float c = (float) Math.cos(angle);
        float s = (float) Math.sin(angle);
        cos[pos * dh + i] = c;
        cos[pos * dh + half + i] = c;
        sin[pos * dh + i] = s;
        sin[pos * dh + half + i] = s;
      }
    }
    Shape shape = new Shape(1, seq, 1, dh);
    return new NDArray[] {m.create(cos, shape), m.create(sin, shape)};
  }

  /** x * cos + rotate_half(x) * sin, with rotate_half(x) = cat(-x2, x1) over the last axis. */
  private static NDArray rotate(HookPass p, NDArray x, NDArray[] rope) {
    NDList halves = x.split(2, 3);
    NDArray neg = halves.get(1).neg();
    NDArray rotated = NDArrays.concat(new NDList(neg, halves.get(0)), 3);
    NDArray out = x.mul(rope[0]).addi(rotated.muli(rope[1]));
    p.free(neg, rotated);
    p.free(halves.toArray(new NDArray[0]));
    return out;
  }

  private NDArray linear(NDArray x, String prefix) {
    NDArray y = x.matMul(transposed.get(prefix + ".weight"));
    NDArray bias = weights.get(prefix + ".bias");
    return bias == null ? y : y.addi(bias);
  }

  /** {@code x / sqrt(mean(x^2) + eps)} over the last axis: RMSNorm without its weight. */
  private NDArray rmsScale(NDArray x) {
    NDArray sq = x.square();
    NDArray ms = sq.mean(new int[] {-1}, true).addi((float) config.rmsNormEps());
    NDArray rms = ms.sqrt();
    sq.close();
    ms.close();
    NDArray out = x.div(rms);
    rms.close();
    return out;
  }

  private NDArray block(HookPass p, int l, NDArray residIn, NDArray mask, NDArray[] rope, int batch, int seq) {
    String[] n = blockHookNames[l];
    String w = "model.layers." + l + ".";
    int heads = config.numAttentionHeads();
    int kvHeads = config.numKeyValueHeads();
    long dh = config.headDim();
    NDArray resid = p.at(n[0], residIn);
    NDArray normed = p.at(n[1], rmsScale(resid));
    NDArray x = normed.mul(weights.get(w + "input_layernorm.weight"));
    p.free(normed);
    NDArray q = p.at(n[2], linear(x, w + "self_attn.q_proj").reshape(batch, seq, heads, dh));
    NDArray k = p.at(n[3], linear(x, w + "self_attn.k_proj").reshape(batch, seq, kvHeads, dh));
    NDArray v = p.at(n[4], linear(x, w + "self_attn.v_proj").reshape(batch, seq, kvHeads, dh));
    p.free(x);
    NDArray qRot = rotate(p, q, rope);
    NDArray kRot = rotate(p, k, rope);
    NDArray kHeads = repeatKv(p, kRot.transpose(0, 2, 1, 3), heads / kvHeads, batch, seq);
    NDArray vHeads = repeatKv(p, v.transpose(0, 2, 1, 3), heads / kvHeads, batch, seq);
    NDArray qHeads = qRot.transpose(0, 2, 1, 3);
    NDArray scores = qHeads.matMul(kHeads.transpose(0, 1, 3, 2)).muli(1.0 / Math.sqrt(dh)).addi(mask);
    p.free(qHeads, qRot, kRot, kHeads, q, k);
    scores = p.at(n[5], scores);
    NDArray pattern = p.at(n[6], scores.softmax(-1));
    p.free(scores);
    NDArray mixed = pattern.matMul(vHeads);
    NDArray z = p.at(n[7], mixed.transpose(0, 2, 1, 3));
    p.free(pattern, vHeads, v);
    // z is a strided view, so this reshape copies; free the copy and the heads before the MLP runs.
    NDArray flat = z.reshape(batch, seq, (long) heads * dh);
    NDArray attnOut = p.at(n[8], linear(flat, w + "self_attn.o_proj"));
    p.free(flat, z, mixed);
    NDArray mid = p.at(n[9], resid.add(attnOut));
    p.free(attnOut, resid);
    NDArray normed2 = p.at(n[10], rmsScale(mid));
    NDArray x2 = normed2.mul(weights.get(w + "post_attention_layernorm.weight"));
    p.free(normed2);
    NDArray gate = p.at(n[11], linear(x2, w + "mlp.gate_proj"));
    NDArray up = linear(x2, w + "mlp.up_proj");
    p.free(x2);
    NDArray sig = Activation.sigmoid(gate);
    NDArray post = p.at(n[12], sig.muli(gate).muli(up));
    p.free(gate, up);
    NDArray mlpOut = p.at(n[13], linear(post, w + "mlp.down_proj"));
    p.free(post);
    NDArray out = p.at(n[14], mid.add(mlpOut));
    p.free(mlpOut, mid);
    return out;
  }

  /**
   * {@code [batch, kv_heads, seq, d_head] -> [batch, heads, seq, d_head]}, query head h reading kv
   * head {@code h / rep} (transformers' repeat_kv); frees its input.
   */
  private NDArray repeatKv(HookPass p, NDArray x, int rep, int batch, int seq) {
    if (rep == 1) {
      return x;
    }
    long kv = x.getShape().get(1);
    long dh = x.getShape().get(3);
    NDArray expanded = x.expandDims(2);
    NDArray wide = expanded.broadcast(batch, kv, rep, seq, dh);
    NDArray out = wide.reshape(batch, kv * rep, seq, dh);
    p.free(wide, expanded, x);
    return out;
  }

  @Override
  public NDArray unembed(NDArray residual) {
    Shape s = residual.getShape();
    if (s.dimension() == 0 || s.get(s.dimension() - 1) != config.hiddenSize()) {
      throw new IllegalArgumentException("unembed expects a residual whose last axis is d_model = "
          + config.hiddenSize() + ", got shape " + s);
    }
    NDArray normed = rmsScale(residual);
    NDArray x = normed.muli(weights.get(NORM));
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
    NDArray scaled = directions.mul(weights.get(NORM));
    NDArray logits = scaled.matMul(unembedding);
    scaled.close();
    return logits;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Llama-family hooks are {@code x / rms(x)} before the RMSNorm weight, so the gain is all
   * ones and the bias all zeros (the weight belongs to the layers that read the hook); ln1 reads
   * {@code hook_resid_pre}, ln2 {@code hook_resid_mid}, ln_final the last block's
   * {@code hook_resid_post}; not centred, eps {@code rms_norm_eps}.
   */
  @Override
  public Normalization normalization(String normalizedHook) {
    int[] at = HookPass.normalizationSite(normalizedHook, hookNames, "this " + config.modelType() + " with "
        + config.numHiddenLayers() + " layers", "");
    int l = at[0];
    String input = switch (at[1]) {
      case 1 -> HookPoint.residPre(l);
      case 2 -> HookPoint.block(l, "hook_resid_mid");
      default -> HookPoint.residPost(config.numHiddenLayers() - 1);
    };
    float[] ones = new float[config.hiddenSize()];
    Arrays.fill(ones, 1f);
    return new Normalization(normalizedHook, input, ones, new float[config.hiddenSize()], false, config.rmsNormEps());
  }

  @Override
  public void close() {
    manager.close();
  }
}
