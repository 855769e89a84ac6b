package dev.loupe.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.core.corpus.Corpora;
import dev.loupe.core.corpus.TokenWindow;
import dev.loupe.core.corpus.TokenWindows;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.core.stream.ActivationStreamConsumer;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSourceException;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.RunResult;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Harvests on a node's model session: shared by several consumers per hook, and refused when wrong. */
class HarvestServiceTest {
  private static final String A = HookPoint.residPost(1);
  private static final String B = HookPoint.residPost(3);
  private static final int CTX = 64;

  @TempDir
  static Path tmp;

  private static Vertx vertx;
  private static NodeServices node;
  private static String sessionId;
  private static String corpus;
  // One thread per consumer: a stream's producer waits for its slowest reader, so readers must not share threads.
  private static final ExecutorService readers = Executors.newCachedThreadPool();

  @BeforeAll
  static void open() throws Exception {
    vertx = Vertx.vertx();
    node = new NodeServices(vertx, "hs");
    sessionId = node.open("tiny");
    corpus = NodeTestMethods.corpus(tmp, 20).toString();
  }

  @AfterAll
  static void close() {
    readers.shutdownNow();
    node.close();
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }

  private static HarvestRequest request(List<String> hooks, long tokens, int consumers, int waitSeconds) {
    return new HarvestRequest(corpus, hooks, tokens, CTX, 256, 8, consumers, waitSeconds);
  }

  private static Future<List<ActivationBatch>> read(String streamId) {
    ActivationStreamConsumer in = ActivationStreamConsumer.subscribe(vertx, streamId)
        .toCompletionStage().toCompletableFuture().join();
    return readers.submit(() -> {
      List<ActivationBatch> got = new ArrayList<>();
      try (in) {
        ActivationBatch b;
        while ((b = in.next()) != null) {
          got.add(b);
        }
      }
      return got;
    });
  }

  private static float[] values(List<ActivationBatch> batches) {
    int n = batches.stream().mapToInt(b -> b.values().length).sum();
    float[] all = new float[n];
    int at = 0;
    for (ActivationBatch b : batches) {
      System.arraycopy(b.values(), 0, all, at, b.values().length);
      at += b.values().length;
    }
    return all;
  }

  private static int[] tokenIds(List<ActivationBatch> batches) {
    return batches.stream().flatMapToInt(b -> java.util.Arrays.stream(b.tokenIds())).toArray();
  }

  @Test
  void everyConsumerOfEveryHookGetsEveryRowOnceInOrder() throws Exception {
    Harvest h = node.harvest(sessionId, request(List.of(A, B), 3000, 2, 30));
    List<Future<List<ActivationBatch>>> a = List.of(read(h.streams().get(A)), read(h.streams().get(A)));
    List<Future<List<ActivationBatch>>> b = List.of(read(h.streams().get(B)), read(h.streams().get(B)));

    Harvest done = h.completion().get(30, TimeUnit.SECONDS);
    assertThat(done.state()).as(done.message()).isEqualTo(Harvest.State.DONE);
    assertThat(done.tokensDone()).isEqualTo(3000);
    for (List<Future<List<ActivationBatch>>> hook : List.of(a, b)) {
      List<ActivationBatch> first = hook.get(0).get(10, TimeUnit.SECONDS);
      List<ActivationBatch> second = hook.get(1).get(10, TimeUnit.SECONDS);
      assertThat(first.stream().mapToLong(ActivationBatch::rows).sum()).isEqualTo(3000);
      assertThat(first).extracting(ActivationBatch::sequence)
          .containsExactlyElementsOf(java.util.stream.LongStream.range(0, first.size()).boxed().toList());
      assertThat(first).extracting(ActivationBatch::width).containsOnly(128);
      // Arrays.equals, not containsExactly: AssertJ's diff of 384,000 floats is quadratic.
      assertThat(java.util.Arrays.equals(values(second), values(first))).as("both consumers got the same values").isTrue();
      assertThat(java.util.Arrays.equals(tokenIds(second), tokenIds(first))).as("both got the same tokens").isTrue();
    }
    assertThat(a.get(0).get()).extracting(ActivationBatch::hookName).containsOnly(A);
    assertThat(b.get(0).get()).extracting(ActivationBatch::hookName).containsOnly(B);
  }

