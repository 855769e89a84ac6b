package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * A sparse coder: inputs -> sparse code -> reconstruction. The one model behind SAEs, transcoders
 * and crosscoders, in the SAELens parameterisation: {@code pre = (s x - b_dec) W_enc + b_enc},
 * {@code f = act(pre)}, {@code out = (f W_dec + b_dec) / s}, where {@code s} is the input
 * normalisation factor (1 when inputs are used as they come). Bricken et al. 2023, "Towards
 * Monosemanticity", for the pre-encoder bias {@code b_dec} (their {@code b_pre}).
 *
 * <p>Weights live in this coder's own {@link NDManager}; results of {@link #encode}, {@link #decode}
 * and {@link #forward} belong to the input's manager. Inference may run from several threads at
 * once; training ({@link SparseCoderTrainer}) updates the weights in place and must be the only
 * user while it runs.
 */
public final class SparseCoder implements AutoCloseable {
  public static final String W_ENC = "W_enc";
  public static final String B_ENC = "b_enc";
  public static final String W_DEC = "W_dec";
  public static final String B_DEC = "b_dec";
  public static final String THRESHOLD = "threshold";

  private final NDManager manager;
  private final int dIn;
  private final int dSae;
  private final SparseActivation activation;
  private final boolean applyBDecToInput;
  private final NDArray wEnc;
  private final NDArray bEnc;
  private final NDArray wDec;
  private final NDArray bDec;
  private final NDArray threshold;
  private volatile float inputScale;

  private SparseCoder(NDManager parent, SparseActivation activation, boolean applyBDecToInput, float inputScale,
      float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[] threshold, int dIn, int dSae) {
    this.activation = Objects.requireNonNull(activation, "activation");
    if (dIn < 1 || dSae < 1) {
      throw new IllegalArgumentException("d_in and d_sae must be positive, got d_in = " + dIn + ", d_sae = " + dSae);
    }
    activation.validate(dSae);
    checkLength(W_ENC, wEnc, (long) dIn * dSae);
    checkLength(B_ENC, bEnc, dSae);
    checkLength(W_DEC, wDec, (long) dSae * dIn);
    checkLength(B_DEC, bDec, dIn);
    checkLength(THRESHOLD, threshold, dSae);
    if (!(inputScale > 0) || Float.isInfinite(inputScale)) {
      throw new IllegalArgumentException("input scale must be a positive finite number, got " + inputScale);
    }
    this.dIn = dIn;
    this.dSae = dSae;
    this.applyBDecToInput = applyBDecToInput;
    this.inputScale = inputScale;
    this.manager = parent.newSubManager();
    this.wEnc = manager.create(wEnc, new Shape(dIn, dSae));
    this.bEnc = manager.create(bEnc, new Shape(dSae));
    this.wDec = manager.create(wDec, new Shape(dSae, dIn));
    this.bDec = manager.create(bDec, new Shape(dIn));
    this.threshold = manager.create(threshold, new Shape(dSae));
  }

  private SparseCoder(SparseCoder source, DataType dataType) {
    this.activation = source.activation;
    this.dIn = source.dIn;
    this.dSae = source.dSae;
    this.applyBDecToInput = source.applyBDecToInput;
    this.inputScale = source.inputScale;
    this.manager = source.manager.getParentManager().newSubManager();
    this.wEnc = convert(source.wEnc, dataType);
    this.bEnc = convert(source.bEnc, dataType);
    this.wDec = convert(source.wDec, dataType);
    this.bDec = convert(source.bDec, dataType);
    this.threshold = convert(source.threshold, dataType);
  }

  private NDArray convert(NDArray a, DataType dataType) {
    NDArray c = a.toType(dataType, true);
    c.attach(manager);
    return c;
  }

  /** A copy whose weights are of another floating type (float64 lets tests check gradients precisely). */
  SparseCoder withDataType(DataType dataType) {
    return new SparseCoder(this, dataType);
  }

  private static void checkLength(String name, float[] values, long expected) {
    Objects.requireNonNull(values, name);
    if (values.length != expected) {
      throw new IllegalArgumentException(name + " has " + values.length + " values, expected " + expected);
    }
  }

  /**
   * A coder from explicit weights (row-major: W_enc [d_in, d_sae], W_dec [d_sae, d_in]); the arrays
   * are copied.
   *
   * @param threshold per-latent threshold [d_sae] (JumpReLU, BatchTopK); null means all zero
   * @throws IllegalArgumentException naming the tensor whose size is wrong, or a bad k / scale
   */
  public static SparseCoder of(NDManager manager, int dIn, int dSae, SparseActivation activation,
      boolean applyBDecToInput, float inputScale, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
      float[] threshold) {
    return new SparseCoder(manager, activation, applyBDecToInput, inputScale, wEnc, bEnc, wDec, bDec,
        threshold == null ? new float[dSae] : threshold, dIn, dSae);
  }

  /**
   * A freshly initialised coder: decoder rows are random directions of norm {@code decoderNorm}
   * (1 for unit-norm training; Conerly et al. 2024 start the decoder-norm weighted variant at 0.1),
   * the encoder is the decoder's transpose (Gao et al. 2024), biases are 0, the input scale is 1 and
   * JumpReLU thresholds start at {@code initialThreshold}.
   */
  public static SparseCoder initialize(NDManager manager, int dIn, int dSae, SparseActivation activation,
      double decoderNorm, double initialThreshold, long seed) {
    if (!(decoderNorm > 0)) {
      throw new IllegalArgumentException("decoderNorm must be positive, got " + decoderNorm);
    }
    Random random = new Random(seed);
    float[] wDec = new float[Math.multiplyExact(dSae, dIn)];
    float[] wEnc = new float[wDec.length];
    for (int j = 0; j < dSae; j++) {
      double sq = 0;
      for (int i = 0; i < dIn; i++) {
        double g = random.nextGaussian();
        wDec[j * dIn + i] = (float) g;
        sq += g * g;
      }
      double f = decoderNorm / Math.sqrt(sq);
      for (int i = 0; i < dIn; i++) {
        wDec[j * dIn + i] = (float) (wDec[j * dIn + i] * f);
        wEnc[i * dSae + j] = wDec[j * dIn + i];
      }
    }
    float[] thr = new float[dSae];
    if (activation instanceof SparseActivation.JumpRelu) {
      if (!(initialThreshold > 0)) {
        throw new IllegalArgumentException("a JumpReLU threshold must start positive, got " + initialThreshold);
      }
      java.util.Arrays.fill(thr, (float) initialThreshold);
    }
    return new SparseCoder(manager, activation, true, 1f, wEnc, new float[dSae], wDec, new float[dIn], thr, dIn, dSae);
  }

  public int dIn() {
    return dIn;
  }

  public int dSae() {
    return dSae;
  }

  public SparseActivation activation() {
    return activation;
  }

  /** Whether {@code b_dec} is subtracted from inputs before encoding (SAELens {@code apply_b_dec_to_input}). */
  public boolean applyBDecToInput() {
    return applyBDecToInput;
  }

  /** The factor inputs are multiplied by before encoding (outputs are divided by it). */
  public float inputScale() {
    return inputScale;
  }

  /**
   * Sets the input normalisation factor (see {@link SparseCoderInit#inputScale}).
   *
   * @throws IllegalArgumentException when not positive and finite
   */
  public void setInputScale(float scale) {
    if (!(scale > 0) || Float.isInfinite(scale)) {
      throw new IllegalArgumentException("input scale must be a positive finite number, got " + scale);
    }
    this.inputScale = scale;
  }

  /** Encoder weights [d_in, d_sae], live (the trainer updates them in place). */
  public NDArray wEnc() {
    return wEnc;
  }

  /** Encoder bias [d_sae], live. */
  public NDArray bEnc() {
    return bEnc;
  }

  /** Decoder weights [d_sae, d_in] (one row per latent), live. */
  public NDArray wDec() {
    return wDec;
  }

  /** Decoder bias [d_in] (also the pre-encoder bias), in normalised units, live. */
  public NDArray bDec() {
    return bDec;
  }

  /** Per-latent threshold [d_sae] (JumpReLU; BatchTopK's inference threshold), live. */
  public NDArray threshold() {
    return threshold;
  }

  /** The manager the weights belong to. */
  public NDManager manager() {
    return manager;
  }

  /** Inputs [n, d_in] scaled into the coder's normalised space (a new array in the input's manager). */
  public NDArray normalize(NDArray x) {
    checkInput(x);
    return x.mul(inputScale);
  }

  /** Pre-activations [n, d_sae] of raw inputs [n, d_in]. */
  public NDArray preActivations(NDArray x) {
    return preActivationsNormalized(normalize(x));
  }

  NDArray preActivationsNormalized(NDArray xn) {
    NDArray centred = applyBDecToInput ? xn.sub(bDec) : xn;
    return centred.matMul(wEnc).add(bEnc);
  }

  /** The sparse code [n, d_sae] of raw inputs [n, d_in], by the inference rule of the activation. */
  public NDArray encode(NDArray x) {
    return activation.apply(preActivations(x), threshold);
  }

  /** The reconstruction [n, d_in] of a code [n, d_sae], in raw input units. */
  public NDArray decode(NDArray code) {
    if (code.getShape().dimension() != 2 || code.getShape().get(1) != dSae) {
      throw new IllegalArgumentException("code must have shape [n, " + dSae + "], got " + code.getShape());
    }
    return code.matMul(wDec).add(bDec).div(inputScale);
  }

  /** The code and the reconstruction of raw inputs: [code [n, d_sae], reconstruction [n, d_in]]. */
  public NDList forward(NDArray x) {
    NDArray code = encode(x);
    return new NDList(code, decode(code));
  }

  private void checkInput(NDArray x) {
    Shape s = x.getShape();
    if (s.dimension() != 2 || s.get(1) != dIn) {
      throw new IllegalArgumentException("input must have shape [n, d_in = " + dIn + "], got " + s);
    }
  }

  /** A copy of one weight tensor's values (row-major), by its SAELens name ({@link #W_ENC} ...). */
  public float[] weights(String name) {
    return tensor(name).toType(DataType.FLOAT32, false).toFloatArray();
  }

  /** Every weight tensor by SAELens name, as live arrays. */
  public Map<String, NDArray> tensors() {
    Map<String, NDArray> m = new LinkedHashMap<>();
    m.put(W_ENC, wEnc);
    m.put(B_ENC, bEnc);
    m.put(W_DEC, wDec);
    m.put(B_DEC, bDec);
    m.put(THRESHOLD, threshold);
    return m;
  }

  NDArray tensor(String name) {
    NDArray t = tensors().get(name);
    if (t == null) {
      throw new IllegalArgumentException("no weight tensor named \"" + name + "\"; expected one of " + tensors().keySet());
    }
    return t;
  }

  /** An independent copy of this coder (weights copied) in {@code manager}. */
  public SparseCoder copy(NDManager manager) {
    return of(manager, dIn, dSae, activation, applyBDecToInput, inputScale, weights(W_ENC), weights(B_ENC),
        weights(W_DEC), weights(B_DEC), weights(THRESHOLD));
  }

  /**
   * The equivalent coder on raw inputs with input scale 1: {@code W_enc * s}, {@code b_dec / s},
   * {@code W_dec / s}; the code is unchanged (up to float rounding). This is the form SAELens
   * expects at inference ({@code normalize_activations = "none"}); decoder rows are then no longer
   * unit norm, so keep training on the unfolded coder.
   */
  public SparseCoder foldInputScale(NDManager manager) {
    float s = inputScale;
    float[] we = weights(W_ENC);
    float[] wd = weights(W_DEC);
    float[] bd = weights(B_DEC);
    for (int i = 0; i < we.length; i++) {
      we[i] *= s;
    }
    for (int i = 0; i < wd.length; i++) {
      wd[i] /= s;
    }
    for (int i = 0; i < bd.length; i++) {
      bd[i] /= s;
    }
    return of(manager, dIn, dSae, activation, applyBDecToInput, 1f, we, weights(B_ENC), wd, bd, weights(THRESHOLD));
  }

  /** Frees the weights. */
  @Override
  public void close() {
    manager.close();
  }

  @Override
  public String toString() {
    return "SparseCoder[" + activation.name() + ", d_in=" + dIn + ", d_sae=" + dSae + ", scale=" + inputScale + "]";
  }
}
