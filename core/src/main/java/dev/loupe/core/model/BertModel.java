package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.Normalization;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A BERT encoder (post-LayerNorm, GELU-erf MLP, bidirectional attention over the real tokens) with
 * TransformerLens-style hooks, computed in fp32 with DJL NDArray ops; its output is the last hidden
 * state, as sentence-embedding models such as BGE use it.
 *
 * <p>Weights are held under Hugging Face {@code BertModel} names without the {@code bert.} prefix
 * ({@code embeddings.word_embeddings.weight}, {@code encoder.layer.3.attention.self.query.weight},
 * ...), linear weights in torch layout {@code [out, in]}.
 *
 * <p>Hooks follow TransformerLens's {@code BertBlock}: {@code hook_embed} and
 * {@code hook_pos_embed} are the word and position embeddings (the token type embedding, type 0
 * unless types are given, is added unhooked),
 * {@code blocks.0.hook_resid_pre} is the embedding LayerNorm's output; in each block
 * {@code hook_resid_mid = resid_pre + attn_out} (before the first LayerNorm),
 * {@code ln1.hook_normalized = LN1(resid_mid)}, {@code hook_resid_post = ln1.hook_normalized +
 * mlp_out} (before the second LayerNorm), and {@code ln2.hook_normalized = LN2(resid_post)}, the
 * block's output and the next block's {@code hook_resid_pre}. There is no final LayerNorm, so no
 * {@code ln_final} hook. Attention hooks are as in {@link Gpt2Model}, with padded keys masked
 * ({@code -inf}) and no causal mask.
 */
public final class BertModel implements HookedTransformer {
  private static final List<String> BLOCK_ORDER = List.of("hook_resid_pre", "attn.hook_q", "attn.hook_k",
      "attn.hook_v", "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z", "hook_attn_out", "hook_resid_mid",
      "ln1.hook_normalized", "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post",
      "ln2.hook_normalized");

  private final BertConfig config;
  private final NDManager manager;
  private final Map<String, NDArray> weights;
  private final List<String> hookNames;
  private final Map<String, Integer> hookWidths;
  private final String[][] blockHookNames;

  private BertModel(BertConfig config, NDManager manager, Map<String, NDArray> weights) {
    this.config = config;
    this.manager = manager;
    this.weights = Collections.unmodifiableMap(weights);
    // Forward order differs from a pre-LN block: each LayerNorm comes after its residual sum.
    List<String> names = new ArrayList<>(List.of("hook_embed", "hook_pos_embed"));
    for (int l = 0; l < config.nLayers(); l++) {
      for (String site : BLOCK_ORDER) {
        names.add(HookPoint.block(l, site));
      }
    }
    this.hookNames = List.copyOf(names);
    this.hookWidths = HookPass.hookWidths(hookNames, this::widthOf);
    this.blockHookNames = HookPass.blockHookTable(config.nLayers());
  }

  private int widthOf(String site) {
    return switch (site) {
      case "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_z" -> config.dHead();
      case "attn.hook_attn_scores", "attn.hook_pattern" -> -1;
      case "mlp.hook_pre", "mlp.hook_post" -> config.intermediateSize();
      default -> config.hiddenSize();
    };
  }

  /** The Hugging Face name and shape of every weight, in forward order. */
  public static Map<String, Shape> weightShapes(BertConfig c) {
    long d = c.hiddenSize();
    long m = c.intermediateSize();
    Map<String, Shape> s = new LinkedHashMap<>();
    s.put("embeddings.word_embeddings.weight", new Shape(c.vocabSize(), d));
    s.put("embeddings.position_embeddings.weight", new Shape(c.maxPositions(), d));
    s.put("embeddings.token_type_embeddings.weight", new Shape(c.typeVocabSize(), d));
    s.put("embeddings.LayerNorm.weight", new Shape(d));
    s.put("embeddings.LayerNorm.bias", new Shape(d));
    for (int l = 0; l < c.nLayers(); l++) {
      String p = "encoder.layer." + l + ".";
      for (String qkv : List.of("query", "key", "value")) {
        s.put(p + "attention.self." + qkv + ".weight", new Shape(d, d));
        s.put(p + "attention.self." + qkv + ".bias", new Shape(d));
      }
      s.put(p + "attention.output.dense.weight", new Shape(d, d));
      s.put(p + "attention.output.dense.bias", new Shape(d));
      s.put(p + "attention.output.LayerNorm.weight", new Shape(d));
      s.put(p + "attention.output.LayerNorm.bias", new Shape(d));
      s.put(p + "intermediate.dense.weight", new Shape(m, d));
      s.put(p + "intermediate.dense.bias", new Shape(m));
      s.put(p + "output.dense.weight", new Shape(d, m));
      s.put(p + "output.dense.bias", new Shape(d));
      s.put(p + "output.LayerNorm.weight", new Shape(d));
      s.put(p + "output.LayerNorm.bias", new Shape(d));
    }
    return s;
  }

