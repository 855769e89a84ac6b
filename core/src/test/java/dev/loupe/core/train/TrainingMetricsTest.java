package dev.loupe.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.sdk.report.Plots;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingMetricsTest {
  @TempDir
  Path dir;

  private Path metrics(String content) throws Exception {
    return Files.writeString(dir.resolve("metrics.jsonl"), content);
  }

  @Test
  void readsTrainAndValidationPoints() throws Exception {
    Path file = metrics("""
        {"step":100,"tokens":409600,"lr":0.001,"train_loss":2.0794415416798357,"tokens_per_s":2900.0,"elapsed_s":141.2}
        {"step":100,"val_bpb":1.93}

        {"step":200,"tokens":819200,"train_loss":1.5,"elapsed_s":282.0}
        {"step":200,"event":"checkpoint"}
        """);

    TrainingMetrics m = TrainingMetrics.read(file);

    assertThat(m.train()).extracting(TrainingMetrics.TrainPoint::step).containsExactly(100L, 200L);
    // 2.0794... nats = ln 8 = exactly 3 bits.
    assertThat(m.train().get(0).bitsPerByte()).isCloseTo(3.0, within(1e-12));
    assertThat(m.validation()).containsExactly(new TrainingMetrics.ValidationPoint(100, 1.93));
  }

  @Test
  void malformedLineIsReportedWithItsNumber() throws Exception {
    Path file = metrics("{\"step\":1,\"train_loss\":2.0}\n{\"step\":2,\"train_lo");

    assertThatThrownBy(() -> TrainingMetrics.read(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("metrics.jsonl line 2 is not valid JSON");
  }

  @Test
  void lineWithoutStepIsRejected() throws Exception {
    Path file = metrics("{\"train_loss\":2.0}\n");

    assertThatThrownBy(() -> TrainingMetrics.read(file))
        .hasMessageContaining("line 1 needs \"step\" as a non-negative integer");
  }

  @Test
  void divergedLossIsRejected() throws Exception {
    Path file = metrics("{\"step\":1,\"train_loss\":2.0}\n{\"step\":2,\"train_loss\":NaN}\n");

    assertThatThrownBy(() -> TrainingMetrics.read(file))
        .hasMessageContaining("line 2: \"train_loss\" is NaN (did the run diverge?)");
  }

  @Test
  void nonObjectLineIsRejected() throws Exception {
    Path file = metrics("[1,2]\n");

    assertThatThrownBy(() -> TrainingMetrics.read(file)).hasMessageContaining("line 1 must be a JSON object");
  }

  @Test
  void drawsTheLossCurveNextToTheCard() throws Exception {
    StringBuilder lines = new StringBuilder();
    for (int step = 10; step <= 500; step += 10) {
      lines.append("{\"step\":").append(step).append(",\"train_loss\":").append(1 + 4.0 / Math.sqrt(step)).append("}\n");
      if (step % 100 == 0) {
        lines.append("{\"step\":").append(step).append(",\"val_bpb\":").append(1.6 + 6.0 / Math.sqrt(step)).append("}\n");
      }
    }
    TrainingMetrics m = TrainingMetrics.read(metrics(lines.toString()));

    Plots.Rendered out = m.drawLossCurve(dir, Map.of("bigram baseline", 3.3));

    assertThat(out.png()).isEqualTo(dir.resolve("loss_curve.png"));
    assertThat(ImageIO.read(out.png().toFile()).getWidth()).isEqualTo(800);
    assertThat(Files.readString(out.svg())).contains("<svg");
  }

  @Test
  void emptyMetricsCannotBeDrawn() throws Exception {
    TrainingMetrics m = TrainingMetrics.read(metrics("\n"));

    assertThatThrownBy(() -> m.drawLossCurve(dir)).hasMessageContaining("no train_loss or val_bpb points");
  }
}
