package dev.loupe.core.server;

import java.util.concurrent.TimeUnit;

import dev.loupe.core.job.JobState;

import dev.loupe.core.job.JobStatus;

import dev.loupe.core.node.Harvest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.node.NodeTestMethods;
import dev.loupe.core.server.ApiClient.Answer;
import dev.loupe.core.server.ApiClient.Event;
import dev.loupe.core.server.ApiClient.EventStream;
import dev.loupe.core.session.SessionAddresses;
import dev.loupe.sdk.hook.HookPoint;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The user story on one node, through the HTTP API only: open a session, harvest two hooks into
 * streams shared by two jobs each, follow the jobs' events, cancel one job mid-way, and the rest
 * finish with every row while the session still answers prompts.
 */
class HttpApiStoryTest {
  private static final String A = HookPoint.residPost(0);
  private static final String B = HookPoint.residPost(3);
  private static final int TOKENS = 3000;

  @TempDir
  Path tmp;

  private LoupeNode node;
  private ApiClient api;

  @BeforeEach
  void start() {
    node = LoupeNode.start("story", null, NodeTestMethods.catalog(), tmp.resolve("runs"), 4);
    int port = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
    api = new ApiClient(port);
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private String startJob(String id, String method, String streamId) {
    Answer a = api.post("/api/jobs", new JsonObject().put("id", id).put("method", method)
        .put("inputs", new JsonObject().put("main", new JsonObject().put("stream", new JsonObject().put("id", streamId)))));
    assertThat(a.status()).as(a.body()).isEqualTo(201);
    assertThat(a.json().getString("jobId")).isEqualTo(id);
    return id;
  }

  private JsonObject rowsResult(String jobId) throws Exception {
    Answer a = api.get("/api/jobs/" + jobId);
    assertThat(a.status()).isEqualTo(200);
    return new JsonObject(Files.readString(Path.of(a.json().getString("artifactDir")).resolve("results/rows.json")));
  }

  @Test
  @Timeout(60)
  void stoppingAHarvestEndsItAndFailsTheJobsReadingIt() throws Exception {
    String sessionId = api.post("/api/sessions", new JsonObject().put("model", "tiny")).json().getString("id");
    Answer harvest = api.post("/api/sessions/" + sessionId + "/harvests", new JsonObject()
        .put("corpus", "europarl").put("hooks", new JsonArray(List.of(A))).put("tokens", 50_000_000)
        .put("ctx", 64).put("batch_rows", 32));
    String harvestId = harvest.json().getString("id");
    startJob("reader", "rows", harvest.json().getJsonObject("streams").getString(A));

    Answer stop = api.delete("/api/harvests/" + harvestId);

    assertThat(stop.status()).isEqualTo(202);
    Harvest end = node.services().harvests().harvest(harvestId).orElseThrow().completion().get(30, TimeUnit.SECONDS);
    assertThat(end.state()).isEqualTo(Harvest.State.CANCELLED);
    JobStatus job = node.jobs().job("reader").orElseThrow().completion().get(30, TimeUnit.SECONDS);
    assertThat(job.state()).isEqualTo(JobState.FAILED);
    assertThat(job.message()).contains("cancelled");
  }

  @Test
  @Timeout(60)
  void harvestTwoHooksForFourJobsCancelOneAndTheOthersGetEveryRow() throws Exception {
    Answer session = api.post("/api/sessions", new JsonObject().put("model", "tiny"));
    assertThat(session.status()).as(session.body()).isEqualTo(201);
    String sessionId = session.json().getString("id");
    assertThat(session.json().getJsonObject("info").getInteger("nLayers")).isEqualTo(4);

    // Small batches: many more than the stream's credits, so a job that stops reading holds the harvest up.
    Answer harvest = api.post("/api/sessions/" + sessionId + "/harvests", new JsonObject()
        .put("corpus", NodeTestMethods.corpus(tmp, 20).toString()).put("hooks", new JsonArray(List.of(A, B)))
        .put("tokens", TOKENS).put("ctx", 64).put("batch_rows", 32).put("consumers", 2).put("wait_seconds", 30));
    assertThat(harvest.status()).as(harvest.body()).isEqualTo(201);
    String harvestId = harvest.json().getString("id");
    JsonObject streams = harvest.json().getJsonObject("streams");

    startJob("a-rows", "rows", streams.getString(A));
    startJob("a-stall", "stall", streams.getString(A));
    startJob("b-rows-1", "rows", streams.getString(B));
    startJob("b-rows-2", "rows", streams.getString(B));

    List<Event> aRowsEvents = new ArrayList<>();
    try (EventStream aRows = api.events("/api/jobs/a-rows/events");
        EventStream stall = api.events("/api/jobs/a-stall/events")) {
      aRowsEvents.add(aRows.next());
      // The stalling job has read a batch once its status or a progress event shows rows done.
      while (true) {
        Event e = stall.next();
        JsonObject progress = e.name().equals("progress") ? e.data() : e.data().getJsonObject("progress");
        if (progress != null && progress.getLong("done") > 0) {
          break;
        }
      }
      assertThat(api.get("/api/harvests/" + harvestId).json().getString("state")).isEqualTo("RUNNING");

      Answer cancelled = api.delete("/api/jobs/a-stall");
      assertThat(cancelled.status()).isEqualTo(202);

      List<Event> stallRest = new ArrayList<>();
      stall.forEachRemaining(stallRest::add);
      assertThat(stallRest).isNotEmpty().last()
          .satisfies(e -> assertThat(e.name()).isEqualTo("status"))
          .satisfies(e -> assertThat(e.data().getString("state")).isEqualTo("CANCELLED"));
      aRows.forEachRemaining(aRowsEvents::add);
    }

    assertThat(aRowsEvents).extracting(Event::name).contains("progress");
    assertThat(aRowsEvents.get(aRowsEvents.size() - 1).data().getString("state")).isEqualTo("SUCCEEDED");
    for (String job : List.of("a-rows", "b-rows-1", "b-rows-2")) {
      // A finished job's feed is its final status, then the end of the response.
      try (EventStream ended = api.events("/api/jobs/" + job + "/events")) {
        assertThat(ended.next().data().getString("state")).as(job).isEqualTo("SUCCEEDED");
        assertThat(ended.hasNext()).isFalse();
      }
      JsonObject r = rowsResult(job);
      assertThat(r.getLong("rows")).as(job).isEqualTo(TOKENS);
      assertThat(r.getBoolean("in_order")).as(job).isTrue();
    }
    assertThat(rowsResult("b-rows-1").getDouble("sum")).isEqualTo(rowsResult("b-rows-2").getDouble("sum"));
    assertThat(api.get("/api/jobs/a-stall").json().getString("state")).isEqualTo("CANCELLED");
    JsonArray jobs = new JsonArray(api.get("/api/jobs").body());
    assertThat(jobs).hasSize(4);

    JsonObject h = node.services().harvests().harvest(harvestId).orElseThrow().completion().get().toJson();
    assertThat(h.getString("state")).isEqualTo("DONE");
    assertThat(h.getLong("tokens_done")).isEqualTo(TOKENS);
    assertThat(api.get("/api/harvests/" + harvestId).json().getString("state")).isEqualTo("DONE");

    JsonObject run = node.vertx().eventBus().<JsonObject>request(SessionAddresses.run(sessionId),
            new JsonObject().put("text", "The Parliament").put("topK", 3))
        .toCompletionStage().toCompletableFuture().join().body();
    assertThat(run.getJsonArray("topK")).hasSize(3);
    assertThat(run.getJsonArray("tokens")).hasSize("The Parliament".length());
  }

  @Test
  void healthMethodsAndSessionsDescribeTheNode() {
    assertThat(api.get("/api/health").json().getMap()).containsEntry("status", "ok").containsEntry("node", "story")
        .containsEntry("clustered", false);
    JsonArray methods = new JsonArray(api.get("/api/methods").body());
    assertThat(methods.stream().map(m -> ((JsonObject) m).getString("id")).toList()).containsExactly("rows", "stall");
    JsonObject rows = methods.getJsonObject(0);
    assertThat(rows.getString("plugin")).isEqualTo("builtin");
    assertThat(rows.getJsonArray("options").getJsonObject(0).getMap())
        .containsAllEntriesOf(Map.of("name", "scale", "type", "int", "default", 1));
    assertThat(new JsonArray(api.get("/api/sessions").body())).isEmpty();

    String id = api.post("/api/sessions", new JsonObject().put("model", "tiny")).json().getString("id");

    JsonArray sessions = new JsonArray(api.get("/api/sessions").body());
    assertThat(sessions).hasSize(1);
    assertThat(sessions.getJsonObject(0).getMap()).containsEntry("id", id).containsEntry("model", "tiny")
        .containsEntry("node", "story");
  }
}
