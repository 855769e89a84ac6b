package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;

/**
 * Latent Scaling (Minder et al. 2025, "Overcoming Sparsity Artifacts in Crosscoders to Interpret
 * Chat-Tuning"): whether a crosscoder latent that looks exclusive to one source is really absent
 * from the other. A crosscoder's L1 penalty can push a latent's decoder vector in one source to
 * zero although that source does carry the direction ("Complete Shrinkage"), or although other
 * latents reconstruct it there ("Latent Decoupling"). For latent j with decoder vector {@code d}
 * in its reference source (the one it is exclusive to) this fits, over the data, the scalar
 * {@code beta} that best explains a target {@code y(x)} as {@code beta f_j(x) d}, in closed form
 * {@code beta = sum_x f_j(x) (d . y(x)) / (||d||^2 sum_x f_j(x)^2)}, for two targets in each source
 * m:
 * <ul>
 *   <li>error: {@code x_m - (x_hat_m - f_j d_j^m)}, what the crosscoder leaves unexplained in m
 *       once latent j is taken out;
 *   <li>reconstruction: {@code x_hat_m}, what the other latents reconstruct in m.
 * </ul>
 * The ratios {@code nu_error = beta_error(other) / beta_error(reference)} and {@code nu_recon =
 * beta_recon(other) / beta_recon(reference)} are near 0 for a latent truly exclusive to its
 * reference source; a large {@code nu_error} flags Complete Shrinkage, a large {@code nu_recon}
 * Latent Decoupling. Everything is computed in the crosscoder's normalised space.
 *
 * <p>Feed batches with {@link #add}, then read {@link #result}. Not thread-safe.
 */
public final class LatentScaling {
  private final SparseCoder coder;
  private final int a;
  private final int b;
  private final int[] reference;
  private final int d;
  // per latent: sum f^2, and per source (a, b) the numerators for the error and reconstruction targets
  private final double[] sumF2;
  private final double[][] errorNum = new double[2][];
  private final double[][] reconNum = new double[2][];
  private final double[] refNormSq;
  // each latent's reference decoder vector [d_sae, d], and per compared source (a, b) the dot
  // products d_j^m . d_j [d_sae]
  private final float[] refVectors;
  private final float[][] own = new float[2][];
  private long rows;

  /**
   * @param coder a crosscoder
   * @param a the first source compared (e.g. the base model)
   * @param b the second source (e.g. the fine-tuned model)
   * @param reference per latent, the source its decoder vector {@code d} is taken from: {@code a} or {@code b}
   * @throws IllegalArgumentException when the coder is not a crosscoder, a source index is bad or
   *     a reference is neither a nor b
   */
  public LatentScaling(SparseCoder coder, int a, int b, int[] reference) {
    this.coder = Objects.requireNonNull(coder, "coder");
    if (coder.sources() < 2) {
      throw new IllegalArgumentException("latent scaling needs a crosscoder, got " + coder);
    }
    if (a < 0 || a >= coder.sources() || b < 0 || b >= coder.sources() || a == b) {
      throw new IllegalArgumentException("sources a = " + a + " and b = " + b + " must be distinct and in [0, "
          + coder.sources() + ")");
    }
    if (reference.length != coder.dSae()) {
      throw new IllegalArgumentException("reference has " + reference.length + " entries, expected d_sae = " + coder.dSae());
    }
    for (int j = 0; j < reference.length; j++) {
      if (reference[j] != a && reference[j] != b) {
        throw new IllegalArgumentException("reference[" + j + "] = " + reference[j] + " is neither source " + a
            + " nor " + b);
      }
    }
    this.a = a;
    this.b = b;
    this.reference = reference.clone();
    int dSae = coder.dSae();
    this.d = coder.dOut() / coder.sources();
    this.sumF2 = new double[dSae];
    for (int s = 0; s < 2; s++) {
      errorNum[s] = new double[dSae];
      reconNum[s] = new double[dSae];
    }
    this.refNormSq = new double[dSae];
    this.refVectors = new float[dSae * d];
    own[0] = new float[dSae];
    own[1] = new float[dSae];
    float[] w = coder.weights(SparseCoder.W_DEC);
    int dOut = coder.dOut();
    for (int j = 0; j < dSae; j++) {
      int off = j * dOut + reference[j] * d;
      System.arraycopy(w, off, refVectors, j * d, d);
      double sq = 0;
      double dotA = 0;
      double dotB = 0;
      for (int i = 0; i < d; i++) {
        double r = w[off + i];
        sq += r * r;
        dotA += r * w[j * dOut + a * d + i];
        dotB += r * w[j * dOut + b * d + i];
      }
      refNormSq[j] = sq;
      own[0][j] = (float) dotA;
      own[1][j] = (float) dotB;
    }
  }

