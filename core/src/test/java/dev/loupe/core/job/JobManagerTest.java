package dev.loupe.core.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.plugin.UnknownMethodException;
import dev.loupe.sdk.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobManagerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path runs;

  private final TestMethods.Waiter waiter = new TestMethods.Waiter();
  private JobManager jobs;

  private JobManager jobs() {
    jobs = new JobManager(TestMethods.catalog(new TestMethods.Sum(), new TestMethods.Boom(), waiter), runs, 4);
    return jobs;
  }

  @AfterEach
  void close() {
    if (jobs != null) {
      jobs.close();
    }
  }

  private static SyntheticSource synthetic(long rows) {
    return new SyntheticSource("blocks.0.hook_resid_post", rows, 4, 1, 10, 0, 1);
  }

  @Test
  void badConfigIsRejectedBeforeAnyJobExists() throws Exception {
    JobRequest req = JobRequest.builder("sum").set("scale", 0).input("main", synthetic(10)).build();

    assertThatThrownBy(() -> jobs().start(req))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("scale")
        .satisfies(e -> assertThat(((ConfigException) e).field()).isEqualTo("scale"));
    assertThat(jobs.jobs()).isEmpty();
    try (var files = Files.list(runs)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void missingInputIsNamed() {
    assertThatThrownBy(() -> jobs().start(JobRequest.builder("sum").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs input [main]");
  }

  @Test
  void unknownMethodListsTheKnownOnes() {
    assertThatThrownBy(() -> jobs().start(JobRequest.builder("sae").build()))
        .isInstanceOf(UnknownMethodException.class)
        .hasMessageContaining("'sae'")
        .hasMessageContaining("[boom, sum, waiter]");
  }

  @Test
  void aThrowingMethodFailsOnlyItsOwnJob() throws Exception {
    JobHandle bad = jobs().start(JobRequest.builder("boom").build());
    JobHandle good = jobs.start(JobRequest.builder("sum").input("main", synthetic(100)).build());

    JobStatus badEnd = bad.completion().get(10, TimeUnit.SECONDS);
    JobStatus goodEnd = good.completion().get(10, TimeUnit.SECONDS);

    assertThat(badEnd.state()).isEqualTo(JobState.FAILED);
    assertThat(badEnd.message()).isEqualTo("weights file is corrupt");
    assertThat(Files.readString(bad.artifactDir().resolve("job.log")))
        .contains("java.lang.IllegalStateException: weights file is corrupt")
        .contains("\tat dev.loupe.core.job.TestMethods$Boom.run");
    assertThat(goodEnd.state()).isEqualTo(JobState.SUCCEEDED);
  }

  @Test
  void cancelInterruptsARunningJobAndLeavesOthersRunning() throws Exception {
    TestMethods.QueueSource stream = new TestMethods.QueueSource();
    JobHandle blocked = jobs().start(JobRequest.builder("waiter").input("main", stream).build());
    assertThat(waiter.started.await(10, TimeUnit.SECONDS)).isTrue();
    JobHandle other = jobs.start(JobRequest.builder("sum").input("main", synthetic(1000)).build());

    assertThat(jobs.cancel(blocked.id())).isTrue();

    JobStatus end = blocked.completion().get(10, TimeUnit.SECONDS);
    assertThat(end.state()).isEqualTo(JobState.CANCELLED);
    assertThat(stream.closed).isTrue();
    assertThat(other.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(JSON.readTree(blocked.artifactDir().resolve("status.json").toFile()).get("state").asText())
        .isEqualTo("CANCELLED");
  }

  @Test
  void aQueuedJobCancelledBeforeItStartsEndsAtOnce() throws Exception {
    jobs = new JobManager(TestMethods.catalog(new TestMethods.Sum(), waiter), runs, 1);
    JobHandle running = jobs.start(JobRequest.builder("waiter").input("main", new TestMethods.QueueSource()).build());
    assertThat(waiter.started.await(10, TimeUnit.SECONDS)).isTrue();
    JobHandle queued = jobs.start(JobRequest.builder("sum").input("main", synthetic(10)).build());
    assertThat(queued.state()).isEqualTo(JobState.PENDING);

    assertThat(queued.cancel()).isTrue();

    JobStatus end = queued.completion().get(10, TimeUnit.SECONDS);
    assertThat(end.state()).isEqualTo(JobState.CANCELLED);
    assertThat(end.started()).isNull();
    assertThat(running.state()).isEqualTo(JobState.RUNNING);
    running.cancel();
    assertThat(running.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(JobState.CANCELLED);
  }

  @Test
  void aJobIdStillActiveCannotBeReused() throws Exception {
    JobHandle running = jobs().start(JobRequest.builder("waiter").jobId("w").input("main", new TestMethods.QueueSource()).build());

    assertThatThrownBy(() -> jobs.start(JobRequest.builder("waiter").jobId("w").input("main", new TestMethods.QueueSource()).build()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'w'");
    running.cancel();
  }

  @Test
  void rerunningAJobIdWithCheckpointsResumes() throws Exception {
    List<Boolean> resumed = new CopyOnWriteArrayList<>();
    dev.loupe.sdk.method.AnalysisMethod probe = new dev.loupe.sdk.method.AnalysisMethod() {
      @Override
      public dev.loupe.sdk.method.MethodInfo info() {
        return new dev.loupe.sdk.method.MethodInfo("probe", "", List.of(), null);
      }

      @Override
      public void run(dev.loupe.sdk.method.JobContext ctx) throws Exception {
        resumed.add(ctx.resuming());
        Files.writeString(ctx.checkpointDir().resolve("step-1.bin"), "state");
      }
    };
    jobs = new JobManager(TestMethods.catalog(probe), runs, 1);
    jobs.start(JobRequest.builder("probe").jobId("p").build()).completion().get(10, TimeUnit.SECONDS);
    jobs.start(JobRequest.builder("probe").jobId("p").build()).completion().get(10, TimeUnit.SECONDS);

    assertThat(resumed).containsExactly(false, true);
  }

  @Test
  void aJobWritesItsArtifacts() throws Exception {
    JobHandle job = jobs().start(JobRequest.builder("sum").set("scale", 2).input("main", synthetic(35))
        .inputDescription("main", Map.of("synthetic", Map.of("rows", 35))).jobId("sum-1").build());
    job.completion().get(10, TimeUnit.SECONDS);
    Path dir = runs.resolve("sum-1");

    JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
    assertThat(config.get("method").asText()).isEqualTo("sum");
    assertThat(config.at("/config/scale").asInt()).isEqualTo(2);
    assertThat(config.at("/inputs/main/width").asInt()).isEqualTo(4);
    assertThat(config.at("/inputs/main/spec/synthetic/rows").asInt()).isEqualTo(35);

    List<String> metrics = Files.readAllLines(dir.resolve("metrics.jsonl"));
    assertThat(metrics).hasSize(4 + 1); // 4 batches of <= 10 rows, then the NaN row
    assertThat(JSON.readTree(metrics.get(4)).get("nan").isNull()).isTrue();

    double expected = 0;
    SyntheticSource again = synthetic(35);
    for (var b = again.next(); b != null; b = again.next()) {
      for (float v : b.values()) {
        expected += v;
      }
    }
    JsonNode sum = JSON.readTree(dir.resolve("results/sum.json").toFile());
    assertThat(sum.get("sum").asDouble()).isEqualTo(2 * expected);
    assertThat(sum.get("rows").asLong()).isEqualTo(35);
    assertThat(JSON.readTree(dir.resolve("status.json").toFile()).get("state").asText()).isEqualTo("SUCCEEDED");
    assertThat(dir.resolve("checkpoints")).isDirectory();
    try (var leftovers = Files.walk(dir)) {
      assertThat(leftovers.filter(p -> p.getFileName().toString().endsWith(".tmp"))).isEmpty();
    }
  }

  @Test
  void listenersSeeEveryEventInOrder() throws Exception {
    List<String> events = new CopyOnWriteArrayList<>();
    JobListener l = new JobListener() {
      @Override
      public void onProgress(JobHandle job, Progress p) {
        events.add("progress " + p.done());
      }

      @Override
      public void onResult(JobHandle job, String name, Object result) {
        events.add("result " + name);
      }

      @Override
      public void onStatus(JobHandle job, JobStatus s) {
        events.add(s.state().name());
      }
    };
    JobHandle job = jobs().start(JobRequest.builder("sum").input("main", synthetic(20)).listener(l).build());
    job.completion().get(10, TimeUnit.SECONDS);

    assertThat(events).containsExactly("RUNNING", "progress 10", "progress 20", "result sum", "SUCCEEDED");
    assertThat(job.lastProgress().done()).isEqualTo(20);
  }
}
