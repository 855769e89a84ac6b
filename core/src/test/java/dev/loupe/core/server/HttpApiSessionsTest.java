package dev.loupe.core.server;

import static dev.loupe.core.server.WebApi.assertError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.server.WebApi.Answer;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.RunResult;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models and sessions through the HTTP API on the tiny model: prompt runs with top next tokens,
 * whole hooks, selected neurons, a coder's latents and interventions, the logit lens, and the
 * errors naming the bad field. Expected values come from the same session used directly.
 */
class HttpApiSessionsTest {
  private static final String RESID1 = "blocks.1.hook_resid_post";
  private static final String MLP0 = "blocks.0.mlp.hook_post";

  @TempDir
  static Path tmp;

  private static LoupeNode node;
  private static WebApi api;
  private static String session;
  private static LocalModelSession direct;

  @BeforeAll
  static void start() throws Exception {
    Path runs = tmp.resolve("runs");
    ApiFixtures.saeJob(runs);
    node = LoupeNode.start("sess", null, ApiTestMethods.catalog(), runs, 2);
    int port = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
    api = new WebApi(port);
    session = api.post("/api/sessions", new JsonObject().put("model", "tiny")).json().getString("id");
    direct = node.services().session(session).orElseThrow();
  }

  @AfterAll
  static void stop() {
    api.close();
    node.close();
  }

  private static JsonObject run(JsonObject req) {
    Answer a = api.post("/api/sessions/" + session + "/run", req);
    assertThat(a.status()).as(a.text()).isEqualTo(200);
    return a.json();
  }

  private static float[] probsAt(String text, int position) {
    int[] t = direct.encode(text);
    try (RunResult r = direct.run(new int[][] {t}, Set.of())) {
      return r.output().get(0).get(position).softmax(-1).toFloatArray();
    }
  }

  private static float[] activation(String text, String hook) {
    try (RunResult r = direct.run(new int[][] {direct.encode(text)}, Set.of(hook))) {
      return r.activation(hook).get(0).toFloatArray();
    }
  }

  @Test
  void aRunGivesTokensTheTopNextTokensAtEveryPositionAndWholeHooks() {
    JsonObject r = run(new JsonObject().put("text", "Hello").put("top", 3).put("hooks", new JsonArray().add(RESID1)));

    assertThat(r.getString("session")).isEqualTo(session);
    JsonArray tokens = r.getJsonArray("tokens");
    assertThat(tokens).hasSize(5);
    assertThat(tokens.getJsonObject(1).getMap()).containsEntry("id", (int) 'e').containsEntry("text", "e");
    JsonArray top = r.getJsonArray("top");
    assertThat(top).hasSize(5);
    float[] p2 = probsAt("Hello", 2);
    JsonArray at2 = top.getJsonArray(2);
    assertThat(at2).hasSize(3);
    int best = 0;
    for (int v = 1; v < p2.length; v++) {
      best = p2[v] > p2[best] ? v : best;
    }
    assertThat(at2.getJsonObject(0).getInteger("token")).isEqualTo(best);
    assertThat(at2.getJsonObject(0).getDouble("prob")).isCloseTo(p2[best], within(1e-5));
    assertThat(at2.getJsonObject(0).getDouble("prob")).isGreaterThanOrEqualTo(at2.getJsonObject(1).getDouble("prob"));

    JsonObject act = r.getJsonArray("activations").getJsonObject(0);
    assertThat(act.getString("hook")).isEqualTo(RESID1);
    assertThat(act.getJsonArray("shape").getList()).containsExactly(5, 128);
    float[] want = activation("Hello", RESID1);
    assertThat(act.getJsonArray("values").getJsonArray(4).getDouble(7)).isCloseTo(want[4 * 128 + 7], within(1e-5));
  }

