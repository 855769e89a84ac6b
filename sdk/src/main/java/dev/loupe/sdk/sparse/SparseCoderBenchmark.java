package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Random;

/**
 * Measures sparse-coder training throughput next to the machine's own dense float32 matrix-multiply
 * rate, measured in the same run on the same engine, so the figure says how close a training step
 * comes to the roofline of its five [n x d_in x d_sae]-sized matmuls. For {@code loupe bench}.
 */
public final class SparseCoderBenchmark {
  private SparseCoderBenchmark() {
  }

  /**
   * One measurement.
   *
   * @param tokensPerSecond training rows per second (median step)
   * @param stepMillis median wall time of one training step
   * @param stepGflops the step's dense matmul work (10 n d_in d_sae flop) per median step time, in GFLOP/s
   * @param matmulGflops the measured rate of the [n, d_in] x [d_in, d_sae] float32 product, the better
   *     of one whole-batch matmul and the same product in row blocks of 512, in GFLOP/s
   * @param rooflineFraction stepGflops / matmulGflops: how close the step comes to doing nothing but
   *     its five matmuls at the machine's rate (a TopK step can exceed 1: its sparse products do
   *     less than the dense work counted)
   */
  public record Result(String activation, int dIn, int dSae, int batch, double tokensPerSecond, double stepMillis,
      double stepGflops, double matmulGflops, double rooflineFraction) {
    @Override
    public String toString() {
      return String.format("%s d_in=%d d_sae=%d batch=%d: %.0f tokens/s (%.1f ms/step), step %.1f GFLOP/s, "
          + "matmul %.1f GFLOP/s, %.2f of roofline", activation, dIn, dSae, batch, tokensPerSecond, stepMillis,
          stepGflops, matmulGflops, rooflineFraction);
    }
  }

  /**
   * Trains a fresh coder on random Gaussian rows for {@code warmup + steps} steps and times the last
   * {@code steps}; then times the reference matmul as many times.
   *
   * @throws IllegalArgumentException when a size or count is not positive
   */
  public static Result measure(NDManager manager, int dIn, int expansion, int batch, SparseActivation activation,
      TrainerConfig config, int warmup, int steps) {
    if (dIn < 1 || expansion < 1 || batch < 1 || steps < 1 || warmup < 0) {
      throw new IllegalArgumentException("need positive dIn, expansion, batch and steps (and warmup >= 0), got dIn="
          + dIn + ", expansion=" + expansion + ", batch=" + batch + ", warmup=" + warmup + ", steps=" + steps);
    }
    int dSae = dIn * expansion;
    Random random = new Random(1);
    float[] rows = new float[batch * dIn];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = (float) random.nextGaussian();
    }
    double flop = 10.0 * batch * dIn * dSae;
    try (NDManager m = manager.newSubManager();
         SparseCoder coder = SparseCoder.initialize(m, dIn, dSae, activation, 1.0, 0.1, 1);
         SparseCoderTrainer trainer = new SparseCoderTrainer(coder, config)) {
      NDArray x = m.create(rows, new Shape(batch, dIn));
      long[] times = new long[steps];
      for (int s = 0; s < warmup + steps; s++) {
        long t0 = System.nanoTime();
        trainer.step(x);
        if (s >= warmup) {
          times[s - warmup] = System.nanoTime() - t0;
        }
      }
      double stepSeconds = median(times) / 1e9;

      NDArray w = m.create(coder.weights(SparseCoder.W_ENC), new Shape(dIn, dSae));
      // the machine's rate for this product, the better of one whole-batch matmul and the same
      // product in row blocks (a fresh [n, d_sae] output costs page faults a blocked step avoids)
      double whole = referenceSeconds(m, x, w, batch, warmup, steps);
      double blocked = referenceSeconds(m, x, w, Math.min(batch, REFERENCE_BLOCK), warmup, steps);
      double matmulGflops = 2.0 * batch * dIn * dSae / Math.min(whole, blocked) / 1e9;
      double stepGflops = flop / stepSeconds / 1e9;
      return new Result(activation.name(), dIn, dSae, batch, batch / stepSeconds, stepSeconds * 1e3, stepGflops,
          matmulGflops, stepGflops / matmulGflops);
    }
  }

  /** Rows per block of the blocked reference matmul. */
  static final int REFERENCE_BLOCK = 512;

  /** Median seconds of {@code x w} computed in row blocks of {@code block} rows (no copy back to Java). */
  private static double referenceSeconds(NDManager m, NDArray x, NDArray w, int block, int warmup, int steps) {
    int n = (int) x.getShape().get(0);
    long[] mm = new long[steps];
    for (int s = 0; s < warmup + steps; s++) {
      try (NDManager sm = m.newSubManager()) {
        sm.tempAttachAll(x, w);
        long t0 = System.nanoTime();
        for (int r = 0; r < n; r += block) {
          NDArray xb = block == n ? x : x.get(new ai.djl.ndarray.index.NDIndex(r + ":" + Math.min(n, r + block)));
          xb.matMul(w).close();
        }
        if (s >= warmup) {
          mm[s - warmup] = System.nanoTime() - t0;
        }
      }
    }
    return median(mm) / 1e9;
  }

  private static double median(long[] v) {
    long[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
  }
}
