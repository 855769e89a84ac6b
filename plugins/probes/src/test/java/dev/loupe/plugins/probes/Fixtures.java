package dev.loupe.plugins.probes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.model.Trace;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;

/** Small fakes for the probes tests: datasets that read planted labels, a model session, synthetic inputs. */
final class Fixtures {
  private Fixtures() {
  }

  /** Rows per document of the synthetic inputs (documents decide the train/test split). */
  static final int DOC_LENGTH = 16;

  /** A dataset of the given name, description and classes whose labeller {@code labeller} makes. */
  static TokenDataset dataset(String name, String description, List<String> classes,
      java.util.function.Function<ModelSession, Labeller> labeller) {
    return new TokenDataset() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public String description() {
        return description;
      }

      @Override
      public List<String> classes() {
        return classes;
      }

      @Override
      public Labeller labeller(ModelSession tokenizer) {
        return labeller.apply(tokenizer);
      }
    };
  }

  /** A dataset whose labels are the ones the synthetic batches carry (-1: not in the dataset). */
  static TokenDataset planted(String name, List<String> classes) {
    return dataset(name, "planted labels " + classes, classes, tokenizer -> batch -> batch.labels().clone());
  }

  /** A dataset that reads the tokenizer as core's token-text datasets do (so it fails without a session). */
  static TokenDataset needsTokenizer(String name) {
    return dataset(name, "the token's text", List.of("a", "b"), tokenizer -> {
      int vocab = tokenizer.info().vocabSize();
      return batch -> {
        int[] out = new int[batch.rows()];
        for (int r = 0; r < out.length; r++) {
          out[r] = batch.tokenIds()[r] % vocab % 2;
        }
        return out;
      };
    });
  }

  /** A dataset whose labeller gives one label too few per batch. */
  static TokenDataset shortLabels(String name) {
    return dataset(name, "broken", List.of("a", "b"), tokenizer -> batch -> new int[Math.max(0, batch.rows() - 1)]);
  }

  /** A two-class dataset that labels every row class 0. */
  static TokenDataset neverClassOne(String name) {
    return dataset(name, "never class 1", List.of("a", "b"), tokenizer -> batch -> new int[batch.rows()]);
  }

  /** A dataset with fewer than two classes. */
  static TokenDataset oneClass(String name) {
    return dataset(name, "one class", List.of("only"), tokenizer -> batch -> new int[batch.rows()]);
  }

  /** Fills one row's features: (row, label, features to fill). */
  interface RowFiller {
    void fill(int row, int label, float[] x, SplittableRandom random);
  }

  /**
   * A synthetic input: {@code rows} rows in batches of 256, documents of {@link #DOC_LENGTH} rows,
   * token id = row % 26, each row labelled by {@code label} and filled by {@code filler} after
   * standard Gaussian noise.
   */
  static ActivationSource input(String hook, int rows, int width, IntUnaryOperator label, RowFiller filler, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<ActivationBatch> batches = new ArrayList<>();
    for (int start = 0; start < rows; start += 256) {
      int n = Math.min(256, rows - start);
      float[] v = new float[n * width];
      int[] tok = new int[n];
      int[] doc = new int[n];
      int[] pos = new int[n];
      int[] lab = new int[n];
      float[] x = new float[width];
      for (int i = 0; i < n; i++) {
        int row = start + i;
        tok[i] = row % 26;
        doc[i] = row / DOC_LENGTH;
        pos[i] = row % DOC_LENGTH;
        lab[i] = label.applyAsInt(row);
        for (int j = 0; j < width; j++) {
          x[j] = (float) gaussian(r);
        }
        filler.fill(row, lab[i], x, r);
        System.arraycopy(x, 0, v, i * width, width);
      }
      batches.add(new ActivationBatch("fake", hook, batches.size(), n, width, v, tok, doc, pos, lab));
    }
    return ActivationSources.fromBatches(hook, width, batches);
  }

  static double gaussian(SplittableRandom r) {
    return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
  }

  /** A source that fails the test if anything reads it. */
  static ActivationSource unreadable(String hook, int width) {
    return new ActivationSource() {
      @Override
      public ActivationBatch next() {
        throw new AssertionError("the job read an input before rejecting its request");
      }

      @Override
      public String hookName() {
        return hook;
      }

      @Override
      public int width() {
        return width;
      }

      @Override
      public void close() {
      }
    };
  }

  /**
   * A causal "model" of 4 layers whose tokenizer maps the letters a..z to ids 0..25 (other
   * characters are dropped) and whose unembedding is the given [d_model, vocab] matrix.
   */
  static final class FakeSession implements ModelSession {
    final int dModel;
    final int vocab;
    final float[] unembedding;
    private final ModelInfo info;

    FakeSession(int dModel, float[] unembedding) {
      this.dModel = dModel;
      this.vocab = unembedding.length / dModel;
      this.unembedding = unembedding;
      Map<String, Integer> widths = new LinkedHashMap<>();
      for (String h : HookPoint.standardNames(4, true)) {
        widths.put(h, h.endsWith("mlp.hook_pre") || h.endsWith("mlp.hook_post") ? 4 * dModel : dModel);
      }
      this.info = new ModelInfo("fake", "gpt2", true, 4, dModel, 1, dModel, 4 * dModel, vocab, 64, 0,
          new ArrayList<>(widths.keySet()), widths);
    }

    /** The unembedding column of token t (its logit direction here: no norm to go through). */
    float[] column(int t) {
      float[] out = new float[dModel];
      for (int j = 0; j < dModel; j++) {
        out[j] = unembedding[j * vocab + t];
      }
      return out;
    }

    @Override
    public ModelInfo info() {
      return info;
    }

    @Override
    public int[] encode(String text) {
      return text.chars().filter(c -> c >= 'a' && c <= 'z').map(c -> c - 'a').toArray();
    }

    @Override
    public String decode(int[] tokenIds) {
      StringBuilder sb = new StringBuilder();
      for (int t : tokenIds) {
        sb.append((char) ('a' + t));
      }
      return sb.toString();
    }

    @Override
    public String tokenText(int tokenId) {
      return decode(new int[] {tokenId});
    }

    @Override
    public RunResult run(int[][] tokens, Set<String> capture) {
      throw new UnsupportedOperationException("the fake model does not run");
    }

    @Override
    public Trace trace(int[][] tokens) {
      throw new UnsupportedOperationException("the fake model does not run");
    }

    @Override
    public NDArray unembed(NDArray residual) {
      throw new UnsupportedOperationException("no logit lens in the fake model");
    }

    @Override
    public NDArray unembedDirections(NDArray directions) {
      NDArray w = directions.getManager().create(unembedding, new Shape(dModel, vocab));
      return directions.matMul(w);
    }
  }

  /** A fake session with a seeded Gaussian unembedding over 26 tokens. */
  static FakeSession session(int dModel, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] w = new float[dModel * 26];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) gaussian(r);
    }
    return new FakeSession(dModel, w);
  }
}
