package dev.loupe.core.model;

import ai.djl.ndarray.NDManager;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The model references that need no files: {@code tiny}, {@code random-gpt2:...},
 * {@code random-llama:...}, {@code random-neox:...} and {@code random-bert:...}, randomly initialised models with the byte tokenizer, for tests,
 * benchmarks and trying the tools out.
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

  private static final Pattern RANDOM_BERT = Pattern.compile(
      "random-bert:(\\d{1,3})x(\\d{1,5})(?:x(\\d{1,3}))?(?:@(-?\\d{1,18}))?");
  private static final Pattern RANDOM_NEOX = Pattern.compile(
      "random-neox:(\\d{1,3})x(\\d{1,5})(?:x(\\d{1,3}))?(?:@(-?\\d{1,18}))?");
  private static final Pattern RANDOM = Pattern.compile(
      "random-gpt2:(\\d{1,3})x(\\d{1,5})(?:x(\\d{1,3}))?(?:@(-?\\d{1,18}))?");
  private static final Pattern RANDOM_LLAMA = Pattern.compile(
      "random-llama:(\\d{1,3})x(\\d{1,5})(?:x(\\d{1,3})(?:x(\\d{1,3}))?)?(?:@(-?\\d{1,18}))?");

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
    return new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return ref.startsWith(RANDOM_PREFIX);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        Matcher m = RANDOM.matcher(ref);
        if (!m.matches()) {
          throw new IllegalArgumentException("model reference '" + ref + "' is malformed; expected "
              + describe() + ", e.g. random-gpt2:2x64");
        }
        int layers = Integer.parseInt(m.group(1));
        int d = Integer.parseInt(m.group(2));
        int heads = m.group(3) != null ? Integer.parseInt(m.group(3)) : Math.max(1, d / 32);
        long seed = m.group(4) != null ? Long.parseLong(m.group(4)) : 0;
        Gpt2Config config;
        try {
          config = Gpt2Config.of(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, d, layers, heads);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("model reference '" + ref + "': " + e.getMessage(), e);
        }
        return new LoadedModel(ref, Gpt2Model.random(config, seed, parent), ByteTokenizer.instance());
      }

      @Override
      public String describe() {
        return "random-gpt2:<layers>x<d_model>[x<heads>][@<seed>]";
      }
    };
  }

  /**
   * Resolves {@code random-llama:<layers>x<d_model>[x<heads>[x<kv_heads>]][@<seed>]}: a Llama with
   * heads defaulting to d_model/32 (at least 1), kv_heads to heads (no grouping), the seed to 0,
   * an MLP of width 8/3 d_model rounded up to a multiple of 8 (Llama's ratio), RoPE theta 10000,
   * untied embeddings, context 256 and the byte vocabulary.
   */
  public static ModelResolver randomLlama() {
    return new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return ref.startsWith(RANDOM_LLAMA_PREFIX);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        Matcher m = RANDOM_LLAMA.matcher(ref);
        if (!m.matches()) {
          throw new IllegalArgumentException("model reference '" + ref + "' is malformed; expected "
              + describe() + ", e.g. random-llama:2x64x4x2");
        }
        LlamaConfig config;
        long seed;
        try {
          int layers = Integer.parseInt(m.group(1));
          int d = Integer.parseInt(m.group(2));
          int heads = m.group(3) != null ? Integer.parseInt(m.group(3)) : Math.max(1, d / 32);
          int kvHeads = m.group(4) != null ? Integer.parseInt(m.group(4)) : heads;
          seed = m.group(5) != null ? Long.parseLong(m.group(5)) : 0;
          int inner = (8 * d / 3 + 7) / 8 * 8;
          config = LlamaConfig.llama(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, d, Math.max(inner, 8), layers, heads,
              kvHeads);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("model reference '" + ref + "': " + e.getMessage(), e);
        }
        return new LoadedModel(ref, LlamaModel.random(config, seed, parent), ByteTokenizer.instance());
      }

      @Override
      public String describe() {
        return "random-llama:<layers>x<d_model>[x<heads>[x<kv_heads>]][@<seed>]";
      }
    };
  }

  /**
   * Resolves {@code random-neox:<layers>x<d_model>[x<heads>][@<seed>]}: a Pythia-shaped GPT-NeoX
   * with heads defaulting to d_model/32 (at least 1), the seed to 0, an MLP of 4 d_model,
   * rotary_pct 0.25, parallel residual, untied embeddings, context 256 and the byte vocabulary.
   */
  public static ModelResolver randomNeox() {
    return new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return ref.startsWith(RANDOM_NEOX_PREFIX);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        Matcher m = RANDOM_NEOX.matcher(ref);
        if (!m.matches()) {
          throw new IllegalArgumentException("model reference '" + ref + "' is malformed; expected "
              + describe() + ", e.g. random-neox:2x64");
        }
        NeoxConfig config;
        long seed;
        try {
          int layers = Integer.parseInt(m.group(1));
          int d = Integer.parseInt(m.group(2));
          int heads = m.group(3) != null ? Integer.parseInt(m.group(3)) : Math.max(1, d / 32);
          seed = m.group(4) != null ? Long.parseLong(m.group(4)) : 0;
          config = NeoxConfig.pythia(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, d, 4 * d, layers, heads);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("model reference '" + ref + "': " + e.getMessage(), e);
        }
        return new LoadedModel(ref, NeoxModel.random(config, seed, parent), ByteTokenizer.instance());
      }

      @Override
      public String describe() {
        return "random-neox:<layers>x<d_model>[x<heads>][@<seed>]";
      }
    };
  }

  /**
   * Resolves {@code random-bert:<layers>x<d_model>[x<heads>][@<seed>]}: a BERT encoder with heads
   * defaulting to d_model/32 (at least 1), the seed to 0, an MLP of 4 d_model, two token types,
   * LayerNorm eps 1e-12, context 256 and the byte vocabulary (no special tokens).
   */
  public static ModelResolver randomBert() {
    return new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return ref.startsWith(RANDOM_BERT_PREFIX);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        Matcher m = RANDOM_BERT.matcher(ref);
        if (!m.matches()) {
          throw new IllegalArgumentException("model reference '" + ref + "' is malformed; expected "
              + describe() + ", e.g. random-bert:2x64");
        }
        BertConfig config;
        long seed;
        try {
          int layers = Integer.parseInt(m.group(1));
          int d = Integer.parseInt(m.group(2));
          int heads = m.group(3) != null ? Integer.parseInt(m.group(3)) : Math.max(1, d / 32);
          seed = m.group(4) != null ? Long.parseLong(m.group(4)) : 0;
          config = new BertConfig(ByteTokenizer.VOCAB_SIZE, RANDOM_CONTEXT, 2, d, layers, heads, 4 * d, 1e-12);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("model reference '" + ref + "': " + e.getMessage(), e);
        }
        return new LoadedModel(ref, BertModel.random(config, seed, parent), ByteTokenizer.instance());
      }

      @Override
      public String describe() {
        return "random-bert:<layers>x<d_model>[x<heads>][@<seed>]";
      }
    };
  }
}
