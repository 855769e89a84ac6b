package dev.loupe.core.server;

import static dev.loupe.core.server.WebApi.assertError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.sparse.LogitEffects;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sparse coders found in the run directory, their dashboards and a search of latents by token. */
class HttpApiCodersTest {
  private static final String ID = ApiFixtures.SAE_JOB + ":sae";

  @TempDir
  static Path tmp;

  private static LoupeNode node;
  private static WebApi api;

  @BeforeAll
  static void start() throws Exception {
    Path runs = tmp.resolve("runs");
    ApiFixtures.saeJob(runs);
    node = LoupeNode.start("coders", null, ApiTestMethods.catalog(), runs, 1);
    int port = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
    api = new WebApi(port);
  }

  @AfterAll
  static void stop() {
    api.close();
    node.close();
  }

  @Test
  void codersAreListedWithTheirSizesHooksAndFigures() {
    JsonArray coders = api.get("/api/coders").array();

    assertThat(coders).hasSize(1);
    JsonObject c = coders.getJsonObject(0);
    assertThat(c.getMap()).containsEntry("id", ID).containsEntry("job", ApiFixtures.SAE_JOB).containsEntry("kind", "sae")
        .containsEntry("d_in", 128).containsEntry("d_sae", ApiFixtures.D_SAE).containsEntry("hook", ApiFixtures.SAE_HOOK)
        .containsEntry("model", "tiny").containsEntry("features", true);
    assertThat(c.getJsonObject("figures").getMap()).containsEntry("eval_fve", 0.8).containsEntry("loss_recovered", 0.9);
    JsonObject one = api.get("/api/coders/" + ApiFixtures.SAE_JOB).json();
    assertThat(one.getString("id")).isEqualTo(ID);
    assertThat(one.getJsonObject("cfg").getString("architecture")).isEqualTo("topk");
    assertThat(one.getJsonObject("summary").getString("coder_dir")).isEqualTo("sae");
    assertError(api.get("/api/coders/nobody"), 404, "'nobody'");
    assertError(api.get("/api/coders/" + ApiFixtures.SAE_JOB + ":..%2F..%2Fx"), 400, "'id'");
  }

  @Test
  void aLatentsDashboardComesWithDecodedTokens() {
    JsonObject f = api.get("/api/coders/" + ID + "/features/0").json();

    assertThat(f.getInteger("latent")).isZero();
    assertThat(f.getBoolean("texts")).isTrue();
    JsonObject ex = f.getJsonArray("top").getJsonObject(0);
    assertThat(ex.getString("token_text")).isEqualTo("e");
    assertThat(ex.getJsonObject("window").getJsonArray("texts").getList()).containsExactly("H", "i", "e");
    assertThat(ex.getJsonObject("window").getJsonArray("activations").getDouble(2)).isEqualTo(2.0);
    assertThat(f.getJsonArray("logits_positive").getJsonObject(0).getString("text")).isEqualTo("e");
    assertThat(f.getJsonObject("histogram").getJsonArray("counts").getList()).containsExactly(3, 1);

    JsonObject bare = api.get("/api/coders/" + ID + "/features/0?texts=false").json();
    assertThat(bare.getJsonArray("top").getJsonObject(0).containsKey("token_text")).isFalse();
    assertError(api.get("/api/coders/" + ID + "/features/" + ApiFixtures.D_SAE), 404, "'n'");
    assertError(api.get("/api/coders/" + ID + "/features/x"), 400, "'n'");
  }

  @Test
  void missingLogitEffectsAreComputedFromTheDecoder() throws Exception {
    JsonObject f = api.get("/api/coders/" + ID + "/features/1").json();

    assertThat(f.getBoolean("logits_computed")).isTrue();
    JsonArray pos = f.getJsonArray("logits_positive");
    assertThat(pos).hasSize(10);
    LocalModelSession s = node.services().session(node.services().sessionFor("tiny")).orElseThrow();
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoder c = SparseCoderFiles.load(m, tmp.resolve("runs").resolve(ApiFixtures.SAE_JOB).resolve("sae")).coder();
      NDArray dir = c.wDec().get("1:2").div(c.outputScale());
      LogitEffects.Effects want = LogitEffects.of(s, dir, 10).get(0);
      assertThat(pos.getJsonObject(0).getInteger("token")).isEqualTo(want.positive().get(0).tokenId());
      assertThat(pos.getJsonObject(0).getDouble("effect")).isCloseTo(want.positive().get(0).effect(), within(1e-4));
      assertThat(f.getJsonArray("logits_negative").getJsonObject(0).getInteger("token"))
          .isEqualTo(want.negative().get(0).tokenId());
    }
  }

  @Test
  void latentsAreFoundByToken() {
    JsonObject exact = api.get("/api/coders/" + ID + "/features?token=e").json();

    JsonArray hits = exact.getJsonArray("latents");
    assertThat(hits.getJsonObject(0).getInteger("latent")).isZero();
    assertThat(hits.getJsonObject(0).getJsonArray("logits_positive_ranks").getList()).containsExactly(1);
    assertThat(hits.getJsonObject(0).getInteger("top_examples_matching")).isEqualTo(1);
    assertThat(exact.getBoolean("top_examples_searched")).isTrue();
    // 'x' is every other latent's top promoted token; 'z' every latent's most suppressed one.
    JsonArray xs = api.get("/api/coders/" + ID + "/features?token=x&limit=1000").json().getJsonArray("latents");
    assertThat(xs).hasSize(ApiFixtures.D_SAE - 2);
    JsonArray contains = api.get("/api/coders/" + ID + "/features?q=E&limit=5").json().getJsonArray("latents");
    assertThat(contains.getJsonObject(0).getInteger("latent")).isZero();
    assertThat(contains.size()).isLessThanOrEqualTo(5);
    assertError(api.get("/api/coders/" + ID + "/features"), 400, "'token'", "'q'");
    assertError(api.get("/api/coders/" + ID + "/features?token=e&q=e"), 400, "'token'");
    assertError(api.get("/api/coders/" + ID + "/features?token=e&limit=0"), 400, "'limit'");
  }
}