  @Test
  void selectedNeuronsAreThoseColumnsOfTheWholeHook() {
    JsonObject r = run(new JsonObject().put("tokens", new JsonArray().add(72).add(105).add(33)).put("top", 0)
        .put("hooks", new JsonArray().add(new JsonObject().put("hook", MLP0).put("neurons", new JsonArray().add(5).add(300)))));

    assertThat(r.getValue("top")).isNull();
    JsonObject act = r.getJsonArray("activations").getJsonObject(0);
    assertThat(act.getJsonArray("neurons").getList()).containsExactly(5, 300);
    assertThat(act.getJsonArray("shape").getList()).containsExactly(3, 2);
    int dMlp = direct.info().hookWidth(MLP0);
    float[] whole = new float[0];
    try (RunResult rr = direct.run(new int[][] {{72, 105, 33}}, Set.of(MLP0))) {
      whole = rr.activation(MLP0).get(0).toFloatArray();
    }
    for (int p = 0; p < 3; p++) {
      assertThat(act.getJsonArray("values").getJsonArray(p).getDouble(1)).isCloseTo(whole[p * dMlp + 300], within(1e-5));
    }
  }

  @Test
  void settingANeuronShowsAtItsHookAndChangesThePrediction() {
    JsonObject hooks = new JsonObject().put("hook", MLP0).put("neurons", new JsonArray().add(3));
    JsonObject clean = run(new JsonObject().put("text", "abc").put("hooks", new JsonArray().add(hooks)));
    JsonObject set = run(new JsonObject().put("text", "abc").put("hooks", new JsonArray().add(hooks))
        .put("interventions", new JsonArray().add(new JsonObject().put("hook", MLP0).put("index", 3).put("value", 40.0)
            .put("positions", new JsonArray().add(1)))));

    JsonArray values = set.getJsonArray("activations").getJsonObject(0).getJsonArray("values");
    JsonArray cleanValues = clean.getJsonArray("activations").getJsonObject(0).getJsonArray("values");
    assertThat(values.getJsonArray(1).getDouble(0)).isEqualTo(40.0);
    assertThat(values.getJsonArray(0).getDouble(0)).isEqualTo(cleanValues.getJsonArray(0).getDouble(0));
    assertThat(set.getJsonArray("interventions").getJsonObject(0).getInteger("index")).isEqualTo(3);
    // Position 0 sees nothing of a later position; position 1 and after see the new value.
    assertThat(set.getJsonArray("top").getJsonArray(0)).isEqualTo(clean.getJsonArray("top").getJsonArray(0));
    assertThat(set.getJsonArray("top").getJsonArray(2)).isNotEqualTo(clean.getJsonArray("top").getJsonArray(2));
  }

