package dev.loupe.core.session;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.model.ByteTokenizer;
import dev.loupe.core.model.LoadedModel;
import dev.loupe.core.model.ModelRegistry;
import dev.loupe.core.model.ModelResolver;
import dev.loupe.core.model.TestModels;

/** Sessions and comparisons shared by the session tests. */
final class SessionTestSupport {
  static final String AFFINE = "test-affine";

  private SessionTestSupport() {
  }

  /** A session over the small model whose biases and LayerNorm weights are random too. */
  static LocalModelSession affineSession() {
    ModelResolver resolver = new ModelResolver() {
      @Override
      public boolean handles(String ref) {
        return AFFINE.equals(ref);
      }

      @Override
      public LoadedModel load(String ref, NDManager parent) {
        return new LoadedModel(ref, TestModels.randomAffine(TestModels.smallConfig(), 11, parent),
            ByteTokenizer.instance());
      }

      @Override
      public String describe() {
        return AFFINE;
      }
    };
    return LocalModelSession.open(AFFINE, new ModelRegistry().register(resolver));
  }

  static void assertAllClose(NDArray actual, NDArray expected, double tol) {
    assertThat(actual.getShape()).isEqualTo(expected.getShape());
    float[] a = actual.toFloatArray();
    float[] e = expected.toFloatArray();
    double worst = 0;
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - e[i]));
    }
    assertThat(worst).as("largest absolute difference").isLessThanOrEqualTo(tol);
  }
}