  /**
   * Builds a model from weights named as in Hugging Face {@code BertModel}; the arrays are
   * attached to a new child manager of {@code parent}, which the model then owns. Pooler weights
   * ({@code pooler.*}) are ignored.
   *
   * @throws IllegalArgumentException naming the first missing, unexpected, mis-shaped or non-fp32 weight
   */
  public static BertModel fromWeights(BertConfig config, Map<String, NDArray> weights, NDManager parent) {
    NDManager own = parent.newSubManager();
    Map<String, NDArray> kept;
    try {
      kept = HookPass.adoptWeights(weightShapes(config), weights, name -> name.startsWith("pooler.") || name.equals("embeddings.position_ids"), "BERT weight",
          name -> " for a BERT with " + config.nLayers() + " layers", own);
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
    return new BertModel(config, own, kept);
  }

  /**
   * A randomly initialised model as {@code transformers} initialises one: matrices and embeddings
   * from N(0, 0.02), biases 0, LayerNorm weights 1. Values come from {@link java.util.Random}
   * seeded per weight name, so a seed gives bit-identical weights on every machine and engine.
   */
  public static BertModel random(BertConfig config, long seed, NDManager parent) {
    NDManager own = parent.newSubManager();
    Map<String, NDArray> w = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : weightShapes(config).entrySet()) {
      String name = e.getKey();
      float[] v = new float[Math.toIntExact(e.getValue().size())];
      if (name.contains("LayerNorm") && name.endsWith(".weight")) {
        Arrays.fill(v, 1f);
      } else if (!name.endsWith(".bias")) {
        Random r = new Random(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (r.nextGaussian() * 0.02);
        }
      }
      NDArray a = own.create(v, e.getValue());
      a.setName(name);
      w.put(name, a);
    }
    return new BertModel(config, own, w);
  }

  public BertConfig config() {
    return config;
  }

  @Override
  public String architecture() {
    return "bert";
  }

  @Override
  public boolean causal() {
    return false;
  }

  @Override
  public int nLayers() {
    return config.nLayers();
  }

  @Override
  public int dModel() {
    return config.hiddenSize();
  }

  @Override
  public int nHeads() {
    return config.nHeads();
  }

  @Override
  public int dHead() {
    return config.dHead();
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
    return config.maxPositions();
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
    HookPass.validateTokens(tokens, config.maxPositions(), "the " + config.maxPositions() + " positions",
        config.vocabSize());
  }

  @Override
  public void validateHooks(ForwardHooks hooks) {
    for (String h : hooks.hookNames()) {
      if (!hookWidths.containsKey(h)) {
        throw new IllegalArgumentException("unknown hook '" + h + "' for this BERT encoder with " + config.nLayers()
            + " layers (no ln_final: BERT has no final LayerNorm); run `loupe model info` for the list");
      }
    }
  }

  /**
   * One forward pass over right-padded sequences (token type 0 throughout); the result's
   * {@code logits} slot holds the last hidden state {@code [batch, pos, d_model]}. Rows at padded
   * positions are computed but meaningless.
   */
  @Override
  public ForwardResult forward(int[][] tokens, ForwardHooks hooks, NDManager out) {
    return forward(tokens, null, hooks, out);
  }