  @Test
  void aCodersLatentsPerTokenAreItsCodeOfTheHooksActivation() throws Exception {
    JsonObject r = run(new JsonObject().put("text", "Parliament").put("hooks", new JsonArray()
        .add(new JsonObject().put("hook", RESID1).put("coder", new JsonObject().put("job", ApiFixtures.SAE_JOB))
            .put("top", 4).put("latents", new JsonArray().add(0).add(1)))));

    JsonObject act = r.getJsonArray("activations").getJsonObject(0);
    assertThat(act.getString("coder")).isEqualTo(ApiFixtures.SAE_JOB + ":sae");
    assertThat(act.getInteger("d_sae")).isEqualTo(ApiFixtures.D_SAE);
    int n = "Parliament".length();
    float[] x = activation("Parliament", RESID1);
    float[] code;
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoder c = SparseCoderFiles.load(m, tmp.resolve("runs").resolve(ApiFixtures.SAE_JOB).resolve("sae")).coder();
      code = c.encode(m.create(x, new ai.djl.ndarray.types.Shape(n, ApiFixtures.D_IN))).toFloatArray();
    }
    for (int p = 0; p < n; p++) {
      JsonArray top = act.getJsonArray("top").getJsonArray(p);
      assertThat(top.size()).isBetween(1, 4);
      for (Object o : top) {
        JsonObject l = (JsonObject) o;
        assertThat(l.getDouble("value")).isCloseTo(code[p * ApiFixtures.D_SAE + l.getInteger("latent")], within(1e-4));
      }
      int best = 0;
      for (int j = 1; j < ApiFixtures.D_SAE; j++) {
        best = code[p * ApiFixtures.D_SAE + j] > code[p * ApiFixtures.D_SAE + best] ? j : best;
      }
      assertThat(top.getJsonObject(0).getInteger("latent")).isEqualTo(best);
      assertThat(act.getJsonArray("values").getJsonArray(p).getDouble(1))
          .isCloseTo(code[p * ApiFixtures.D_SAE + 1], within(1e-4));
      assertThat(act.getJsonArray("l0").getInteger(p)).isEqualTo(8);
    }
  }

  @Test
  void steeringAlongALatentAddsItsDecoderDirection() throws Exception {
    JsonObject steer = new JsonObject().put("coder", new JsonObject().put("path", ApiFixtures.SAE_JOB + "/sae"))
        .put("latent", 3).put("scale", 10.0);
    JsonObject r = run(new JsonObject().put("text", "abcd").put("hooks", new JsonArray().add(RESID1))
        .put("interventions", new JsonArray().add(steer)));

    float[] clean = activation("abcd", RESID1);
    float[] dir;
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoder c = SparseCoderFiles.load(m, tmp.resolve("runs").resolve(ApiFixtures.SAE_JOB).resolve("sae")).coder();
      NDArray row = c.wDec().get(3);
      dir = row.toFloatArray();
    }
    JsonArray values = r.getJsonArray("activations").getJsonObject(0).getJsonArray("values");
    for (int p = 0; p < 4; p++) {
      for (int i : new int[] {0, 17, 127}) {
        // W_dec lives in the SAE's normalised space: one latent unit adds W_dec[3] / s in raw units.
        assertThat(values.getJsonArray(p).getDouble(i))
            .isCloseTo(clean[p * 128 + i] + 10.0 * dir[i] / ApiFixtures.INPUT_SCALE, within(1e-3));
      }
    }
    assertThat(r.getJsonArray("interventions").getJsonObject(0).getString("hook")).isEqualTo(RESID1);
  }

  @Test
  void theLogitLensOfTheLastLayerIsTheModelsOwnPrediction() {
    Answer a = api.post("/api/sessions/" + session + "/logit-lens", new JsonObject().put("text", "The vote").put("top", 3));

    assertThat(a.status()).as(a.text()).isEqualTo(200);
    JsonObject lens = a.json();
    JsonArray layers = lens.getJsonArray("layers");
    assertThat(layers).hasSize(4);
    JsonObject last = layers.getJsonObject(3);
    assertThat(last.getString("hook")).isEqualTo("blocks.3.hook_resid_post");
    JsonObject fin = lens.getJsonObject("final");
    for (int p = 0; p < 8; p++) {
      JsonArray mine = last.getJsonArray("top").getJsonArray(p);
      JsonArray model = fin.getJsonArray("top").getJsonArray(p);
      assertThat(mine.getJsonObject(0).getInteger("token")).isEqualTo(model.getJsonObject(0).getInteger("token"));
      assertThat(mine.getJsonObject(0).getDouble("prob")).isCloseTo(model.getJsonObject(0).getDouble("prob"), within(1e-4));
    }
    float[] p0 = probsAt("The vote", 0);
    JsonObject next0 = fin.getJsonArray("next").getJsonObject(0);
    assertThat(next0.getInteger("token")).isEqualTo((int) 'h');
    assertThat(next0.getDouble("prob")).isCloseTo(p0['h'], within(1e-5));
    assertThat(fin.getJsonArray("next").getValue(7)).isNull();
    JsonObject one = api.post("/api/sessions/" + session + "/logit-lens", new JsonObject().put("text", "ab")
        .put("layers", new JsonArray().add(1))).json();
    assertThat(one.getJsonArray("layers")).hasSize(1);
    assertThat(one.getJsonArray("layers").getJsonObject(0).getInteger("layer")).isEqualTo(1);
  }

  @Test
  void badRunRequestsNameTheField() {
    String path = "/api/sessions/" + session + "/run";
    assertError(api.post(path, new JsonObject().put("text", "a").put("hooks", new JsonArray().add("blocks.9.hook_resid_post"))),
        400, "'hooks[0]'", "blocks.9.hook_resid_post");
    assertError(api.post(path, new JsonObject().put("text", "a").put("hooks", new JsonArray().add(new JsonObject()
        .put("hook", MLP0).put("neurons", new JsonArray().add(99999))))), 400, "'hooks[0].neurons[0]'");
    assertError(api.post(path, new JsonObject().put("text", "a").put("tokens", new JsonArray().add(1))), 400, "'text'",
        "'tokens'");
    assertError(api.post(path, new JsonObject().put("tokens", new JsonArray().add(1).add(100000))), 400, "'tokens[1]'");
    assertError(api.post(path, new JsonObject().put("text", "a").put("top", 1000)), 400, "'top'");
    assertError(api.post(path, new JsonObject().put("text", "a").put("hookz", new JsonArray())), 400, "'hookz'");
    assertError(api.post(path, new JsonObject()), 400, "'text'");
    assertError(api.post(path, new JsonObject().put("text", "a").put("interventions", new JsonArray().add(
        new JsonObject().put("hook", MLP0).put("value", 1)))), 400, "'interventions[0].index'");
    assertError(api.post(path, new JsonObject().put("text", "a").put("interventions", new JsonArray().add(
        new JsonObject().put("hook", MLP0).put("index", 2)))), 400, "'interventions[0].value'");
    assertError(api.post(path, new JsonObject().put("text", "a").put("interventions", new JsonArray().add(
        new JsonObject().put("coder", new JsonObject().put("job", ApiFixtures.SAE_JOB)).put("latent", 9999)
            .put("scale", 1)))), 400, "'interventions[0].latent'");
    assertError(api.postRaw(path, "{\"text\": "), 400, "not a JSON object");
  }

  @Test
  void coderReferencesStayInsideTheRunDirectory() {
    String path = "/api/sessions/" + session + "/run";
    JsonObject hook = new JsonObject().put("hook", RESID1);
    assertError(api.post(path, new JsonObject().put("text", "a").put("hooks", new JsonArray().add(hook.copy()
        .put("coder", new JsonObject().put("path", "../../etc"))))), 400, "'hooks[0].coder.path'", "..");
    assertError(api.post(path, new JsonObject().put("text", "a").put("hooks", new JsonArray().add(hook.copy()
        .put("coder", new JsonObject().put("path", "/etc/passwd"))))), 400, "'hooks[0].coder.path'", "absolute");
    assertError(api.post(path, new JsonObject().put("text", "a").put("hooks", new JsonArray().add(hook.copy()
        .put("coder", new JsonObject().put("dir", "/tmp"))))), 400, "'hooks[0].coder.dir'", "unknown key");
    assertError(api.post(path, new JsonObject().put("text", "a").put("hooks", new JsonArray().add(hook.copy()
        .put("coder", new JsonObject().put("job", "no-such-job"))))), 400, "'hooks[0].coder.job'", "no-such-job");
    assertError(api.post(path, new JsonObject().put("text", "a").put("hooks", new JsonArray().add(hook.copy()
        .put("coder", new JsonObject().put("job", "../x"))))), 400, "'hooks[0].coder.job'");
    assertError(api.post(path, new JsonObject().put("text", "a").put("hooks", new JsonArray().add(
        new JsonObject().put("hook", MLP0).put("coder", new JsonObject().put("job", ApiFixtures.SAE_JOB))))),
        400, "'hooks[0].hook'", RESID1);
  }

  @Test
  void anAnswerHoldsAtMostAMillionValues() {
    JsonArray hooks = new JsonArray();
    for (int l = 0; l < 4; l++) {
      hooks.add("blocks." + l + ".attn.hook_pattern");
    }
    hooks.add(RESID1);
    int[] tokens = new int[256];
    JsonArray t = new JsonArray();
    for (int i = 0; i < tokens.length; i++) {
      t.add(97 + i % 26);
    }

    assertError(api.post("/api/sessions/" + session + "/run", new JsonObject().put("tokens", t).put("top", 0)
        .put("hooks", hooks)), 400, "'hooks[4]'", "1048576");
  }

  @Test
  void unknownSessionsAre404AndClosingOneWorksOnce() {
    assertError(api.post("/api/sessions/sess-s99/run", new JsonObject().put("text", "a")), 404, "'sess-s99'");
    assertError(api.post("/api/sessions/sess-s99/logit-lens", new JsonObject().put("text", "a")), 404, "'sess-s99'");
    String other = api.post("/api/sessions", new JsonObject().put("model", "tiny")).json().getString("id");

    Answer closed = api.delete("/api/sessions/" + other);

    assertThat(closed.status()).as(closed.text()).isEqualTo(200);
    assertThat(closed.json().getBoolean("closed")).isTrue();
    assertError(api.delete("/api/sessions/" + other), 404, other);
    assertError(api.post("/api/sessions/" + other + "/run", new JsonObject().put("text", "a")), 404, other);
    assertThat(api.get("/api/sessions").array().stream().map(o -> ((JsonObject) o).getString("id")).toList())
        .contains(session).doesNotContain(other);
    assertError(api.post("/api/sessions", new JsonObject().put("model", "tiny").put("modle", 1)), 400, "'modle'");
  }

  @Test
  void aSessionFeedingAHarvestIsNotClosed() {
    String other = api.post("/api/sessions", new JsonObject().put("model", "tiny")).json().getString("id");
    Answer h = api.post("/api/sessions/" + other + "/harvests", new JsonObject().put("corpus", "europarl")
        .put("hooks", new JsonArray().add(RESID1)).put("tokens", 1000).put("consumers", 1).put("wait_seconds", 30));
    assertThat(h.status()).as(h.text()).isEqualTo(201);

    assertError(api.delete("/api/sessions/" + other), 409, h.json().getString("id"));

    api.delete("/api/harvests/" + h.json().getString("id"));
  }

  @Test
  void modelsListWhatCanBeOpenedAndDescribeOne() {
    JsonObject models = api.get("/api/models").json();
    List<String> refs = models.getJsonArray("models").stream().map(o -> ((JsonObject) o).getString("ref")).toList();
    assertThat(refs).contains("demo", "demo-ft", "tiny", "bge-small-en");
    assertThat(models.getJsonArray("forms").encode()).contains("hf:");
    assertThat(models.getJsonArray("sessions").stream().map(o -> ((JsonObject) o).getString("id")).toList())
        .contains(session);

    JsonObject info = api.get("/api/models/tiny/info").json();
    assertThat(info.getInteger("layers")).isEqualTo(4);
    assertThat(info.getInteger("dModel")).isEqualTo(128);
    assertThat(info.getJsonArray("hooks").stream().map(JsonObject.class::cast)
        .filter(h -> h.getString("name").equals(RESID1)).findFirst().orElseThrow().getInteger("width")).isEqualTo(128);
    JsonObject random = api.get("/api/models/random-gpt2%3A2x64/info").json();
    assertThat(random.getInteger("layers")).isEqualTo(2);
    assertThat(random.getInteger("dModel")).isEqualTo(64);
    assertError(api.get("/api/models/gpt-17/info"), 400, "'gpt-17'");
  }
}
