package dev.loupe.core.model;

import ai.djl.ndarray.NDManager;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The model references that need no files: {@code tiny}, {@code random-gpt2:...},
 * {@code random-llama:...}, {@code random-neox:...} and {@code random-bert:...}: randomly
 * initialised models with the byte tokenizer, for tests, benchmarks and trying the tools out.
 */
public final class ModelRefs {
  /** 4 layers, d_model 128, 4 heads, context 256, byte vocabulary, seed 0. */
  public static final String TINY = "tiny";
  /** Prefix of {@code random-gpt2:<layers>x<d_model>[x<heads>][@<seed>]}. */
  public static final String RANDOM_PREFIX = "random-gpt2:";
  /** Context length of the random models. */
  public static final int RANDOM_CONTEXT = 256;

  /** Prefix of {@code random-llama:<layers>x<d_model>[x<heads>[x<kv_heads>]][@<seed>]}. */
  public static final String RANDOM_LLAMA_PREFIX = "random-llama:";

  /** Prefix of {@code random-neox:<layers>x<d_model>[x<heads>][@<seed>]}. */
  public static final String RANDOM_NEOX_PREFIX = "random-neox:";

  /** Prefix of {@code random-bert:<layers>x<d_model>[x<heads>][@<seed>]}. */
  public static final String RANDOM_BERT_PREFIX = "random-bert:";

  /** {@code <layers>x<d_model>[x<heads>[x<kv_heads>]][@<seed>]} after a random-model prefix. */
  private static final Pattern RANDOM_SHAPE = Pattern.compile(
      "(\\d{1,3})x(\\d{1,5})(?:x(\\d{1,3})(?:x(\\d{1,3}))?)?(?:@(-?\\d{1,18}))?");

  /**
   * The shape a random-model reference asks for.
   *
   * @param heads given heads, or d_model/32 (at least 1)
   * @param kvHeads given key/value heads, or {@code heads}
   * @param seed given seed, or 0
   */
  record RandomShape(int layers, int dModel, int heads, int kvHeads, long seed) {}

  /** Builds the model of a random-model reference; may throw IllegalArgumentException for a bad shape. */
  @FunctionalInterface
  private interface RandomBuilder {
    HookedTransformer build(RandomShape shape, NDManager parent);
  }

  private ModelRefs() {
  }

  /** The config of {@code tiny}. */
  public static Gpt2Config tinyConfig() {
    return Gpt2Config.of(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, 128, 4, 4);
  }

  /** Resolves {@code tiny}. */
  public static ModelResolver tiny() {
    return new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return TINY.equals(ref);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        return new LoadedModel(ref, Gpt2Model.random(tinyConfig(), 0, parent), ByteTokenizer.instance());
      }

      @Override
      public String describe() {
        return "tiny (random GPT-2: 4 layers, d_model 128, 4 heads, context 256, byte vocabulary)";
      }
    };
  }

  /**
   * Resolves {@code random-gpt2:<layers>x<d_model>[x<heads>][@<seed>]}; heads default to
   * d_model/32 (at least 1), the seed to 0.
   */
  public static ModelResolver randomGpt2() {
    return random(RANDOM_PREFIX, false, "random-gpt2:2x64", (r, parent) -> Gpt2Model.random(
        Gpt2Config.of(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, r.dModel(), r.layers(), r.heads()), r.seed(), parent));
  }

  /**
   * Resolves {@code random-llama:<layers>x<d_model>[x<heads>[x<kv_heads>]][@<seed>]}: a Llama with
   * heads defaulting to d_model/32 (at least 1), kv_heads to heads (no grouping), the seed to 0,
   * an MLP of width 8/3 d_model rounded up to a multiple of 8 (Llama's ratio), RoPE theta 10000,
   * untied embeddings, context 256 and the byte vocabulary.
   */
  public static ModelResolver randomLlama() {
    return random(RANDOM_LLAMA_PREFIX, true, "random-llama:2x64x4x2", (r, parent) -> {
      int inner = (8 * r.dModel() / 3 + 7) / 8 * 8;
      return LlamaModel.random(LlamaConfig.llama(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, r.dModel(),
          Math.max(inner, 8), r.layers(), r.heads(), r.kvHeads()), r.seed(), parent);
    });
  }

  /**
   * Resolves {@code random-neox:<layers>x<d_model>[x<heads>][@<seed>]}: a Pythia-shaped GPT-NeoX
   * with heads defaulting to d_model/32 (at least 1), the seed to 0, an MLP of 4 d_model,
   * rotary_pct 0.25, parallel residual, untied embeddings, context 256 and the byte vocabulary.
   */
  public static ModelResolver randomNeox() {
    return random(RANDOM_NEOX_PREFIX, false, "random-neox:2x64", (r, parent) -> NeoxModel.random(
        NeoxConfig.pythia(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, r.dModel(), 4 * r.dModel(), r.layers(), r.heads()),
        r.seed(), parent));
  }

  /**
   * Resolves {@code random-bert:<layers>x<d_model>[x<heads>][@<seed>]}: a BERT encoder with heads
   * defaulting to d_model/32 (at least 1), the seed to 0, an MLP of 4 d_model, two token types,
   * LayerNorm eps 1e-12, context 256 and the byte vocabulary (no special tokens).
   */
  public static ModelResolver randomBert() {
    return random(RANDOM_BERT_PREFIX, false, "random-bert:2x64", (r, parent) -> BertModel.random(
        new BertConfig(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, 2, r.dModel(), r.layers(), r.heads(), 4 * r.dModel(),
            1e-12), r.seed(), parent));
  }

  /** One resolver for {@code PREFIX<layers>x<d_model>[x<heads>[x<kv_heads>]][@<seed>]} references. */
  private static ModelResolver random(String prefix, boolean kvHeads, String example, RandomBuilder builder) {
    String form = prefix + "<layers>x<d_model>[x<heads>" + (kvHeads ? "[x<kv_heads>]" : "") + "][@<seed>]";
    return new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return ref.startsWith(prefix);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        Matcher m = RANDOM_SHAPE.matcher(ref.substring(prefix.length()));
        if (!m.matches() || (!kvHeads && m.group(4) != null)) {
          throw new IllegalArgumentException("model reference '" + ref + "' is malformed; expected " + form
              + ", e.g. " + example);
        }
        HookedTransformer model;
        try {
          int layers = Integer.parseInt(m.group(1));
          int d = Integer.parseInt(m.group(2));
          int heads = m.group(3) != null ? Integer.parseInt(m.group(3)) : Math.max(1, d / 32);
          int kv = m.group(4) != null ? Integer.parseInt(m.group(4)) : heads;
          long seed = m.group(5) != null ? Long.parseLong(m.group(5)) : 0;
          model = builder.build(new RandomShape(layers, d, heads, kv, seed), parent);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("model reference '" + ref + "': " + e.getMessage(), e);
        }
        return new LoadedModel(ref, model, ByteTokenizer.instance());
      }

      @Override
      public String describe() {
        return form;
      }
    };
  }
}