  /**
   * Each latent's reference: the source it is exclusive to by {@link CrosscoderDiff}, else the one
   * with the larger decoder norm.
   */
  public static int[] referenceByNorm(java.util.List<CrosscoderDiff.Latent> latents, int a, int b) {
    int[] ref = new int[latents.size()];
    for (CrosscoderDiff.Latent l : latents) {
      ref[l.index()] = l.normB() >= l.normA() ? b : a;
    }
    return ref;
  }

  /** Accumulates one batch of raw crosscoder inputs [n, d_in] (all rows finite). */
  public void add(NDArray x) {
    try (NDManager m = x.getManager().newSubManager()) {
      m.tempAttachAll(x);
      int dSae = coder.dSae();
      NDArray xn = coder.normalize(x.toType(DataType.FLOAT32, false));
      NDArray f = coder.activation().apply(coder.preActivationsNormalized(xn), coder.threshold());
      NDArray recon = f.matMul(coder.wDec()).add(coder.bDec());
      NDArray refT = m.create(refVectors, new Shape(dSae, d)).transpose();
      NDArray f2 = f.square().sum(new int[] {0});
      add(sumF2, f2);
      int[] src = {a, b};
      for (int s = 0; s < 2; s++) {
        NDIndex cols = new NDIndex(":, " + (src[s] * d) + ":" + ((src[s] + 1) * d));
        NDArray xs = xn.get(cols);
        NDArray rs = recon.get(cols);
        NDArray px = xs.matMul(refT);
        NDArray pr = rs.matMul(refT);
        // + f_j (d_j^m . d_j): latent j's own contribution put back into the error target
        NDArray error = px.sub(pr).add(f.mul(m.create(own[s])));
        add(errorNum[s], f.mul(error).sum(new int[] {0}));
        add(reconNum[s], f.mul(pr).sum(new int[] {0}));
      }
      rows += x.getShape().get(0);
    }
  }

  private static void add(double[] into, NDArray values) {
    double[] v = values.toType(DataType.FLOAT64, false).toDoubleArray();
    for (int i = 0; i < into.length; i++) {
      into[i] += v[i];
    }
  }

  /** Rows accumulated so far. */
  public long rows() {
    return rows;
  }

  /**
   * One latent's fitted scalars and their ratios (NaN where the latent never fired or a
   * denominator is 0).
   *
   * @param reference the source its decoder vector came from
   * @param betaErrorA beta for the error target in source a ({@code betaErrorB} in b)
   * @param betaReconA beta for the reconstruction target in source a ({@code betaReconB} in b)
   * @param nuError beta_error(other source) / beta_error(reference)
   * @param nuRecon beta_recon(other source) / beta_recon(reference)
   */
  public record Scalars(int latent, int reference, double betaErrorA, double betaErrorB, double betaReconA,
      double betaReconB, double nuError, double nuRecon) {
  }

  /** The scalars of every latent from the batches added so far. */
  public Scalars[] result() {
    Scalars[] out = new Scalars[coder.dSae()];
    for (int j = 0; j < out.length; j++) {
      double denom = refNormSq[j] * sumF2[j];
      double eA = denom > 0 ? errorNum[0][j] / denom : Double.NaN;
      double eB = denom > 0 ? errorNum[1][j] / denom : Double.NaN;
      double rA = denom > 0 ? reconNum[0][j] / denom : Double.NaN;
      double rB = denom > 0 ? reconNum[1][j] / denom : Double.NaN;
      boolean refIsB = reference[j] == b;
      double nuE = ratio(refIsB ? eA : eB, refIsB ? eB : eA);
      double nuR = ratio(refIsB ? rA : rB, refIsB ? rB : rA);
      out[j] = new Scalars(j, reference[j], eA, eB, rA, rB, nuE, nuR);
    }
    return out;
  }

  private static double ratio(double num, double den) {
    return den != 0 && Double.isFinite(num) && Double.isFinite(den) ? num / den : Double.NaN;
  }
}