  @Test
  void streamedRowsEqualADirectRunOnTheSameWindows() throws Exception {
    Harvest h = node.harvest(sessionId, request(List.of(A, B), 1500, 1, 30));
    Future<List<ActivationBatch>> a = read(h.streams().get(A));
    Future<List<ActivationBatch>> b = read(h.streams().get(B));
    float[] gotA = values(a.get(30, TimeUnit.SECONDS));
    float[] gotB = values(b.get(30, TimeUnit.SECONDS));
    assertThat(h.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(Harvest.State.DONE);

    LocalModelSession session = node.session(sessionId).orElseThrow();
    Iterator<TokenWindow> windows = TokenWindows.of(Corpora.open(corpus), session::encode, CTX).iterator();
    int row = 0;
    // Window 0 opens the first forward pass; window 9 sits in the second (8 windows per pass).
    for (int w = 0; w <= 9; w++) {
      TokenWindow win = windows.next();
      if (w == 0 || w == 9) {
        try (RunResult r = session.run(new int[][] {win.tokens()}, Set.of(A, B))) {
          assertRows(gotA, row, r.activation(A).toFloatArray());
          assertRows(gotB, row, r.activation(B).toFloatArray());
        }
      }
      row += win.length();
    }
  }

  private static void assertRows(float[] streamed, int fromRow, float[] direct) {
    float[] slice = java.util.Arrays.copyOfRange(streamed, fromRow * 128, fromRow * 128 + direct.length);
    for (int i = 0; i < direct.length; i++) {
      assertThat(slice[i]).as("value %d from row %d", i, fromRow).isCloseTo(direct[i], within(1e-4f));
    }
  }

  @Test
  void aHarvestWhoseConsumersNeverComeFailsNamingTheHook() throws Exception {
    Harvest h = node.harvest(sessionId, request(List.of(A, B), 1000, 1, 1));
    ActivationStreamConsumer onA = ActivationStreamConsumer.subscribe(vertx, h.streams().get(A))
        .toCompletionStage().toCompletableFuture().join();

    Harvest failed = h.completion().get(10, TimeUnit.SECONDS);

    assertThat(failed.state()).isEqualTo(Harvest.State.FAILED);
    assertThat(failed.message()).contains("'" + B + "'").contains("0 of 1 consumers").contains("1 s");
    assertThatThrownBy(onA::next).isInstanceOf(ActivationSourceException.class).hasMessageContaining(B);
    onA.close();
  }

  @Test
  void waitSecondsBoundsTheWaitForAllHooksTogether() throws Exception {
    long t0 = System.nanoTime();
    Harvest h = node.harvest(sessionId, request(List.of(A, B), 1000, 1, 2));
    // A's consumer comes late; B's never. B must not get a fresh two seconds of its own after A's came.
    CompletableFuture<ActivationStreamConsumer> late = new CompletableFuture<>();
    vertx.setTimer(1200, t -> ActivationStreamConsumer.subscribe(vertx, h.streams().get(A)).onComplete((c, err) -> {
      if (err != null) {
        late.completeExceptionally(err);
      } else {
        late.complete(c);
      }
    }));

    Harvest failed = h.completion().get(10, TimeUnit.SECONDS);

    assertThat(failed.state()).isEqualTo(Harvest.State.FAILED);
    assertThat(failed.message()).contains("'" + B + "'");
    assertThat((System.nanoTime() - t0) / 1e9).isLessThan(2.8);
    late.get(10, TimeUnit.SECONDS).close();
  }

  @Test
  void closingTheServicesStopsRunningHarvestsBeforeTheirSessionsClose() throws Exception {
    Vertx own = Vertx.vertx();
    NodeServices services = new NodeServices(own, "hc");
    try {
      Harvest h = services.harvest(services.open("tiny"), request(List.of(A), 10_000_000, 1, 30));
      ActivationStreamConsumer in = ActivationStreamConsumer.subscribe(own, h.streams().get(A))
          .toCompletionStage().toCompletableFuture().join();
      assertThat(in.next()).isNotNull();
      Future<Long> drained = readers.submit(() -> {
        long rows = 0;
        try (in) {
          for (ActivationBatch b; (b = in.next()) != null; ) {
            rows += b.rows();
          }
        } catch (ActivationSourceException expected) {
          // The harvest was cancelled under the reader.
        }
        return rows;
      });

      services.close();

      assertThat(h.completion()).isDone();
      assertThat(h.state()).as(h.message()).isEqualTo(Harvest.State.CANCELLED);
      drained.get(10, TimeUnit.SECONDS);
    } finally {
      own.close().toCompletionStage().toCompletableFuture().join();
    }
  }

  @Test
  void perHeadHooksStreamRowsOfHeadsTimesDHeadWithFewerKeyHeadsUnderGroupedQueryAttention() throws Exception {
    String llama = node.open("random-llama:2x64x4x2");
    String q = "blocks.0.attn.hook_q";
    String k = "blocks.0.attn.hook_k";
    Harvest h = node.harvest(llama, new HarvestRequest(corpus, List.of(q, k), 300, CTX, 64, 8, 1, 30));

    Future<List<ActivationBatch>> onQ = read(h.streams().get(q));
    Future<List<ActivationBatch>> onK = read(h.streams().get(k));
    List<ActivationBatch> qs = onQ.get(30, TimeUnit.SECONDS);
    List<ActivationBatch> ks = onK.get(30, TimeUnit.SECONDS);

    assertThat(h.completion().get(30, TimeUnit.SECONDS).state()).isEqualTo(Harvest.State.DONE);
    assertThat(qs).allSatisfy(b -> assertThat(b.width()).isEqualTo(4 * 16));
    assertThat(ks).allSatisfy(b -> assertThat(b.width()).isEqualTo(2 * 16));
    assertThat(ks.stream().mapToInt(ActivationBatch::rows).sum()).isEqualTo(300);
    node.close(llama);
  }

  @Test
  void aHarvestStopsOnceEveryConsumerHasLeft() throws Exception {
    long tokens = 50_000_000;
    Harvest h = node.harvest(sessionId, new HarvestRequest("europarl", List.of(A), tokens, CTX, 256, 8, 1, 30));
    try (ActivationStreamConsumer onA = ActivationStreamConsumer.subscribe(vertx, h.streams().get(A))
        .toCompletionStage().toCompletableFuture().join()) {
      assertThat(onA.next()).isNotNull();
    }

    Harvest end = h.completion().get(30, TimeUnit.SECONDS);

    assertThat(end.state()).isEqualTo(Harvest.State.CANCELLED);
    assertThat(end.message()).contains("every consumer left");
    assertThat(end.tokensDone()).isLessThan(tokens);
  }

  @Test
  void cancellingAHarvestFailsItsStreams() throws Exception {
    Harvest h = node.harvest(sessionId, request(List.of(A), 1000, 2, 30));
    ActivationStreamConsumer onA = ActivationStreamConsumer.subscribe(vertx, h.streams().get(A))
        .toCompletionStage().toCompletableFuture().join();

    h.cancel();

    assertThat(h.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(Harvest.State.CANCELLED);
    assertThatThrownBy(onA::next).isInstanceOf(ActivationSourceException.class).hasMessageContaining("cancelled");
    onA.close();
  }

  @Test
  void anUnknownHookIsRefusedNamingItsPlace() {
    int before = node.harvests().harvests().size();

    assertThatThrownBy(() -> node.harvest(sessionId, request(List.of(A, "blocks.9.hook_resid_post"), 100, 1, 1)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("hooks[1]"))
        .hasMessageContaining("blocks.9.hook_resid_post");
    assertThat(node.harvests().harvests()).hasSize(before);
  }

  @Test
  void anAttentionPatternHookIsRefused() {
    int before = node.harvests().harvests().size();
    String pattern = "blocks.0.attn.hook_pattern";

    assertThatThrownBy(() -> node.harvest(sessionId, request(List.of(pattern), 100, 1, 1)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("hooks[0]"))
        .hasMessageContaining(pattern).hasMessageContaining("cannot be streamed");
    assertThat(node.harvests().harvests()).hasSize(before);
  }

  @Test
  void aWindowLongerThanTheModelsContextIsRefused() {
    int before = node.harvests().harvests().size();

    assertThatThrownBy(() -> node.harvest(sessionId, new HarvestRequest(corpus, List.of(A), 100, 257, 256, 8, 1, 1)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo("ctx"))
        .hasMessageContaining("256");
    assertThat(node.harvests().harvests()).hasSize(before);
  }

  @Test
  void anUnknownCorpusIsRefusedNamingIt() {
    int before = node.harvests().harvests().size();
    String missing = tmp.resolve("no-such-corpus.txt").toString();

    assertThatThrownBy(() -> node.harvest(sessionId, new HarvestRequest(missing, List.of(A), 100, CTX, 256, 8, 1, 1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(missing);
    assertThat(node.harvests().harvests()).hasSize(before);
  }

  @Test
  void anUnknownSessionIsRefusedNamingIt() {
    assertThatThrownBy(() -> node.harvest("hs-s99", request(List.of(A), 100, 1, 1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'hs-s99'");
  }

  @Test
  void sessionsAreListedWithTheirModel() {
    assertThat(node.sessionsJson().stream().map(o -> ((io.vertx.core.json.JsonObject) o).getString("model"))
        .collect(Collectors.toList())).contains("tiny");
    assertThat(node.sessionFor("tiny")).isEqualTo(sessionId);
  }
}
