package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * The nonlinearity that turns a sparse coder's pre-activations into its code. One of four published
 * families; the trainer adds each family's own loss terms (L1, AuxK, L0 target) around it.
 *
 * <p>Implementations are immutable records and thread-safe.
 */
public sealed interface SparseActivation
    permits SparseActivation.Relu, SparseActivation.TopK, SparseActivation.BatchTopK, SparseActivation.JumpRelu {

  /** The SAELens {@code architecture} value a coder with this activation is saved under. */
  String architecture();

  /** A short name for logs and configs: {@code relu}, {@code topk}, {@code batchtopk}, {@code jumprelu}. */
  String name();

  /**
   * The inference code for pre-activations {@code pre} [n, d_sae].
   *
   * @param threshold the coder's per-latent threshold [d_sae]; used by JumpReLU and BatchTopK
   *     (whose learned inference threshold is stored there), ignored otherwise
   */
  NDArray apply(NDArray pre, NDArray threshold);

  /**
   * The code used while training and the gate {@code d code / d pre} (1 where the latent passes
   * its pre-activation through, else 0; so exactly where the code is non-zero), both [n, d_sae]. Only BatchTopK differs from inference:
   * it keeps the top {@code k * n} values of the whole batch.
   */
  default NDList train(NDArray pre, NDArray threshold) {
    NDArray code = apply(pre, threshold);
    return new NDList(code, code.gt(0).toType(pre.getDataType(), false));
  }

  /** Checks that this activation fits a coder with {@code dSae} latents, naming the bad value. */
  default void validate(int dSae) {
  }

  /**
   * ReLU: {@code f = max(0, pre)}, trained with an L1 penalty (Bricken et al. 2023, "Towards
   * Monosemanticity"; Conerly et al. 2024, "Circuits Updates, April 2024" for the decoder-norm
   * weighted variant).
   */
  record Relu() implements SparseActivation {
    @Override
    public String architecture() {
      return "standard";
    }

    @Override
    public String name() {
      return "relu";
    }

    @Override
    public NDArray apply(NDArray pre, NDArray threshold) {
      return pre.maximum(0f);
    }
  }

  /**
   * TopK: keep the k largest pre-activations of each row, then ReLU (Gao et al. 2024, "Scaling and
   * evaluating sparse autoencoders"). L0 is at most k by construction, so no sparsity penalty.
   */
  record TopK(int k) implements SparseActivation {
    public TopK {
      if (k < 1) {
        throw new IllegalArgumentException("topk k must be at least 1, got " + k);
      }
    }

    @Override
    public String architecture() {
      return "topk";
    }

    @Override
    public String name() {
      return "topk";
    }

    @Override
    public NDArray apply(NDArray pre, NDArray threshold) {
      return keepTopPerRow(pre, k);
    }

    @Override
    public void validate(int dSae) {
      if (k > dSae) {
        throw new IllegalArgumentException("topk k = " + k + " exceeds d_sae = " + dSae + "; choose k <= d_sae");
      }
    }
  }

  /**
   * BatchTopK: in training keep the {@code k * n} largest pre-activations of the whole batch, so
   * the mean L0 is k while single rows may use more or fewer latents; at inference a learned
   * threshold (a running average of the smallest kept activation) replaces the batch dependence
   * (Bussmann et al. 2024, "BatchTopK Sparse Autoencoders").
   */
  record BatchTopK(int k) implements SparseActivation {
    public BatchTopK {
      if (k < 1) {
        throw new IllegalArgumentException("batchtopk k must be at least 1, got " + k);
      }
    }

    @Override
    public String architecture() {
      // SAELens opens a BatchTopK coder as JumpReLU with the learned threshold on every latent,
      // which is exactly its inference rule.
      return "jumprelu";
    }

    @Override
    public String name() {
      return "batchtopk";
    }

    @Override
    public NDArray apply(NDArray pre, NDArray threshold) {
      return jump(pre, threshold);
    }

    @Override
    public NDList train(NDArray pre, NDArray threshold) {
      long n = pre.getShape().get(0);
      long total = pre.size();
      int keep = (int) Math.min(total, n * k);
      NDArray relu = pre.maximum(0f);
      NDArray flat = relu.reshape(total);
      NDList top = flat.topK(keep, 0, true, false);
      NDArray gate = flat.zerosLike().scatter(top.get(1), top.get(0).gt(0).toType(pre.getDataType(), false), 0)
          .reshape(pre.getShape());
      return new NDList(relu.mul(gate), gate);
    }

    /**
     * Training selection by weighted scores: keeps the {@code k * n} largest values of
     * {@code relu(pre) * weights} (weights [d_sae], e.g. a crosscoder's summed decoder norms, as in
     * Minder et al. 2025's BatchTopK crosscoder); the code keeps the unweighted activations.
     */
    public NDList trainWeighted(NDArray pre, NDArray weights) {
      long n = pre.getShape().get(0);
      long total = pre.size();
      int keep = (int) Math.min(total, n * k);
      NDArray relu = pre.maximum(0f);
      NDArray flat = relu.mul(weights).reshape(total);
      NDList top = flat.topK(keep, 0, true, false);
      NDArray gate = flat.zerosLike().scatter(top.get(1), top.get(0).gt(0).toType(pre.getDataType(), false), 0)
          .reshape(pre.getShape());
      return new NDList(relu.mul(gate), gate);
    }

    @Override
    public void validate(int dSae) {
      if (k > dSae) {
        throw new IllegalArgumentException("batchtopk k = " + k + " exceeds d_sae = " + dSae + "; choose k <= d_sae");
      }
    }
  }

  /**
   * JumpReLU: {@code f = pre * H(pre - threshold)} with a learned per-latent threshold, trained
   * with straight-through estimators for the threshold (Rajamanoharan et al. 2024, "Jumping Ahead:
   * Improving Reconstruction Fidelity with JumpReLU Sparse Autoencoders").
   */
  record JumpRelu() implements SparseActivation {
    @Override
    public String architecture() {
      return "jumprelu";
    }

    @Override
    public String name() {
      return "jumprelu";
    }

    @Override
    public NDArray apply(NDArray pre, NDArray threshold) {
      return jump(pre, threshold);
    }
  }

  /** Keeps each row's k largest values (then ReLU), zero elsewhere; exactly k slots per row. */
  static NDArray keepTopPerRow(NDArray pre, int k) {
    NDList top = pre.topK(k, 1, true, false);
    return pre.zerosLike().scatter(top.get(1), top.get(0).maximum(0f), 1);
  }

  /** {@code pre} where it exceeds the threshold (and is positive), else 0. */
  static NDArray jump(NDArray pre, NDArray threshold) {
    NDArray gate = pre.gt(threshold).logicalAnd(pre.gt(0)).toType(pre.getDataType(), false);
    return pre.mul(gate);
  }
}
