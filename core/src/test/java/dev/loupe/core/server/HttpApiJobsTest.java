package dev.loupe.core.server;

import static dev.loupe.core.server.WebApi.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.job.JobState;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.server.WebApi.Answer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Methods and jobs through the HTTP API: start, list (live and on disk), cancel, resume from a
 * checkpoint; metrics by row index; artifacts and results, with names that try to leave the job
 * directory refused.
 */
class HttpApiJobsTest {
  @TempDir
  static Path tmp;

  private static Path runs;
  private static LoupeNode node;
  private static WebApi api;

  @BeforeAll
  static void start() throws Exception {
    runs = tmp.resolve("runs");
    ApiFixtures.saeJob(runs);
    node = LoupeNode.start("jobs", null, ApiTestMethods.catalog(), runs, 2);
    int port = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
    api = new WebApi(port);
  }

  @AfterAll
  static void stop() {
    api.close();
    node.close();
  }

  private static JsonObject startJob(String id, String method, JsonObject config) {
    Answer a = api.post("/api/jobs", new JsonObject().put("id", id).put("method", method).put("config", config));
    assertThat(a.status()).as(a.text()).isEqualTo(201);
    return a.json();
  }

  private static JobStatus finished(String id) throws Exception {
    return node.jobs().job(id).orElseThrow().completion().get(30, TimeUnit.SECONDS);
  }

  @Test
  void methodsComeWithTheirConfigAsAJsonSchema() {
    JsonArray methods = api.get("/api/methods").array();
    JsonObject ticker = methods.stream().map(JsonObject.class::cast).filter(m -> m.getString("id").equals("ticker"))
        .findFirst().orElseThrow();
    JsonObject rows = ticker.getJsonObject("schema").getJsonObject("properties").getJsonObject("rows");
    assertThat(rows.getMap()).containsEntry("type", "integer").containsEntry("default", 10).containsEntry("minimum", 0.0);
    assertThat(ticker.getJsonObject("schema").getBoolean("additionalProperties")).isFalse();
  }

  @Test
  void aFinishedJobsMetricsResultsAndArtifactsAreServed() throws Exception {
    startJob("tick-done", "ticker", new JsonObject().put("rows", 5));
    assertThat(finished("tick-done").state()).isEqualTo(JobState.SUCCEEDED);

    JsonArray metrics = api.get("/api/jobs/tick-done/metrics").array();
    assertThat(metrics).hasSize(5);
    assertThat(metrics.getJsonObject(4).getDouble("loss")).isEqualTo(0.2);
    JsonArray later = api.get("/api/jobs/tick-done/metrics?since=3").array();
    assertThat(later).hasSize(2);
    assertThat(later.getJsonObject(0).getInteger("step")).isEqualTo(3);
    assertThat(api.get("/api/jobs/tick-done/metrics?since=2&limit=1").array()).hasSize(1);
    assertError(api.get("/api/jobs/tick-done/metrics?since=abc"), 400, "'since'");
    assertError(api.get("/api/jobs/tick-done/metrics?limit=0"), 400, "'limit'");

    JsonArray results = api.get("/api/jobs/tick-done/results").array();
    assertThat(results.stream().map(o -> ((JsonObject) o).getString("name")).toList()).containsExactly("big", "summary");
    assertThat(api.get("/api/jobs/tick-done/results/summary").json().getInteger("rows")).isEqualTo(5);
    assertThat(api.get("/api/jobs/tick-done/results/summary.json").json().getInteger("rows")).isEqualTo(5);
    assertError(api.get("/api/jobs/tick-done/results/nothing"), 404, "nothing");

    JsonArray files = api.get("/api/jobs/tick-done/artifacts").array();
    assertThat(files.stream().map(o -> ((JsonObject) o).getString("path")).toList())
        .contains("config.json", "status.json", "metrics.jsonl", "job.log", "results/summary.json");
    Answer log = api.get("/api/jobs/tick-done/artifacts/metrics.jsonl");
    assertThat(log.status()).isEqualTo(200);
    assertThat(log.headers().get("Content-Type")).isEqualTo("application/x-ndjson");
    assertThat(log.headers().get("X-Content-Type-Options")).isEqualTo("nosniff");
    assertThat(log.text()).isEqualTo(Files.readString(runs.resolve("tick-done/metrics.jsonl")));
    assertThat(api.get("/api/jobs/tick-done/artifacts/results/summary.json").json().getInteger("rows")).isEqualTo(5);
    assertError(api.get("/api/jobs/tick-done/artifacts/results"), 404, "directory");
    assertError(api.get("/api/jobs/tick-done/artifacts/nope.txt"), 404);
  }

