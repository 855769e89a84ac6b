package dev.loupe.sdk.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.config.ConfigSchema;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.method.AnalysisMethod;
import dev.loupe.sdk.method.JobContext;
import dev.loupe.sdk.method.MethodInfo;
import dev.loupe.sdk.model.ModelSession;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A test context offers the datasets it was built with, as a host offers its defined ones. */
class TestJobContextTest {
  @TempDir
  Path dir;

  private static final AnalysisMethod NOTHING = new AnalysisMethod() {
    @Override
    public MethodInfo info() {
      return MethodInfo.of("nothing", "does nothing", ConfigSchema.empty());
    }

    @Override
    public void run(JobContext ctx) {
    }
  };

  private record Even(String name) implements TokenDataset {
    @Override
    public String description() {
      return "even positions";
    }

    @Override
    public List<String> classes() {
      return List.of("odd", "even");
    }

    @Override
    public Labeller labeller(ModelSession tokenizer) {
      return batch -> new int[batch.rows()];
    }
  }

  @Test
  void datasetsAreOfferedByNameInTheOrderGiven() {
    TestJobContext ctx = TestJobContext.builder(NOTHING, dir).dataset(new Even("b")).dataset(new Even("a")).build();

    assertThat(ctx.datasetNames()).containsExactly("b", "a");
    assertThat(ctx.dataset("a").name()).isEqualTo("a");
    assertThatThrownBy(() -> ctx.dataset("c")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no dataset named 'c'").hasMessageContaining("[b, a]");
  }
}
