package dev.loupe.sdk.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

/** The benchmark measures a real training step and a real matmul (tiny sizes here). */
class SparseCoderBenchmarkTest {
  @Test
  void reportsThroughputAndTheMatmulRoofline() {
    try (NDManager manager = NDManager.newBaseManager()) {
      SparseCoderBenchmark.Result r = SparseCoderBenchmark.measure(manager, 16, 4, 128, new SparseActivation.TopK(4),
          TrainerConfig.builder().build(), 1, 3);
      assertThat(r.dSae()).isEqualTo(64);
      assertThat(r.tokensPerSecond()).isPositive().isFinite();
      assertThat(r.matmulGflops()).isPositive().isFinite();
      assertThat(r.rooflineFraction()).isEqualTo(r.stepGflops() / r.matmulGflops());
      assertThat(r.toString()).contains("topk d_in=16 d_sae=64 batch=128");
    }
  }
}
