package dev.loupe.sdk.sparse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Model diffing with a crosscoder trained on two sources (a base model and its fine-tune, or two
 * layers): each latent has one decoder vector per source, and how their norms compare says whether
 * the latent exists in one source only or in both. Lindsey et al. 2024 ("Sparse Crosscoders for
 * Cross-Layer Features and Model Diffing") plot the relative decoder norm
 * {@code ||d_b|| / (||d_a|| + ||d_b||)}: near 0 the latent is exclusive to source a, near 1 to
 * source b, near 0.5 shared; for shared latents the cosine similarity of the two decoder vectors
 * tells whether the direction moved. The category thresholds follow Minder et al. 2025
 * ("Overcoming Sparsity Artifacts in Crosscoders to Interpret Chat-Tuning"): exclusive beyond 0.1
 * of either end, shared within 0.1 of the middle. Norms are compared in the crosscoder's
 * normalised space (each source scaled to the same mean squared norm), so a source's overall
 * scale does not tilt the ratios. See {@link LatentScaling} for telling truly exclusive latents
 * from artifacts of the sparsity penalty.
 *
 * <p>Static and thread-safe.
 */
public final class CrosscoderDiff {
  private CrosscoderDiff() {
  }

  /** Where a latent lives, by its relative decoder norm. */
  public enum Category {
    /** Relative norm at most {@code exclusive}: only source a writes it. */
    A_ONLY,
    /** Relative norm within {@code sharedHalfWidth} of 0.5. */
    SHARED,
    /** Relative norm at least {@code 1 - exclusive}: only source b writes it. */
    B_ONLY,
    /** Between shared and exclusive: both write it, one much more. */
    MIXED,
    /** Both decoder vectors are zero (nothing to compare). */
    ZERO
  }

  /**
   * The category boundaries on the relative norm.
   *
   * @param exclusive a latent is exclusive to a source when its relative norm is within this of that source's end
   * @param sharedHalfWidth a latent is shared when its relative norm is within this of 0.5
   */
  public record Thresholds(double exclusive, double sharedHalfWidth) {
    public Thresholds {
      if (!(exclusive > 0 && exclusive < 0.5)) {
        throw new IllegalArgumentException("exclusive threshold must be in (0, 0.5), got " + exclusive);
      }
      if (!(sharedHalfWidth >= 0 && sharedHalfWidth < 0.5 - exclusive)) {
        throw new IllegalArgumentException("shared half-width must be in [0, 0.5 - exclusive = " + (0.5 - exclusive)
            + "), got " + sharedHalfWidth);
      }
    }

    /** Minder et al. 2025: exclusive within 0.1 of an end, shared within 0.1 of the middle. */
    public static Thresholds standard() {
      return new Thresholds(0.1, 0.1);
    }

    /** The category of a relative norm (NaN: both decoder vectors zero). */
    public Category categorise(double relativeNorm) {
      if (Double.isNaN(relativeNorm)) {
        return Category.ZERO;
      }
      if (relativeNorm <= exclusive) {
        return Category.A_ONLY;
      }
      if (relativeNorm >= 1 - exclusive) {
        return Category.B_ONLY;
      }
      if (Math.abs(relativeNorm - 0.5) <= sharedHalfWidth) {
        return Category.SHARED;
      }
      return Category.MIXED;
    }
  }

  /**
   * One latent's two decoder vectors compared.
   *
   * @param normA decoder norm in source a (normalised space)
   * @param normB decoder norm in source b
   * @param relativeNorm {@code normB / (normA + normB)}, NaN when both are 0
   * @param cosine cosine similarity of the two decoder vectors, NaN when either is 0
   */
  public record Latent(int index, double normA, double normB, double relativeNorm, double cosine, Category category) {
  }

  /**
   * Compares the decoder vectors of sources {@code a} and {@code b} for every latent.
   *
   * @throws IllegalArgumentException when the coder has fewer than two sources or a source index is out of range
   */
  public static List<Latent> latents(SparseCoder coder, int a, int b, Thresholds thresholds) {
    Objects.requireNonNull(thresholds, "thresholds");
    int sources = coder.sources();
    if (sources < 2) {
      throw new IllegalArgumentException("model diffing needs a crosscoder with at least 2 sources, got " + coder);
    }
    if (a < 0 || a >= sources || b < 0 || b >= sources || a == b) {
      throw new IllegalArgumentException("sources a = " + a + " and b = " + b + " must be distinct and in [0, "
          + sources + ")");
    }
    int dSae = coder.dSae();
    int dOut = coder.dOut();
    int d = dOut / sources;
    float[] w = coder.weights(SparseCoder.W_DEC);
    List<Latent> out = new ArrayList<>(dSae);
    for (int j = 0; j < dSae; j++) {
      int oa = j * dOut + a * d;
      int ob = j * dOut + b * d;
      double na = 0;
      double nb = 0;
      double dot = 0;
      for (int i = 0; i < d; i++) {
        double va = w[oa + i];
        double vb = w[ob + i];
        na += va * va;
        nb += vb * vb;
        dot += va * vb;
      }
      na = Math.sqrt(na);
      nb = Math.sqrt(nb);
      double rel = na + nb > 0 ? nb / (na + nb) : Double.NaN;
      double cos = na > 0 && nb > 0 ? dot / (na * nb) : Double.NaN;
      out.add(new Latent(j, na, nb, rel, cos, thresholds.categorise(rel)));
    }
    return out;
  }

  /** How many latents fall in each category (every category present, possibly 0). */
  public static Map<Category, Long> counts(List<Latent> latents) {
    Map<Category, Long> counts = new EnumMap<>(Category.class);
    for (Category c : Category.values()) {
      counts.put(c, 0L);
    }
    for (Latent l : latents) {
      counts.merge(l.category(), 1L, Long::sum);
    }
    return counts;
  }

  /**
   * Histogram of values in [lo, hi] over {@code bins} equal bins (the last bin includes hi; NaN
   * values are left out, values outside go to the end bins).
   */
  public static long[] histogram(double[] values, int bins, double lo, double hi) {
    if (bins < 1 || !(hi > lo)) {
      throw new IllegalArgumentException("need bins >= 1 and hi > lo, got bins = " + bins + ", lo = " + lo + ", hi = " + hi);
    }
    long[] counts = new long[bins];
    for (double v : values) {
      if (Double.isNaN(v)) {
        continue;
      }
      int i = (int) Math.floor((v - lo) / (hi - lo) * bins);
      counts[Math.max(0, Math.min(bins - 1, i))]++;
    }
    return counts;
  }

  /** The relative norms of the latents, in index order. */
  public static double[] relativeNorms(List<Latent> latents) {
    return latents.stream().mapToDouble(Latent::relativeNorm).toArray();
  }

  /** The cosine similarities of the latents in {@code category}. */
  public static double[] cosines(List<Latent> latents, Category category) {
    return latents.stream().filter(l -> l.category() == category).mapToDouble(Latent::cosine).toArray();
  }

  /** Median of the finite values (NaN when there are none). */
  public static double median(double[] values) {
    double[] v = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
