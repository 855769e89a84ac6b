package dev.loupe.it.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobListener;
import dev.loupe.core.job.JobState;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.job.Progress;
import dev.loupe.core.node.HarvestRequest;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a job sees when the {@code loupe serve} JVM that feeds it dies mid-stream: the stream's
 * liveness check notices, and the job fails with a message naming the stream instead of waiting
 * for batches that will never come.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServeClusterFailureTest {
  private static final String HOOK = "blocks.1.hook_resid_post";
  /** Far more than the test lets it stream: the serve JVM is killed while the harvest runs. */
  private static final long ENDLESS_TOKENS = 1_000_000_000L;

  @TempDir
  Path work;

  @Test
  void aJobFailsNamingItsStreamWhenTheServeJvmIsKilledMidStream() throws Exception {
    try (TwoNodeServeCluster cluster = TwoNodeServeCluster.start(work)) {
      String stream = cluster.requestHarvest(new HarvestRequest("europarl", List.of(HOOK), ENDLESS_TOKENS, 128, 256, 8, 1, 30))
          .getJsonObject("streams").getString(HOOK);
      CompletableFuture<Progress> firstRows = new CompletableFuture<>();
      cluster.nodeB().jobs().addListener(new JobListener() {
        @Override
        public void onProgress(JobHandle job, Progress progress) {
          firstRows.complete(progress);
        }
      });
      JobHandle job = cluster.nodeB().startJob("activation-stats", Map.of(),
          Map.of("main", Map.of("stream", Map.of("id", stream))), null);
      assertThat(firstRows.get(30, TimeUnit.SECONDS).done()).isPositive();

      cluster.serve().close();
      cluster.serve().awaitExit(10, TimeUnit.SECONDS);
      // The reader pings a silent producer every 2 s and gives up on it after 10 s without an
      // answer (StreamOptions defaults); a departed cluster member fails the ping at once.
      JobStatus end = job.completion().get(20, TimeUnit.SECONDS);

      assertThat(end.state()).isEqualTo(JobState.FAILED);
      assertThat(end.message()).contains("activation stream '" + stream + "'").contains("gone");
    }
  }
}
