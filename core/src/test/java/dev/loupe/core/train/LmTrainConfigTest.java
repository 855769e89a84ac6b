package dev.loupe.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LmTrainConfigTest {
  private static final String OK = "name: m\nmodel: {layers: 2, d_model: 64, heads: 4, context: 128}\nsteps: 100\n";

  @Test
  void defaultsFollowTheNameAndTheModel() {
    LmTrainConfig c = LmTrainConfig.parse(OK, "m.yaml", Map.of());
    assertThat(c.out()).isEqualTo(Path.of("models/m"));
    assertThat(c.workDir()).isEqualTo(Path.of("runs/train-m"));
    assertThat(c.context()).isEqualTo(128);
    assertThat(c.corpus()).isEqualTo("europarl");
    assertThat(c.warmupSteps()).isEqualTo(10);
  }

  @Test
  void overridesReplaceTopLevelAndModelKeys() {
    LmTrainConfig c = LmTrainConfig.parse(OK, "m.yaml", Map.of("steps", "7", "model.layers", "3", "lr", "3e-4"));
    assertThat(c.steps()).isEqualTo(7);
    assertThat(c.shape().layers()).isEqualTo(3);
    assertThat(c.lr()).isEqualTo(3e-4);
  }

  @Test
  void theScheduleWarmsUpLinearlyThenDecaysToTheFloor() {
    LmTrainConfig c = LmTrainConfig.parse(OK + "lr: 1.0e-3\nmin_lr: 1.0e-4\nwarmup_steps: 10\n", "m.yaml", Map.of());
    assertThat(c.lrAt(0)).isEqualTo(1e-4, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(c.lrAt(9)).isEqualTo(1e-3, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(c.lrAt(55)).isCloseTo(5.5e-4, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(c.lrAt(100)).isCloseTo(1e-4, org.assertj.core.data.Offset.offset(1e-12));
    for (int s = 10; s < 100; s++) {
      assertThat(c.lrAt(s + 1)).isLessThanOrEqualTo(c.lrAt(s));
    }
  }

  @Test
  void badConfigsNameTheKey() {
    assertThatThrownBy(() -> LmTrainConfig.parse(OK + "stepz: 3\n", "m.yaml", Map.of()))
        .hasMessageContaining("m.yaml").hasMessageContaining("unknown key 'stepz'");
    assertThatThrownBy(() -> LmTrainConfig.parse(OK.replace("steps: 100", "steps: many"), "m.yaml", Map.of()))
        .hasMessageContaining("'steps' must be an integer");
    assertThatThrownBy(() -> LmTrainConfig.parse(OK.replace("heads: 4", "heads: 5"), "m.yaml", Map.of()))
        .hasMessageContaining("'model.d_model' (64) must be divisible by 'model.heads' (5)");
    assertThatThrownBy(() -> LmTrainConfig.parse(OK + "context: 512\n", "m.yaml", Map.of()))
        .hasMessageContaining("'context' (512) exceeds 'model.context' (128)");
    assertThatThrownBy(() -> LmTrainConfig.parse(OK + "init: demo\n", "m.yaml", Map.of()))
        .hasMessageContaining("exactly one of 'model'");
    assertThatThrownBy(() -> LmTrainConfig.parse("name: m\nsteps: 3\n", "m.yaml", Map.of()))
        .hasMessageContaining("exactly one of 'model'");
    assertThatThrownBy(() -> LmTrainConfig.parse(OK.replace("layers: 2", "layers: 0"), "m.yaml", Map.of()))
        .hasMessageContaining("'model.layers' must be in [1, 128], got 0");
    assertThatThrownBy(() -> LmTrainConfig.parse(OK + "lr: -1\n", "m.yaml", Map.of()))
        .hasMessageContaining("'lr' must be in");
    assertThatThrownBy(() -> LmTrainConfig.parse("- a\n- b\n", "m.yaml", Map.of()))
        .hasMessageContaining("must be a YAML mapping");
    assertThatThrownBy(() -> LmTrainConfig.parse(OK.replace("name: m", "name: ../x"), "m.yaml", Map.of()))
        .hasMessageContaining("'name' is required");
  }
}
