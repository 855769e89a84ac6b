package dev.loupe.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.job.JobState;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.node.NodeTestMethods;
import dev.loupe.core.server.ApiClient.Answer;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad requests get a JSON {@code {error}} with a 4xx status naming what is wrong, never a stack trace. */
class HttpApiErrorsTest {
  @TempDir
  static Path tmp;

  private static LoupeNode node;
  private static ApiClient api;
  private static String sessionId;

  @BeforeAll
  static void start() {
    node = LoupeNode.start("errs", null, NodeTestMethods.catalog(), tmp.resolve("runs"), 2);
    int port = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
    api = new ApiClient(port);
    sessionId = node.services().open("tiny");
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static String error(Answer a, int status) {
    assertThat(a.status()).as(a.body()).isEqualTo(status);
    String error = a.error();
    assertThat(error).as(a.body()).isNotBlank();
    return error;
  }

  private static JsonObject job(String method) {
    return new JsonObject().put("method", method);
  }

  @Test
  void malformedJsonIs400() {
    assertThat(error(api.postRaw("/api/jobs", "{\"method\": "), 400)).contains("not a JSON object");
    assertThat(error(api.postRaw("/api/sessions", "[1, 2]"), 400)).contains("JSON object");
  }

  @Test
  void anUnknownJobKeyIsNamed() {
    assertThat(error(api.post("/api/jobs", job("rows").put("confg", new JsonObject())), 400)).contains("'confg'");
  }

  @Test
  void anUnknownMethodListsTheKnownOnes() {
    assertThat(error(api.post("/api/jobs", job("sae")), 400)).contains("'sae'").contains("rows").contains("stall");
    assertThat(error(api.post("/api/jobs", new JsonObject()), 400)).contains("'method'");
  }

  @Test
  void aBadConfigValueNamesTheField() {
    assertThat(error(api.post("/api/jobs", job("rows").put("config", new JsonObject().put("scale", 1000))), 400))
        .contains("scale");
    assertThat(error(api.post("/api/jobs", job("rows").put("config", "scale=2")), 400)).contains("'config'");
  }

  @Test
  void aBadInputNamesTheField() {
    JsonObject file = new JsonObject().put("file", new JsonObject().put("path", tmp.resolve("none.npy").toString()));
    assertThat(error(api.post("/api/jobs", job("rows").put("inputs", new JsonObject().put("main", file))), 400))
        .contains("inputs.main.file.path").contains("none.npy");
    assertThat(error(api.post("/api/jobs", job("rows")), 400)).contains("needs input").contains("main");
  }

  @Test
  void anUnknownStreamNamesTheInputField() {
    JsonObject stream = new JsonObject().put("stream", new JsonObject().put("id", "no-such-stream").put("wait_seconds", 1));

    String e = error(api.post("/api/jobs", job("rows").put("inputs", new JsonObject().put("main", stream))), 400);

    assertThat(e).contains("inputs.main.stream.id").contains("no-such-stream");
    assertThat(node.jobs().jobs()).noneMatch(j -> j.method().equals("rows") && !j.state().isFinal());
  }

  @Test
  void aJobIdThatIsNotAStringIsRefused() {
    assertThat(error(api.post("/api/jobs", job("rows").put("id", 7)), 400)).contains("'id'");
  }

  @Test
  void reusingTheIdOfAnActiveJobIs409() throws Exception {
    Path file = tmp.resolve("one.safetensors");
    Safetensors.write(file, Map.of("values",
        TensorData.f32(new float[8], 2, 4)), Map.of());
    JsonObject stall = job("stall").put("id", "dup").put("inputs", new JsonObject().put("main",
        new JsonObject().put("file", new JsonObject().put("path", file.toString()))));
    assertThat(api.post("/api/jobs", stall).status()).isEqualTo(201);

    assertThat(error(api.post("/api/jobs", stall), 409)).contains("'dup'").contains("still");
    NodeTestMethods.Stall.hasRead("dup").get(10, TimeUnit.SECONDS);

    assertThat(api.delete("/api/jobs/dup").status()).isEqualTo(202);
    assertThat(node.jobs().job("dup").orElseThrow().completion().get(10, TimeUnit.SECONDS).state())
        .isEqualTo(JobState.CANCELLED);
  }

  @Test
  void aHarvestForAnUnknownSessionIs404() {
    JsonObject req = new JsonObject().put("corpus", "europarl").put("hooks", List.of("blocks.0.hook_resid_post"));

    assertThat(error(api.post("/api/sessions/errs-s99/harvests", req), 404)).contains("no session 'errs-s99'");
  }

  @Test
  void aBadHarvestRequestNamesTheField() {
    String path = "/api/sessions/" + sessionId + "/harvests";
    JsonObject req = new JsonObject().put("corpus", "europarl").put("hooks", List.of("blocks.0.hook_resid_post"));

    assertThat(error(api.post(path, req.copy().put("tokenz", 10)), 400)).contains("'tokenz'");
    assertThat(error(api.post(path, req.copy().put("hooks", List.of("blocks.7.hook_resid_post"))), 400))
        .contains("hooks[0]").contains("blocks.7.hook_resid_post");
    assertThat(error(api.post(path, req.copy().put("ctx", 4096)), 400)).contains("'ctx'");
    assertThat(error(api.post(path, req.copy().put("corpus", tmp.resolve("gone.txt").toString())), 400))
        .contains("gone.txt");
    assertThat(node.services().harvests().harvests()).isEmpty();
  }

  @Test
  void anUnknownModelIs400() {
    assertThat(error(api.post("/api/sessions", new JsonObject().put("model", "gpt-17")), 400)).contains("'gpt-17'");
    assertThat(error(api.post("/api/sessions", new JsonObject()), 400)).contains("'model'");
  }

  @Test
  void aBodyOverOneMebibyteIs413() {
    String big = "{\"method\": \"" + "x".repeat((int) HttpApi.MAX_BODY_BYTES) + "\"}";

    assertThat(error(api.postRaw("/api/jobs", big), 413)).contains(String.valueOf(HttpApi.MAX_BODY_BYTES));
  }

  @Test
  void unknownEndpointsAndIdsAre404() {
    assertThat(error(api.get("/api/nothing"), 404)).contains("/api/nothing");
    assertThat(error(api.delete("/api/sessions"), 404)).contains("DELETE");
    assertThat(error(api.get("/elsewhere"), 404)).contains("GET /elsewhere");
    assertThat(error(api.get("/api/jobs/nope"), 404)).contains("'nope'");
    assertThat(error(api.delete("/api/jobs/nope"), 404)).contains("'nope'");
    assertThat(error(api.get("/api/jobs/nope/events"), 404)).contains("'nope'");
    assertThat(error(api.get("/api/harvests/nope"), 404)).contains("'nope'");
    assertThat(error(api.delete("/api/harvests/nope"), 404)).contains("'nope'");
  }
}
