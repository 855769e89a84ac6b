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
 * A sparse coder: inputs -> sparse code -> targets. The one model behind SAEs, transcoders and
 * crosscoders, in the SAELens parameterisation: {@code pre = (s x - b_dec) W_enc + b_enc},
 * {@code f = act(pre)}, {@code out = (f W_dec + b_dec) / s}, where {@code s} is the input
 * normalisation factor (1 when inputs are used as they come). Bricken et al. 2023, "Towards
 * Monosemanticity", for the pre-encoder bias {@code b_dec} (their {@code b_pre}).
 *
 * <p>Its {@link Layout} says which member of the family it is:
 * <ul>
 *   <li>an SAE reconstructs its input ({@link Layout#sae});
 *   <li>a crosscoder reads S sources side by side (the input is their concatenation, so
 *       {@code W_enc} stacks the per-source encoders and each row of {@code W_dec} holds one
 *       decoder vector per source) and reconstructs all of them; every source has its own input
 *       scale (Lindsey et al. 2024, "Sparse Crosscoders for Cross-Layer Features and Model
 *       Diffing"; {@link Layout#crosscoder});
 *   <li>a transcoder reads one activation and predicts another, e.g. an MLP's input and output
 *       ({@code out = (f W_dec + b_dec + s_in x W_skip) / s_out}, the skip term optional), with no
 *       pre-encoder bias because input and output live in different spaces (Dunefsky et al. 2024,
 *       "Transcoders Find Interpretable LLM Feature Circuits"; Paulo et al. 2025, "Transcoders
 *       Beat Sparse Autoencoders for Interpretability", for the skip connection;
 *       {@link Layout#transcoder}).
 * </ul>
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
  public static final String W_SKIP = "W_skip";

  /**
   * The shape of a coder and what its target is.
   *
   * @param dIn input width (for a crosscoder: sources x the width of one source)
   * @param dSae number of latents
   * @param dOut target width (d_in for SAEs and crosscoders)
   * @param sources how many equal blocks the input and the decoder rows split into (1 but for crosscoders)
   * @param autoencoder whether the target is the input itself (SAE, crosscoder)
   * @param skip whether a linear skip connection {@code W_skip [d_in, d_out]} adds to the output (transcoders only)
   */
  public record Layout(int dIn, int dSae, int dOut, int sources, boolean autoencoder, boolean skip) {
    public Layout {
      if (dIn < 1 || dSae < 1 || dOut < 1) {
        throw new IllegalArgumentException("d_in, d_sae and d_out must be positive, got d_in = " + dIn + ", d_sae = "
            + dSae + ", d_out = " + dOut);
      }
      if (sources < 1 || dIn % sources != 0) {
        throw new IllegalArgumentException("sources must be >= 1 and divide d_in = " + dIn + ", got " + sources);
      }
      if (autoencoder && (dOut != dIn || skip)) {
        throw new IllegalArgumentException("an autoencoder's target is its input: d_out must equal d_in and there is"
            + " no skip connection");
      }
      if (!autoencoder && sources != 1) {
        throw new IllegalArgumentException("a transcoder reads one source, got sources = " + sources);
      }
    }

    /** A sparse autoencoder on d_in-wide inputs. */
    public static Layout sae(int dIn, int dSae) {
      return new Layout(dIn, dSae, dIn, 1, true, false);
    }

    /** A crosscoder over {@code sources} activations of width {@code dSource} each. */
    public static Layout crosscoder(int dSource, int sources, int dSae) {
      if (sources < 2) {
        throw new IllegalArgumentException("a crosscoder needs at least 2 sources, got " + sources);
      }
      return new Layout(Math.multiplyExact(dSource, sources), dSae, Math.multiplyExact(dSource, sources), sources,
          true, false);
    }

    /** A transcoder from d_in-wide inputs to d_out-wide targets, with or without a skip connection. */
    public static Layout transcoder(int dIn, int dOut, int dSae, boolean skip) {
      return new Layout(dIn, dSae, dOut, 1, false, skip);
    }

    /** Width of one source (d_in / sources). */
    public int dSource() {
      return dIn / sources;
    }

    /** {@code sae}, {@code crosscoder}, {@code transcoder} or {@code skip_transcoder}. */
    public String kind() {
      return sources > 1 ? "crosscoder" : autoencoder ? "sae" : skip ? "skip_transcoder" : "transcoder";
    }
  }

  private final NDManager manager;
  private final Layout layout;
  private final SparseActivation activation;
  private final boolean applyBDecToInput;
  private final NDArray wEnc;
  private final NDArray bEnc;
  private final NDArray wDec;
  private final NDArray bDec;
  private final NDArray threshold;
  private final NDArray wSkip;
  private volatile float[] inputScales;
  private volatile float outputScale;

  private SparseCoder(NDManager parent, Layout layout, SparseActivation activation, boolean applyBDecToInput,
      float[] inputScales, float outputScale, Map<String, float[]> weights) {
    this.layout = Objects.requireNonNull(layout, "layout");
    this.activation = Objects.requireNonNull(activation, "activation");
    activation.validate(layout.dSae());
    if (layout.sources() > 1 && !(activation instanceof SparseActivation.Relu)
        && !(activation instanceof SparseActivation.BatchTopK)) {
      throw new IllegalArgumentException("a crosscoder takes the relu (L1 on summed decoder norms) or batchtopk"
          + " activation, not " + activation.name());
    }
    if (applyBDecToInput && !layout.autoencoder()) {
      throw new IllegalArgumentException("apply_b_dec_to_input needs the target to be the input; a transcoder's b_dec"
          + " lives in the output space");
    }
    int dIn = layout.dIn();
    int dSae = layout.dSae();
    int dOut = layout.dOut();
    Map<String, float[]> w = new LinkedHashMap<>(weights);
    w.putIfAbsent(THRESHOLD, new float[dSae]);
    checkLength(W_ENC, w.get(W_ENC), (long) dIn * dSae);
    checkLength(B_ENC, w.get(B_ENC), dSae);
    checkLength(W_DEC, w.get(W_DEC), (long) dSae * dOut);
    checkLength(B_DEC, w.get(B_DEC), dOut);
    checkLength(THRESHOLD, w.get(THRESHOLD), dSae);
    if (layout.skip()) {
      checkLength(W_SKIP, w.get(W_SKIP), (long) dIn * dOut);
    } else if (w.get(W_SKIP) != null) {
      throw new IllegalArgumentException(W_SKIP + " given, but the layout has no skip connection");
    }
    this.applyBDecToInput = applyBDecToInput;
    this.inputScales = checkScales(inputScales, layout.sources());
    this.outputScale = layout.autoencoder() ? 1f : checkScale(outputScale);
    this.manager = parent.newSubManager();
    this.wEnc = manager.create(w.get(W_ENC), new Shape(dIn, dSae));
    this.bEnc = manager.create(w.get(B_ENC), new Shape(dSae));
    this.wDec = manager.create(w.get(W_DEC), new Shape(dSae, dOut));
    this.bDec = manager.create(w.get(B_DEC), new Shape(dOut));
    this.threshold = manager.create(w.get(THRESHOLD), new Shape(dSae));
    this.wSkip = layout.skip() ? manager.create(w.get(W_SKIP), new Shape(dIn, dOut)) : null;
  }

  private SparseCoder(SparseCoder source, DataType dataType) {
    this.layout = source.layout;
    this.activation = source.activation;
    this.applyBDecToInput = source.applyBDecToInput;
    this.inputScales = source.inputScales.clone();
    this.outputScale = source.outputScale;
    this.manager = source.manager.getParentManager().newSubManager();
    this.wEnc = convert(source.wEnc, dataType);
    this.bEnc = convert(source.bEnc, dataType);
    this.wDec = convert(source.wDec, dataType);
    this.bDec = convert(source.bDec, dataType);
    this.threshold = convert(source.threshold, dataType);
    this.wSkip = source.wSkip == null ? null : convert(source.wSkip, dataType);
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

  private static float checkScale(float scale) {
    if (!(scale > 0) || Float.isInfinite(scale)) {
      throw new IllegalArgumentException("input scale must be a positive finite number, got " + scale);
    }
    return scale;
  }

  private static float[] checkScales(float[] scales, int sources) {
    Objects.requireNonNull(scales, "inputScales");
    if (scales.length != sources) {
      throw new IllegalArgumentException("expected " + sources + " input scales (one per source), got " + scales.length);
    }
    for (float s : scales) {
      checkScale(s);
    }
    return scales.clone();
  }

  /**
   * An SAE from explicit weights (row-major: W_enc [d_in, d_sae], W_dec [d_sae, d_in]); the arrays
   * are copied.
   *
   * @param threshold per-latent threshold [d_sae] (JumpReLU, BatchTopK); null means all zero
   * @throws IllegalArgumentException naming the tensor whose size is wrong, or a bad k / scale
   */
  public static SparseCoder of(NDManager manager, int dIn, int dSae, SparseActivation activation,
      boolean applyBDecToInput, float inputScale, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
      float[] threshold) {
    Map<String, float[]> w = new LinkedHashMap<>();
    w.put(W_ENC, wEnc);
    w.put(B_ENC, bEnc);
    w.put(W_DEC, wDec);
    w.put(B_DEC, bDec);
    if (threshold != null) {
      w.put(THRESHOLD, threshold);
    }
    return of(manager, Layout.sae(dIn, dSae), activation, applyBDecToInput, new float[] {inputScale}, 1f, w);
  }

  /**
   * Any coder of the family from explicit weights by SAELens name ({@link #W_ENC} [d_in, d_sae],
   * {@link #B_ENC}, {@link #W_DEC} [d_sae, d_out], {@link #B_DEC} [d_out], optional
   * {@link #THRESHOLD} [d_sae] and, with a skip connection, {@link #W_SKIP} [d_in, d_out]); the
   * arrays are copied.
   *
   * @param inputScales one input scale per source
   * @param outputScale the target's scale (transcoders; ignored for autoencoders, whose target is the input)
   * @throws IllegalArgumentException naming the tensor whose size is wrong, or a bad scale or activation
   */
  public static SparseCoder of(NDManager manager, Layout layout, SparseActivation activation,
      boolean applyBDecToInput, float[] inputScales, float outputScale, Map<String, float[]> weights) {
    return new SparseCoder(manager, layout, activation, applyBDecToInput, inputScales, outputScale, weights);
  }

  /**
   * A freshly initialised SAE (see {@link #initialize(NDManager, Layout, SparseActivation, double, double, long)}).
   */
  public static SparseCoder initialize(NDManager manager, int dIn, int dSae, SparseActivation activation,
      double decoderNorm, double initialThreshold, long seed) {
    return initialize(manager, Layout.sae(dIn, dSae), activation, decoderNorm, initialThreshold, seed);
  }

  /**
   * A freshly initialised coder: each decoder row (for a crosscoder, each source's part of it) is a
   * random direction of norm {@code decoderNorm} (1 for unit-norm training; Conerly et al. 2024
   * start the decoder-norm weighted variant at 0.1); for autoencoders the encoder is the decoder's
   * transpose (Gao et al. 2024), for transcoders, whose input and output spaces differ, its columns
   * are independent random unit directions; biases and the skip connection are 0, scales 1 and
   * JumpReLU thresholds start at {@code initialThreshold}. SAEs subtract b_dec from their input;
   * crosscoders (as Lindsey et al. 2024 write them) and transcoders do not.
   */
  public static SparseCoder initialize(NDManager manager, Layout layout, SparseActivation activation,
      double decoderNorm, double initialThreshold, long seed) {
    if (!(decoderNorm > 0)) {
      throw new IllegalArgumentException("decoderNorm must be positive, got " + decoderNorm);
    }
    int dIn = layout.dIn();
    int dSae = layout.dSae();
    int dOut = layout.dOut();
    int blocks = layout.sources();
    int dBlock = dOut / blocks;
    Random random = new Random(seed);
    float[] wDec = new float[Math.multiplyExact(dSae, dOut)];
    float[] wEnc = new float[Math.multiplyExact(dIn, dSae)];
    for (int j = 0; j < dSae; j++) {
      for (int b = 0; b < blocks; b++) {
        randomDirection(random, wDec, j * dOut + b * dBlock, dBlock, decoderNorm);
      }
      if (layout.autoencoder()) {
        for (int i = 0; i < dIn; i++) {
          wEnc[i * dSae + j] = wDec[j * dOut + i];
        }
      }
    }
    if (!layout.autoencoder()) {
      float[] column = new float[dIn];
      for (int j = 0; j < dSae; j++) {
        randomDirection(random, column, 0, dIn, 1.0);
        for (int i = 0; i < dIn; i++) {
          wEnc[i * dSae + j] = column[i];
        }
      }
    }
    float[] thr = new float[dSae];
    if (activation instanceof SparseActivation.JumpRelu) {
      if (!(initialThreshold > 0)) {
        throw new IllegalArgumentException("a JumpReLU threshold must start positive, got " + initialThreshold);
      }
      java.util.Arrays.fill(thr, (float) initialThreshold);
    }
    Map<String, float[]> w = new LinkedHashMap<>();
    w.put(W_ENC, wEnc);
    w.put(B_ENC, new float[dSae]);
    w.put(W_DEC, wDec);
    w.put(B_DEC, new float[dOut]);
    w.put(THRESHOLD, thr);
    if (layout.skip()) {
      w.put(W_SKIP, new float[Math.multiplyExact(dIn, dOut)]);
    }
    float[] scales = new float[blocks];
    java.util.Arrays.fill(scales, 1f);
    return new SparseCoder(manager, layout, activation, layout.autoencoder() && blocks == 1, scales, 1f, w);
  }

  private static void randomDirection(Random random, float[] into, int offset, int n, double norm) {
    double sq = 0;
    for (int i = 0; i < n; i++) {
      double g = random.nextGaussian();
      into[offset + i] = (float) g;
      sq += g * g;
    }
    double f = norm / Math.sqrt(sq);
    for (int i = 0; i < n; i++) {
      into[offset + i] = (float) (into[offset + i] * f);
    }
  }

  public Layout layout() {
    return layout;
  }

  public int dIn() {
    return layout.dIn();
  }

  public int dSae() {
    return layout.dSae();
  }

  /** Target width (d_in for SAEs and crosscoders). */
  public int dOut() {
    return layout.dOut();
  }

  /** Number of sources (1 but for crosscoders). */
  public int sources() {
    return layout.sources();
  }

  public SparseActivation activation() {
    return activation;
  }

  /** Whether {@code b_dec} is subtracted from inputs before encoding (SAELens {@code apply_b_dec_to_input}). */
  public boolean applyBDecToInput() {
    return applyBDecToInput;
  }

  /**
   * The factor inputs are multiplied by before encoding (outputs are divided by it).
   *
   * @throws IllegalStateException for a crosscoder whose sources have different scales (see {@link #inputScales()})
   */
  public float inputScale() {
    float[] s = inputScales;
    for (float v : s) {
      if (v != s[0]) {
        throw new IllegalStateException("this crosscoder scales each of its " + s.length
            + " sources differently; use inputScales()");
      }
    }
    return s[0];
  }

  /** The input scale of each source. */
  public float[] inputScales() {
    return inputScales.clone();
  }

  /** The factor targets are multiplied by (the input scale for autoencoders). */
  public float outputScale() {
    return layout.autoencoder() ? inputScale() : outputScale;
  }

  /**
   * Sets the input normalisation factor of every source (see {@link SparseCoderInit#inputScale}).
   *
   * @throws IllegalArgumentException when not positive and finite
   */
  public void setInputScale(float scale) {
    float[] s = new float[layout.sources()];
    java.util.Arrays.fill(s, checkScale(scale));
    this.inputScales = s;
  }

  /**
   * Sets one input normalisation factor per source.
   *
   * @throws IllegalArgumentException when the count is not the number of sources or a factor is
   *     not positive and finite
   */
  public void setInputScales(float... scales) {
    this.inputScales = checkScales(scales, layout.sources());
  }

  /**
   * Sets the target's normalisation factor (transcoders).
   *
   * @throws IllegalStateException for an autoencoder, whose target scale is its input scale
   */
  public void setOutputScale(float scale) {
    if (layout.autoencoder()) {
      throw new IllegalStateException("an autoencoder's target is scaled like its input; set the input scale");
    }
    this.outputScale = checkScale(scale);
  }

  /** Encoder weights [d_in, d_sae], live (the trainer updates them in place). */
  public NDArray wEnc() {
    return wEnc;
  }

  /** Encoder bias [d_sae], live. */
  public NDArray bEnc() {
    return bEnc;
  }

  /** Decoder weights [d_sae, d_out] (one row per latent), live. */
  public NDArray wDec() {
    return wDec;
  }

  /** Decoder bias [d_out] (for autoencoders also the pre-encoder bias), in normalised units, live. */
  public NDArray bDec() {
    return bDec;
  }

  /** Per-latent threshold [d_sae] (JumpReLU; BatchTopK's inference threshold), live. */
  public NDArray threshold() {
    return threshold;
  }

  /** The skip connection [d_in, d_out] in normalised units, live; null without one. */
  public NDArray wSkip() {
    return wSkip;
  }

  /** The manager the weights belong to. */
  public NDManager manager() {
    return manager;
  }

  /** Inputs [n, d_in] scaled into the coder's normalised space (a new array in the input's manager). */
  public NDArray normalize(NDArray x) {
    checkInput(x);
    return scaleInput(x);
  }

  /** Multiplies each source's columns by its scale. */
  NDArray scaleInput(NDArray x) {
    float[] s = inputScales;
    if (s.length == 1) {
      return x.mul(s[0]);
    }
    return x.mul(blockVector(x.getManager(), s, layout.dSource()).toType(x.getDataType(), false));
  }

  /** Targets [n, d_out] in the normalised space. */
  NDArray scaleTarget(NDArray y) {
    return layout.autoencoder() ? scaleInput(y) : y.mul(outputScale);
  }

  /** A normalised output [n, d_out] back in raw target units. */
  NDArray unscaleOutput(NDArray yn) {
    if (!layout.autoencoder()) {
      return yn.div(outputScale);
    }
    float[] s = inputScales;
    if (s.length == 1) {
      return yn.div(s[0]);
    }
    return yn.div(blockVector(yn.getManager(), s, layout.dSource()).toType(yn.getDataType(), false));
  }

  private static NDArray blockVector(NDManager m, float[] perBlock, int blockWidth) {
    float[] v = new float[perBlock.length * blockWidth];
    for (int b = 0; b < perBlock.length; b++) {
      java.util.Arrays.fill(v, b * blockWidth, (b + 1) * blockWidth, perBlock[b]);
    }
    return m.create(v);
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

  /**
   * The decoded part of the output [n, d_out] of a code [n, d_sae], in raw target units:
   * {@code (f W_dec + b_dec) / s}. For a skip transcoder the skip term, which needs the input,
   * is added by {@link #forward}.
   */
  public NDArray decode(NDArray code) {
    if (code.getShape().dimension() != 2 || code.getShape().get(1) != layout.dSae()) {
      throw new IllegalArgumentException("code must have shape [n, " + layout.dSae() + "], got " + code.getShape());
    }
    return unscaleOutput(code.matMul(wDec).add(bDec));
  }

  /** The code and the output of raw inputs: [code [n, d_sae], output [n, d_out]] (with the skip term). */
  public NDList forward(NDArray x) {
    NDArray xn = normalize(x);
    NDArray code = activation.apply(preActivationsNormalized(xn), threshold);
    NDArray out = code.matMul(wDec).add(bDec);
    if (wSkip != null) {
      out = out.add(xn.matMul(wSkip));
    }
    return new NDList(code, unscaleOutput(out));
  }

  private void checkInput(NDArray x) {
    Shape s = x.getShape();
    if (s.dimension() != 2 || s.get(1) != layout.dIn()) {
      throw new IllegalArgumentException("input must have shape [n, d_in = " + layout.dIn() + "], got " + s);
    }
  }

  /**
   * Each latent's decoder norm per source, [d_sae][sources], in normalised units: for a
   * crosscoder the norms whose ratios tell shared latents from source-exclusive ones.
   */
  public float[][] decoderNormsPerSource() {
    int dSae = layout.dSae();
    int blocks = layout.sources();
    int d = layout.dOut() / blocks;
    float[] w = weights(W_DEC);
    float[][] out = new float[dSae][blocks];
    for (int j = 0; j < dSae; j++) {
      for (int b = 0; b < blocks; b++) {
        double sq = 0;
        int off = j * layout.dOut() + b * d;
        for (int i = 0; i < d; i++) {
          sq += (double) w[off + i] * w[off + i];
        }
        out[j][b] = (float) Math.sqrt(sq);
      }
    }
    return out;
  }

  /** A copy of one weight tensor's values (row-major), by its SAELens name ({@link #W_ENC} ...). */
  public float[] weights(String name) {
    return tensor(name).toType(DataType.FLOAT32, false).toFloatArray();
  }

  /** Every weight tensor by SAELens name, as live arrays ({@link #W_SKIP} only with a skip connection). */
  public Map<String, NDArray> tensors() {
    Map<String, NDArray> m = new LinkedHashMap<>();
    m.put(W_ENC, wEnc);
    m.put(B_ENC, bEnc);
    m.put(W_DEC, wDec);
    m.put(B_DEC, bDec);
    m.put(THRESHOLD, threshold);
    if (wSkip != null) {
      m.put(W_SKIP, wSkip);
    }
    return m;
  }

  NDArray tensor(String name) {
    NDArray t = tensors().get(name);
    if (t == null) {
      throw new IllegalArgumentException("no weight tensor named \"" + name + "\"; expected one of " + tensors().keySet());
    }
    return t;
  }

  private Map<String, float[]> weightValues() {
    Map<String, float[]> w = new LinkedHashMap<>();
    for (String name : tensors().keySet()) {
      w.put(name, weights(name));
    }
    return w;
  }

  /** An independent copy of this coder (weights copied) in {@code manager}. */
  public SparseCoder copy(NDManager manager) {
    return of(manager, layout, activation, applyBDecToInput, inputScales, outputScale, weightValues());
  }

  /**
   * The equivalent coder on raw inputs and targets with scale 1: {@code W_enc} rows times their
   * source's input scale, {@code b_dec} and {@code W_dec} over the target scale, {@code W_skip}
   * times input over output scale; the code is unchanged (up to float rounding). This is the
   * form SAELens expects at inference ({@code normalize_activations = "none"}); decoder rows are
   * then no longer unit norm, so keep training on the unfolded coder.
   */
  public SparseCoder foldInputScale(NDManager manager) {
    int dIn = layout.dIn();
    int dSae = layout.dSae();
    int dOut = layout.dOut();
    float[] inRow = new float[dIn];
    for (int i = 0; i < dIn; i++) {
      inRow[i] = inputScales[i / layout.dSource()];
    }
    float[] outCol = new float[dOut];
    for (int i = 0; i < dOut; i++) {
      outCol[i] = layout.autoencoder() ? inRow[i] : outputScale;
    }
    Map<String, float[]> w = weightValues();
    float[] we = w.get(W_ENC);
    for (int i = 0; i < dIn; i++) {
      for (int j = 0; j < dSae; j++) {
        we[i * dSae + j] *= inRow[i];
      }
    }
    float[] wd = w.get(W_DEC);
    for (int j = 0; j < dSae; j++) {
      for (int i = 0; i < dOut; i++) {
        wd[j * dOut + i] /= outCol[i];
      }
    }
    float[] bd = w.get(B_DEC);
    for (int i = 0; i < dOut; i++) {
      bd[i] /= outCol[i];
    }
    if (w.containsKey(W_SKIP)) {
      float[] ws = w.get(W_SKIP);
      for (int i = 0; i < dIn; i++) {
        for (int o = 0; o < dOut; o++) {
          ws[i * dOut + o] *= inRow[i] / outCol[o];
        }
      }
    }
    float[] ones = new float[layout.sources()];
    java.util.Arrays.fill(ones, 1f);
    return of(manager, layout, activation, applyBDecToInput, ones, 1f, w);
  }

  /** Frees the weights. */
  @Override
  public void close() {
    manager.close();
  }

  @Override
  public String toString() {
    return "SparseCoder[" + layout.kind() + ", " + activation.name() + ", d_in=" + layout.dIn() + ", d_sae="
        + layout.dSae() + (layout.autoencoder() ? "" : ", d_out=" + layout.dOut())
        + (layout.sources() > 1 ? ", sources=" + layout.sources() : "") + ", scale="
        + java.util.Arrays.toString(inputScales) + (layout.autoencoder() ? "" : ", out scale=" + outputScale) + "]";
  }
}