  /**
   * As {@link #forward(int[][], ForwardHooks, NDManager)}, adding the token type embedding row of
   * each token's type (null: type 0 throughout).
   *
   * @throws IllegalArgumentException naming the sequence (and position) when the types are not
   *     shaped as the tokens or a type is outside {@code [0, type_vocab_size)}
   */
  @Override
  public ForwardResult forward(int[][] tokens, int[][] tokenTypes, ForwardHooks hooks, NDManager out) {
    validateTokens(tokens);
    validateTokenTypes(tokens, tokenTypes);
    validateHooks(hooks);
    int batch = tokens.length;
    int[] lengths = HookPass.lengths(tokens);
    int seq = Arrays.stream(lengths).max().orElseThrow();
    long d = config.hiddenSize();
    try (NDManager sub = manager.newSubManager()) {
      HookPass p = new HookPass(sub, hooks);
      NDArray idArray = HookPass.paddedIds(sub, tokens, seq);
      NDArray embed = weights.get("embeddings.word_embeddings.weight").get(sub, new NDIndex("{}", idArray))
          .reshape(batch, seq, d);
      embed = p.at("hook_embed", embed);
      NDArray pos = weights.get("embeddings.position_embeddings.weight").get(sub, new NDIndex(":{}", seq))
          .expandDims(0).broadcast(batch, seq, d);
      pos = p.at("hook_pos_embed", pos);
      NDArray typeTable = weights.get("embeddings.token_type_embeddings.weight");
      NDArray typeIds = null;
      NDArray type;
      if (tokenTypes == null) {
        type = typeTable.get(sub, new NDIndex("0:1"));
      } else {
        // Padded positions get type 0, like padded ids; their rows are meaningless anyway.
        typeIds = HookPass.paddedIds(sub, tokenTypes, seq);
        type = typeTable.get(sub, new NDIndex("{}", typeIds)).reshape(batch, seq, d);
      }
      NDArray sum = embed.add(pos).addi(type);
      p.free(embed, pos, type, idArray, typeIds);
      NDArray resid = layerNorm(sum, "embeddings.LayerNorm");
      p.free(sum);
      NDArray mask = paddingMask(sub, lengths, seq);
      for (int l = 0; l < config.nLayers(); l++) {
        resid = block(p, l, resid, mask, batch, seq);
      }
      return p.result(resid, lengths, out);
    }
  }

  /**
   * Checks token types against already valid tokens: one row per sequence, as long as it, every
   * type in {@code [0, type_vocab_size)}; null passes.
   *
   * @throws IllegalArgumentException naming the sequence (and position) at fault
   */
  public void validateTokenTypes(int[][] tokens, int[][] tokenTypes) {
    if (tokenTypes == null) {
      return;
    }
    if (tokenTypes.length != tokens.length) {
      throw new IllegalArgumentException("tokenTypes has " + tokenTypes.length + " sequences but tokens has "
          + tokens.length + "; expected one type sequence per token sequence");
    }
    for (int i = 0; i < tokens.length; i++) {
      int[] row = tokenTypes[i];
      if (row == null || row.length != tokens[i].length) {
        throw new IllegalArgumentException("tokenTypes[" + i + "] has " + (row == null ? "no" : row.length)
            + " types but sequence " + i + " has " + tokens[i].length + " tokens; expected one type per token");
      }
      for (int j = 0; j < row.length; j++) {
        if (row[j] < 0 || row[j] >= config.typeVocabSize()) {
          throw new IllegalArgumentException("tokenTypes[" + i + "][" + j + "] = " + row[j] + " (sequence " + i
              + ", position " + j + ") is outside [0, " + config.typeVocabSize() + "), the type_vocab_size");
        }
      }
    }
  }

  /** [batch, 1, 1, seq]: 0 for real keys, -inf for padding; every query sees every real key. */
  private static NDArray paddingMask(NDManager m, int[] lengths, int seq) {
    float[] mask = new float[lengths.length * seq];
    for (int b = 0; b < lengths.length; b++) {
      for (int j = lengths[b]; j < seq; j++) {
        mask[b * seq + j] = Float.NEGATIVE_INFINITY;
      }
    }
    return m.create(mask, new Shape(lengths.length, 1, 1, seq));
  }

  private NDArray linear(NDArray x, String prefix) {
    return x.matMul(weights.get(prefix + ".weight").transpose()).addi(weights.get(prefix + ".bias"));
  }