  @Test
  void namesThatLeaveTheJobDirectoryAreRefused() throws Exception {
    Path job = runs.resolve(ApiFixtures.SAE_JOB);
    Path secret = Files.writeString(tmp.resolve("secret.txt"), "not for the API");
    Files.createSymbolicLink(job.resolve("escape.txt"), secret);
    Files.createSymbolicLink(job.resolve("results").resolve("leak.json"), secret);
    Files.createSymbolicLink(runs.resolve("linked-job"), tmp);
    String base = "/api/jobs/" + ApiFixtures.SAE_JOB;

    assertError(api.get(base + "/artifacts/..%2F..%2Fsecret.txt"), 400, "'path'", "..");
    assertError(api.get(base + "/artifacts/%2Fetc%2Fpasswd"), 400, "'path'");
    assertError(api.get(base + "/artifacts/sae%2F..%2F..%2F..%2Fsecret.txt"), 400, "'path'");
    assertError(api.get(base + "/artifacts/a%5C..%5Csecret.txt"), 400, "'path'");
    assertError(api.get(base + "/artifacts/escape.txt"), 400, "'path'", "outside");
    assertThat(api.get(base + "/artifacts").text()).doesNotContain("escape.txt");
    assertError(api.get(base + "/results/leak"), 404);
    assertError(api.get(base + "/results/..%2F..%2Fsecret"), 400, "'name'");
    assertError(api.get("/api/jobs/linked-job/metrics"), 404, "'linked-job'");
    assertError(api.get("/api/jobs/..%2Fsecret.txt/artifacts"), 400, "'id'");
    // Dot segments in the URL itself are removed before routing: they never reach a job.
    Answer dots = api.get(base + "/artifacts/../../../secret.txt");
    assertThat(dots.status()).isIn(400, 404);
    assertThat(dots.text()).doesNotContain("not for the API");
    assertThat(api.get(base + "/artifacts/sae/cfg.json").json().getInteger("d_sae")).isEqualTo(ApiFixtures.D_SAE);
  }

  @Test
  void jobsOnDiskAreListedAndServedButCannotBeCancelled() {
    JsonArray jobs = api.get("/api/jobs").array();
    JsonObject fixture = jobs.stream().map(JsonObject.class::cast)
        .filter(j -> j.getString("jobId").equals(ApiFixtures.SAE_JOB)).findFirst().orElseThrow();
    assertThat(fixture.getBoolean("live")).isFalse();
    assertThat(fixture.getString("state")).isEqualTo("SUCCEEDED");
    assertThat(api.get("/api/jobs/" + ApiFixtures.SAE_JOB).json().getString("method")).isEqualTo("sae");
    assertThat(api.get("/api/jobs/" + ApiFixtures.SAE_JOB + "/metrics?since=1").array()).hasSize(2);

    assertError(api.delete("/api/jobs/" + ApiFixtures.SAE_JOB), 409, "not running");
    assertError(api.get("/api/jobs/no-such-job"), 404, "'no-such-job'");
  }

  @Test
  void aRowStillBeingWrittenIsNotServed() throws Exception {
    Path job = Files.createDirectories(runs.resolve("half-row"));
    Files.writeString(job.resolve("status.json"), "{\"jobId\":\"half-row\",\"state\":\"RUNNING\"}");
    Files.writeString(job.resolve("metrics.jsonl"), "{\"step\":0,\"time\":1,\"loss\":1}\n{\"step\":1,\"ti");

    assertThat(api.get("/api/jobs/half-row/metrics").array()).hasSize(1);
  }

  @Test
  void aFailedJobResumesFromItsCheckpoint() throws Exception {
    startJob("ckpt", "checkpointer", new JsonObject().put("step", 7));
    JobStatus first = finished("ckpt");
    assertThat(first.state()).isEqualTo(JobState.FAILED);
    assertThat(first.message()).contains("planned failure");

    Answer resumed = api.post("/api/jobs/ckpt/resume", new JsonObject());

    assertThat(resumed.status()).as(resumed.text()).isEqualTo(201);
    assertThat(resumed.json().getBoolean("from_checkpoint")).isTrue();
    assertThat(finished("ckpt").state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(api.get("/api/jobs/ckpt/results/resumed").json().getInteger("from_step")).isEqualTo(7);
    JsonArray metrics = api.get("/api/jobs/ckpt/metrics").array();
    assertThat(metrics.stream().map(o -> ((JsonObject) o).getInteger("step")).toList()).containsExactly(0, 7);
    assertError(api.post("/api/jobs/no-such/resume", new JsonObject()), 404, "'no-such'");
  }

  @Test
  void aRunningJobIsCancelledOnceAndCannotBeResumedMeanwhile() throws Exception {
    startJob("gated", "ticker", new JsonObject().put("rows", 4).put("gate", true));
    ApiTestMethods.awaitHalfway("gated");

    assertError(api.post("/api/jobs/gated/resume", new JsonObject()), 409, "still RUNNING");
    assertError(api.post("/api/jobs", new JsonObject().put("id", "gated").put("method", "ticker")), 409, "'gated'");
    Answer cancel = api.delete("/api/jobs/gated");
    assertThat(cancel.status()).as(cancel.text()).isEqualTo(202);
    ApiTestMethods.open("gated");
    assertThat(finished("gated").state()).isEqualTo(JobState.CANCELLED);
    assertError(api.delete("/api/jobs/gated"), 409, "CANCELLED");
    assertThat(api.get("/api/jobs").array().stream().map(o -> ((JsonObject) o).getString("jobId")).toList())
        .contains("gated", ApiFixtures.SAE_JOB);
  }

  @Test
  void badJobRequestsNameTheField() {
    assertError(api.post("/api/jobs", new JsonObject().put("method", "ticker").put("config",
        new JsonObject().put("rows", -1))), 400, "rows");
    assertError(api.post("/api/jobs", new JsonObject().put("method", "ticker").put("id", "../evil")), 400, "'id'");
    assertError(api.post("/api/jobs", new JsonObject().put("method", "nope")), 400, "'nope'", "ticker");
    assertError(api.post("/api/jobs", new JsonObject().put("method", "ticker").put("confg", new JsonObject())), 400,
        "'confg'");
    assertThat(List.of(api.get("/api/nothing").status(), api.get("/elsewhere").status())).containsOnly(404);
    assertError(api.get("/api/nothing"), 404, "/api/nothing");
  }
}
