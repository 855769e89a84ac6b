package dev.loupe.core.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobState;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job reading a live input must start at once: queued behind busy workers it would hold up its
 * stream, and with it every other reader of the harvest, for good. So it runs on a thread of its
 * own, while jobs reading files and stores wait for a worker.
 */
class LoupeNodeWorkersTest {
  @TempDir
  Path tmp;

  private LoupeNode node;
  private Map<String, Object> fileInput;

  @BeforeEach
  void start() throws Exception {
    node = LoupeNode.start("w", null, NodeTestMethods.catalog(), tmp.resolve("runs"), 1);
    Path file = tmp.resolve("two-rows.safetensors");
    Safetensors.write(file, Map.of("values", TensorData.f32(new float[8], 2, 4)), Map.of());
    fileInput = Map.of("file", Map.of("path", file.toString()));
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private JobHandle busyWorker() throws Exception {
    // A fresh id per test: hasRead remembers every stall job of this JVM by id.
    String id = "busy-" + java.util.UUID.randomUUID();
    JobHandle stall = node.startJob("stall", Map.of(), Map.of("main", fileInput), id);
    NodeTestMethods.Stall.hasRead(id).get(10, TimeUnit.SECONDS);
    return stall;
  }

  @Test
  void aLiveInputJobRunsAtOnceEvenWhenEveryWorkerIsBusy() throws Exception {
    JobHandle busy = busyWorker();

    Map<String, Object> model = Map.of("model", Map.of("model", "tiny", "hook", "blocks.0.hook_resid_post",
        "tokens", 200, "ctx", 32, "corpus", NodeTestMethods.corpus(tmp, 2).toString()));
    JobHandle live = node.startJob("rows", Map.of(), Map.of("main", model), null);

    assertThat(live.completion().get(20, TimeUnit.SECONDS).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(busy.state()).as("the worker is still taken by the stalled job").isEqualTo(JobState.RUNNING);
    busy.cancel();
  }

  @Test
  void aLiveInputJobStartsOnceAWorkerIsFreeAgain() throws Exception {
    JobHandle busy = busyWorker();
    busy.cancel();
    assertThat(busy.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(JobState.CANCELLED);

    Map<String, Object> model = Map.of("model", Map.of("model", "tiny", "hook", "blocks.0.hook_resid_post",
        "tokens", 200, "ctx", 32, "corpus", NodeTestMethods.corpus(tmp, 2).toString()));
    JobHandle job = node.startJob("rows", Map.of(), Map.of("main", model), null);

    assertThat(job.completion().get(20, TimeUnit.SECONDS).state()).isEqualTo(JobState.SUCCEEDED);
  }

  @Test
  void aJobReadingAFileMayStillQueue() throws Exception {
    JobHandle busy = busyWorker();

    JobHandle queued = node.startJob("rows", Map.of(), Map.of("main", fileInput), null);

    assertThat(queued.state()).isEqualTo(JobState.PENDING);
    busy.cancel();
    assertThat(queued.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(JobState.SUCCEEDED);
  }
}
