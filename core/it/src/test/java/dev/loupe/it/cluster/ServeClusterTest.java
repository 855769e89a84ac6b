package dev.loupe.it.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.TokenWindow;
import dev.loupe.core.corpus.TokenWindows;
import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobState;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.node.HarvestRequest;
import dev.loupe.core.session.ActivationHarvester;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.core.stream.ActivationStreamConsumer;
import dev.loupe.core.stream.StreamOptions;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSink;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster acceptance test with the real product commands: {@code loupe serve --cluster --open
 * tiny} in a second JVM hosts the model; a node in this JVM asks it over the event bus to harvest,
 * runs analysis jobs on the streamed activations, and checks that what crossed the wire is
 * bit for bit what the same model computes here.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ServeClusterTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> HOOKS = List.of("blocks.1.hook_resid_post", "blocks.3.hook_resid_post");
  private static final long TOKENS = 4000;
  private static final int CTX = 128;
  /** 4000 tokens in batches of 512 rows: seven full batches and a last one of 416. */
  private static final int BATCH_ROWS = 512;
  private static final int SEQUENCES_PER_PASS = 8;
  /** tiny's d_model. */
  private static final int WIDTH = 128;

  @TempDir
  static Path work;

  private static TwoNodeServeCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = TwoNodeServeCluster.start(work);
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static HarvestRequest request(int consumers) {
    return new HarvestRequest("europarl", HOOKS, TOKENS, CTX, BATCH_ROWS, SEQUENCES_PER_PASS, consumers, 30);
  }

  @Test
  void jobsOnThisNodeAnalyseEveryTokenOfAHarvestOnTheServeNode() throws Exception {
    JsonObject harvest = cluster.requestHarvest(request(1));
    JsonObject streams = harvest.getJsonObject("streams");
    assertThat(harvest.getString("session")).isEqualTo(cluster.sessionId());
    assertThat(streams.fieldNames()).containsExactlyInAnyOrderElementsOf(HOOKS);

    Map<String, JobHandle> jobs = new LinkedHashMap<>();
    for (String hook : HOOKS) {
      jobs.put(hook, cluster.nodeB().startJob("activation-stats", Map.of("bins", 20),
          Map.of("main", Map.of("stream", Map.of("id", streams.getString(hook)))), null));
    }

    for (Map.Entry<String, JobHandle> e : jobs.entrySet()) {
      JobStatus end = e.getValue().completion().get(60, TimeUnit.SECONDS);
      assertThat(end.state()).as("job on %s: %s\nserve log:\n%s", e.getKey(), end.message(), cluster.serve().log())
          .isEqualTo(JobState.SUCCEEDED);
      JsonNode stats = JSON.readTree(end.artifactDir().resolve("results/stats.json").toFile());
      assertThat(stats.get("rows").asLong()).as("rows of %s", e.getKey()).isEqualTo(TOKENS);
      assertThat(stats.get("width").asInt()).isEqualTo(WIDTH);
    }
  }

  @Test
  void batchesFromTheServeNodeAreBitExactWithTheSameModelRunHere() throws Exception {
    JsonObject streams = cluster.requestHarvest(request(1)).getJsonObject("streams");
    Map<String, CompletableFuture<List<ActivationBatch>>> received = new LinkedHashMap<>();
    for (String hook : HOOKS) {
      ActivationStreamConsumer consumer = ActivationStreamConsumer.subscribe(cluster.nodeB().vertx(),
          streams.getString(hook), new StreamOptions().setHookName(hook).setWidth(WIDTH)).await(30, TimeUnit.SECONDS);
      // Each stream is drained on its own thread: one harvest feeds both, so reading them one
      // after the other could stall the first behind the second's credit limit.
      received.put(hook, CompletableFuture.supplyAsync(() -> drain(consumer)));
    }

    Map<String, List<ActivationBatch>> expected = harvestHere();
    for (String hook : HOOKS) {
      List<ActivationBatch> got = received.get(hook).get(60, TimeUnit.SECONDS);
      List<ActivationBatch> want = expected.get(hook);
      assertThat(got).as("batches of %s", hook).hasSameSizeAs(want);
      assertThat(got.stream().mapToLong(ActivationBatch::rows).sum()).isEqualTo(TOKENS);
      for (int i = 0; i < want.size(); i++) {
        assertBitExact(got.get(i), want.get(i));
      }
    }
  }

  @Test
  void theServeNodeRefusesAHarvestOfAHookItsModelLacksNamingTheField() {
    HarvestRequest bad = new HarvestRequest("europarl", List.of(HOOKS.get(0), "blocks.9.hook_resid_post"), TOKENS, CTX,
        BATCH_ROWS, SEQUENCES_PER_PASS, 1, 30);

    assertThatThrownBy(() -> cluster.requestHarvest(bad))
        .isInstanceOfSatisfying(ReplyException.class, e -> assertThat(e.failureCode()).isEqualTo(400))
        .hasMessageContaining("hooks[1]")
        .hasMessageContaining("has no hook 'blocks.9.hook_resid_post'");
  }

  @Test
  void theServeNodeAnswersItsHttpApi() throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    HttpResponse<String> health = client.send(HttpRequest.newBuilder(cluster.http().resolve("/api/health"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> sessions = client.send(HttpRequest.newBuilder(cluster.http().resolve("/api/sessions"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(health.body()).getMap())
        .containsEntry("status", "ok").containsEntry("node", "a").containsEntry("clustered", true);
    assertThat(sessions.statusCode()).isEqualTo(200);
    JsonArray list = new JsonArray(sessions.body());
    assertThat(list).hasSize(1);
    JsonObject tiny = list.getJsonObject(0);
    assertThat(tiny.getString("id")).isEqualTo(cluster.sessionId());
    assertThat(tiny.getString("model")).isEqualTo(TwoNodeServeCluster.MODEL);
    assertThat(tiny.getString("node")).isEqualTo("a");
  }

  /** The same harvest as the serve node runs, on a session of the same model in this JVM. */
  private static Map<String, List<ActivationBatch>> harvestHere() throws InterruptedException {
    Map<String, List<ActivationBatch>> batches = new LinkedHashMap<>();
    Map<String, ActivationSink> sinks = new LinkedHashMap<>();
    for (String hook : HOOKS) {
      List<ActivationBatch> list = new ArrayList<>();
      batches.put(hook, list);
      sinks.put(hook, new ActivationSink() {
        @Override
        public void accept(ActivationBatch batch) {
          list.add(batch);
        }

        @Override
        public void close() {
        }
      });
    }
    try (LocalModelSession session = LocalModelSession.open(TwoNodeServeCluster.MODEL);
        Stream<TokenWindow> windows = TokenWindows.of(Corpora.open("europarl"), session::encode, CTX)) {
      new ActivationHarvester(session, SEQUENCES_PER_PASS, BATCH_ROWS).harvest(windows.iterator(), sinks, TOKENS, null);
    }
    return batches;
  }

  private static List<ActivationBatch> drain(ActivationStreamConsumer consumer) {
    List<ActivationBatch> out = new ArrayList<>();
    try (consumer) {
      for (ActivationBatch b = consumer.next(); b != null; b = consumer.next()) {
        out.add(b);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading " + consumer.hookName(), e);
    }
    return out;
  }

  private static void assertBitExact(ActivationBatch actual, ActivationBatch expected) {
    String what = expected.hookName() + " batch #" + expected.sequence();
    assertThat(actual.sequence()).as(what).isEqualTo(expected.sequence());
    assertThat(actual.modelId()).as(what).isEqualTo(expected.modelId());
    assertThat(actual.hookName()).as(what).isEqualTo(expected.hookName());
    assertThat(actual.rows()).as(what).isEqualTo(expected.rows());
    assertThat(actual.width()).as(what).isEqualTo(expected.width());
    assertThat(actual.tokenIds()).as(what).isEqualTo(expected.tokenIds());
    assertThat(actual.docIds()).as(what).isEqualTo(expected.docIds());
    assertThat(actual.positions()).as(what).isEqualTo(expected.positions());
    float[] a = actual.values();
    float[] e = expected.values();
    assertThat(a.length).as(what).isEqualTo(e.length);
    for (int i = 0; i < a.length; i++) {
      if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(e[i])) {
        throw new AssertionError(what + " value " + i + " (row " + i / expected.width() + "): " + a[i] + " from the serve node, "
            + e[i] + " here");
      }
    }
  }
}
