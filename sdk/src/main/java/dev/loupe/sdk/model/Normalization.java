package dev.loupe.sdk.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * How a normalisation hook's activation is computed from the activation at {@code inputHook} on
 * the same token, over the last axis:
 *
 * <pre>
 *   out = gain * c / sqrt(mean(c^2) + eps) + bias,
 *   c   = x - mean(x)  when centred (LayerNorm),  c = x  otherwise (RMSNorm),
 *   x   = the activation at inputHook
 * </pre>
 *
 * <p>It describes the hook as the model computes it: where a model's hook sits before the norm's
 * weight (Llama-family {@code hook_normalized}, as in TransformerLens' RMSNorm), {@code gain} is
 * all ones and {@code bias} all zeros, and the weight is applied by the layer that reads the hook.
 *
 * <p>With the per-token scale {@code sigma = sqrt(mean(c^2) + eps)} frozen (see
 * {@link #scales(float[])}), the hook is affine in its input: for a later linear read-out
 * {@code e . out + b}, and the input a sum of components {@code x = sum_k c_k},
 * {@code e . out + b = sum_k (centre(gain * e) / sigma) . c_k + e . bias + b} exactly, with
 * {@code centre} subtracting the mean when {@code centred} and the identity otherwise (the
 * linearisation of Dunefsky et al. 2024's transcoder attribution).
 *
 * <p>The arrays are copied in and out, so an instance is immutable; {@code equals} compares them
 * by content.
 *
 * @param hook the normalisation hook, e.g. {@code blocks.3.ln2.hook_normalized}
 * @param inputHook the hook whose activation is normalised, e.g. {@code blocks.3.hook_resid_mid}
 * @param gain the per-channel gain, {@code d_model} long
 * @param bias the per-channel bias, {@code d_model} long
 * @param centred true for LayerNorm (the mean is subtracted first), false for RMSNorm
 * @param eps added to {@code mean(c^2)} under the square root
 */
public record Normalization(String hook, String inputHook, float[] gain, float[] bias, boolean centred, double eps) {

  /**
   * Validates and copies.
   *
   * @throws NullPointerException when an argument is null
   * @throws IllegalArgumentException when gain is empty, gain and bias differ in length, or eps is
   *     negative or not finite
   */
  public Normalization {
    Objects.requireNonNull(hook, "hook");
    Objects.requireNonNull(inputHook, "inputHook");
    Objects.requireNonNull(gain, "gain");
    Objects.requireNonNull(bias, "bias");
    if (gain.length == 0) {
      throw new IllegalArgumentException("normalization of " + hook + ": gain is empty");
    }
    if (bias.length != gain.length) {
      throw new IllegalArgumentException("normalization of " + hook + ": gain has " + gain.length
          + " entries but bias has " + bias.length);
    }
    if (!(eps >= 0) || Double.isInfinite(eps)) {
      throw new IllegalArgumentException("normalization of " + hook + ": eps must be finite and >= 0, got " + eps);
    }
    gain = gain.clone();
    bias = bias.clone();
  }

  /** A copy of the per-channel gain. */
  @Override
  public float[] gain() {
    return gain.clone();
  }

  /** A copy of the per-channel bias. */
  @Override
  public float[] bias() {
    return bias.clone();
  }

  /** The width normalised over ({@code d_model}). */
  public int width() {
    return gain.length;
  }

  /** True when gain is all ones and bias all zeros: the hook is the bare normalised input. */
  public boolean identityAffine() {
    for (int i = 0; i < gain.length; i++) {
      if (gain[i] != 1f || bias[i] != 0f) {
        return false;
      }
    }
    return true;
  }

  /**
   * The per-token scale {@code sigma = sqrt(mean(c^2) + eps)} of every row of {@code rows}
   * (row-major, {@code width()} values a row, as {@code NDArray.toFloatArray()} lays out a
   * {@code [..., d_model]} activation at {@link #inputHook()}), in double precision.
   *
   * @throws IllegalArgumentException when the length is not a multiple of {@code width()}
   */
  public double[] scales(float[] rows) {
    int d = checkRows(rows);
    double[] out = new double[rows.length / d];
    for (int r = 0; r < out.length; r++) {
      out[r] = scale(rows, r * d, d);
    }
    return out;
  }

  /**
   * Applies the normalisation to every row of {@code rows} (row-major, {@code width()} values a
   * row: the activation at {@link #inputHook()}), computing in double precision; the result is
   * the activation at {@link #hook()}, laid out the same way.
   *
   * @throws IllegalArgumentException when the length is not a multiple of {@code width()}
   */
  public float[] apply(float[] rows) {
    int d = checkRows(rows);
    float[] out = new float[rows.length];
    for (int base = 0; base < rows.length; base += d) {
      double mean = centred ? mean(rows, base, d) : 0;
      double sigma = scale(rows, base, d);
      for (int j = 0; j < d; j++) {
        out[base + j] = (float) (gain[j] * ((rows[base + j] - mean) / sigma) + bias[j]);
      }
    }
    return out;
  }

  private int checkRows(float[] rows) {
    Objects.requireNonNull(rows, "rows");
    int d = gain.length;
    if (rows.length % d != 0) {
      throw new IllegalArgumentException("normalization of " + hook + ": " + rows.length
          + " values are not whole rows of width " + d);
    }
    return d;
  }

  private static double mean(float[] x, int base, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) {
      s += x[base + j];
    }
    return s / d;
  }

  private double scale(float[] x, int base, int d) {
    double mean = centred ? mean(x, base, d) : 0;
    double ss = 0;
    for (int j = 0; j < d; j++) {
      double c = x[base + j] - mean;
      ss += c * c;
    }
    return Math.sqrt(ss / d + eps);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Normalization n && hook.equals(n.hook) && inputHook.equals(n.inputHook)
        && Arrays.equals(gain, n.gain) && Arrays.equals(bias, n.bias) && centred == n.centred
        && Double.compare(eps, n.eps) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(hook, inputHook, Arrays.hashCode(gain), Arrays.hashCode(bias), centred, eps);
  }

  @Override
  public String toString() {
    return "Normalization[" + hook + " <- " + inputHook + ", " + (centred ? "LayerNorm" : "RMSNorm") + ", width "
        + gain.length + ", eps " + eps + (identityAffine() ? ", no gain or bias" : ", with gain and bias") + "]";
  }
}
