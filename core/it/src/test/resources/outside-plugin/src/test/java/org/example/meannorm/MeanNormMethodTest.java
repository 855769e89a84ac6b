package org.example.meannorm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.testing.TestJobContext;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The method without a Loupe host: the SDK's TestJobContext runs it on two rows. */
class MeanNormMethodTest {
  @TempDir
  Path dir;

  @Test
  void theMeanNormOfTwoRows() throws Exception {
    ActivationBatch rows = ActivationBatch.ofValues("m", "blocks.0.hook_resid_post", 0, 2, 2, new float[] {3, 4, 0, 1});
    TestJobContext ctx = TestJobContext.builder(new MeanNormMethod(), dir).config(Map.of())
        .input("main", ActivationSources.fromBatches(List.of(rows))).build();

    new MeanNormMethod().run(ctx);

    assertEquals(3.0, (Double) ctx.resultMap("summary").get("mean_norm"), 1e-12);
  }
}
