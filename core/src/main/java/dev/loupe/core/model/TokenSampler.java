package dev.loupe.core.model;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Picks the next token from a row of logits, as {@code loupe generate} does: greedy when the
 * temperature is 0, else sampled from the softmax at that temperature after optional top-k and
 * nucleus (top-p, Holtzman et al. 2019) filtering. Arithmetic is in double; the same seed gives
 * the same choices. Not thread-safe (it owns its random generator).
 */
public final class TokenSampler {
  private final double temperature;
  private final int topK;
  private final double topP;
  private final SplittableRandom random;

  /**
   * @param temperature 0 for greedy decoding, else a finite value > 0 dividing the logits
   * @param topK keep only the K most likely tokens; 0 for no limit
   * @param topP keep the smallest set of most likely tokens whose probability reaches p, in (0, 1]; 1 for no limit
   * @param seed seed of the random generator (unused when greedy)
   * @throws IllegalArgumentException naming the option when a value is out of range
   */
  public TokenSampler(double temperature, int topK, double topP, long seed) {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("--temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("--top-k must be >= 1 (or 0 for no limit), got " + topK);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
    }
    this.temperature = temperature;
    this.topK = topK;
    this.topP = topP;
    this.random = new SplittableRandom(seed);
  }

  /** Whether this sampler always takes the most likely token. */
  public boolean greedy() {
    return temperature == 0;
  }

  /**
   * The next token id for one row of logits.
   *
   * @throws IllegalArgumentException when the row is empty or holds NaN
   */
  public int next(float[] logits, int offset, int vocab) {
    if (vocab <= 0) {
      throw new IllegalArgumentException("logits row is empty");
    }
    if (greedy()) {
      return argmax(logits, offset, vocab);
    }
    double[] scaled = new double[vocab];
    for (int i = 0; i < vocab; i++) {
      float v = logits[offset + i];
      if (Float.isNaN(v)) {
        throw new IllegalArgumentException("logit of token " + i + " is NaN; the model output is broken");
      }
      scaled[i] = v / temperature;
    }
    double[] probs = softmax(scaled);
    boolean filterK = topK > 0 && topK < vocab;
    if (filterK || topP < 1) {
      // Dividing by a positive temperature and exp keep the order, so the float logits order the probabilities.
      int[] order = byDescendingLogit(logits, offset, vocab);
      if (filterK) {
        probs = keepTopK(probs, order, topK);
      }
      if (topP < 1) {
        probs = keepTopP(probs, order, topP);
      }
    }
    return draw(probs);
  }

  /** Index of the largest logit; ties go to the lowest id, so greedy decoding is reproducible. */
  static int argmax(float[] logits, int offset, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
      if (logits[offset + i] > logits[offset + best]) {
        best = i;
      }
    }
    return best;
  }

  /** Softmax with the maximum subtracted first, so large logits do not overflow. */
  static double[] softmax(double[] x) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : x) {
      max = Math.max(max, v);
    }
    double[] p = new double[x.length];
    double sum = 0;
    for (int i = 0; i < x.length; i++) {
      p[i] = x[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(x[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= sum;
    }
    return p;
  }

  /** Softmax of a float row, in double. */
  public static double[] softmax(float[] logits, int offset, int n) {
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = logits[offset + i];
    }
    return softmax(x);
  }

  /** Token ids ordered by descending probability (ties by ascending id). */
  static int[] byDescendingProbability(double[] probs) {
    return IntStream.range(0, probs.length).boxed()
        .sorted(Comparator.<Integer>comparingDouble(i -> -probs[i]).thenComparingInt(i -> i))
        .mapToInt(Integer::intValue).toArray();
  }

  /**
   * Token ids by descending logit, ties by ascending id: a primitive sort of (logit, id) packed in
   * one long, several times faster than sorting boxed ids over a 128k vocabulary at every step.
   */
  public static int[] byDescendingLogit(float[] logits, int offset, int n) {
    long[] keys = new long[n];
    for (int i = 0; i < n; i++) {
      int bits = Float.floatToIntBits(logits[offset + i] + 0.0f); // -0 + 0 = +0: equal logits, equal keys
      int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // a signed int in the floats' order
      keys[i] = ((long) ~ordered << 32) | i; // ~ reverses the order; the id breaks ties upwards
    }
    Arrays.sort(keys);
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = (int) keys[i];
    }
    return order;
  }

  /** The k most likely tokens, renormalised; the others get probability 0. */
  static double[] keepTopK(double[] probs, int k) {
    return keepTopK(probs, byDescendingProbability(probs), k);
  }

  /** As {@link #keepTopK(double[], int)}, with the ids already in descending order of probability. */
  static double[] keepTopK(double[] probs, int[] order, int k) {
    double[] out = new double[probs.length];
    for (int r = 0; r < Math.min(k, order.length); r++) {
      out[order[r]] = probs[order[r]];
    }
    return normalise(out);
  }

  /**
   * Nucleus filtering: the smallest set of most likely tokens whose cumulative probability is at
   * least {@code p} (always at least one token), renormalised; the others get probability 0.
   */
  static double[] keepTopP(double[] probs, double p) {
    return keepTopP(probs, byDescendingProbability(probs), p);
  }

  /** As {@link #keepTopP(double[], double)}, with the ids already in descending order of probability. */
  static double[] keepTopP(double[] probs, int[] order, double p) {
    double[] out = new double[probs.length];
    double cumulative = 0;
    for (int id : order) {
      out[id] = probs[id];
      cumulative += probs[id];
      if (cumulative >= p) {
        break;
      }
    }
    return normalise(out);
  }

  private static double[] normalise(double[] p) {
    double sum = Arrays.stream(p).sum();
    for (int i = 0; i < p.length; i++) {
      p[i] /= sum;
    }
    return p;
  }

  private int draw(double[] probs) {
    double u = random.nextDouble();
    double cumulative = 0;
    int last = -1;
    for (int i = 0; i < probs.length; i++) {
      if (probs[i] > 0) {
        cumulative += probs[i];
        last = i;
        if (u < cumulative) {
          return i;
        }
      }
    }
    // Rounding can leave the sum a hair under 1: the draw then falls to the last kept token.
    return last;
  }
}