  private NDArray block(HookPass p, int l, NDArray residIn, NDArray mask, int batch, int seq) {
    String[] n = blockHookNames[l];
    String w = "encoder.layer." + l + ".";
    long d = config.hiddenSize();
    int heads = config.nHeads();
    long dh = config.dHead();
    NDArray resid = p.at(n[0], residIn);
    NDArray q = p.at(n[2], linear(resid, w + "attention.self.query").reshape(batch, seq, heads, dh));
    NDArray k = p.at(n[3], linear(resid, w + "attention.self.key").reshape(batch, seq, heads, dh));
    NDArray v = p.at(n[4], linear(resid, w + "attention.self.value").reshape(batch, seq, heads, dh));
    NDArray scores = q.transpose(0, 2, 1, 3).matMul(k.transpose(0, 2, 3, 1))
        .muli(1.0 / Math.sqrt(dh)).addi(mask);
    scores = p.at(n[5], scores);
    NDArray pattern = p.at(n[6], scores.softmax(-1));
    p.free(scores);
    NDArray z = p.at(n[7], pattern.matMul(v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3));
    p.free(pattern, q, k, v);
    NDArray flat = z.reshape(batch, seq, d);
    NDArray attnOut = p.at(n[8], linear(flat, w + "attention.output.dense"));
    p.free(z, flat);
    NDArray mid = p.at(n[9], resid.add(attnOut));
    p.free(attnOut, resid);
    NDArray normMid = p.at(n[1], layerNorm(mid, w + "attention.output.LayerNorm"));
    p.free(mid);
    NDArray pre = p.at(n[11], linear(normMid, w + "intermediate.dense"));
    NDArray post = p.at(n[12], geluErf(p, pre));
    p.free(pre);
    NDArray mlpOut = p.at(n[13], linear(post, w + "output.dense"));
    p.free(post);
    NDArray residPost = p.at(n[14], normMid.add(mlpOut));
    p.free(mlpOut, normMid);
    NDArray outResid = p.at(n[10], layerNorm(residPost, w + "output.LayerNorm"));
    p.free(residPost);
    return outResid;
  }

  /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), as BERT's "gelu" activation. */
  private static NDArray geluErf(HookPass p, NDArray x) {
    NDArray e = x.mul((float) (1.0 / Math.sqrt(2.0))).erf();
    return e.addi(1f).muli(x).muli(0.5f);
  }

  private NDArray layerNorm(NDArray x, String prefix) {
    NDList r = LayerNorm.layerNorm(x, new Shape(config.hiddenSize()), weights.get(prefix + ".weight"),
        weights.get(prefix + ".bias"), (float) config.layerNormEps());
    return r.singletonOrThrow();
  }

  /**
   * Not available: a BERT encoder has no language-model head.
   *
   * @throws UnsupportedOperationException always
   */
  @Override
  public NDArray unembedDirections(NDArray directions) {
    return unembed(directions);
  }

  @Override
  public NDArray unembed(NDArray residual) {
    throw new UnsupportedOperationException("BERT encoders have no unembedding (no LM head); the logit lens "
        + "applies to causal models only");
  }

  /**
   * {@inheritDoc}
   *
   * <p>BERT is post-LayerNorm: {@code ln1.hook_normalized} is {@code attention.output.LayerNorm}
   * of {@code hook_resid_mid}, {@code ln2.hook_normalized} is {@code output.LayerNorm} of the
   * same block's {@code hook_resid_post}, both after their weight and bias; centred, eps
   * {@code layer_norm_eps}. There is no {@code ln_final}; the embedding LayerNorm's output is
   * {@code blocks.0.hook_resid_pre}, but its input has no hook, so it is not described.
   */
  @Override
  public Normalization normalization(String normalizedHook) {
    int[] at = HookPass.normalizationSite(normalizedHook, hookNames, "this BERT encoder with " + config.nLayers()
        + " layers", " (no ln_final: BERT has no final LayerNorm; the embedding LayerNorm's input has no hook)");
    int l = at[0];
    String prefix = "encoder.layer." + l + (at[1] == 1 ? ".attention.output.LayerNorm" : ".output.LayerNorm");
    String input = at[1] == 1 ? HookPoint.block(l, "hook_resid_mid") : HookPoint.residPost(l);
    return new Normalization(normalizedHook, input, weights.get(prefix + ".weight").toFloatArray(),
        weights.get(prefix + ".bias").toFloatArray(), true, config.layerNormEps());
  }

  @Override
  public void close() {
    manager.close();
  }
}
