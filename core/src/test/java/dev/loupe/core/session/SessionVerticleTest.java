package dev.loupe.core.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SessionVerticleTest {
  private LocalModelSession session;

  @BeforeAll
  void open() {
    session = LocalModelSession.open("random-gpt2:2x64");
  }

  @AfterAll
  void close() {
    session.close();
  }

  @BeforeEach
  void deploy(Vertx vertx, VertxTestContext ctx) {
    vertx.deployVerticle(new SessionVerticle("s1", session, false),
        new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void infoRepliesWithTheModelShapeAndHooks(Vertx vertx, VertxTestContext ctx) {
    vertx.eventBus().<JsonObject>request(SessionAddresses.info("s1"), null).onComplete(ctx.succeeding(m -> ctx.verify(() -> {
      JsonObject info = m.body();
      assertThat(info.getString("id")).isEqualTo("random-gpt2:2x64");
      assertThat(info.getInteger("nLayers")).isEqualTo(2);
      assertThat(info.getJsonArray("hookNames").getList()).contains("blocks.1.hook_resid_post");
      assertThat(info.getJsonObject("hookWidths").getInteger("blocks.0.mlp.hook_post")).isEqualTo(256);
      ctx.completeNow();
    })));
  }

  @Test
  void runRepliesWithTokensTopKAndActivationsAtEveryPosition(Vertx vertx, VertxTestContext ctx) {
    JsonObject req = new JsonObject().put("text", "Hi!").put("topK", 5)
        .put("hooks", new JsonArray().add("blocks.0.hook_resid_post").add("blocks.0.attn.hook_attn_scores"));
    vertx.eventBus().<JsonObject>request(SessionAddresses.run("s1"), req).onComplete(ctx.succeeding(m -> ctx.verify(() -> {
      JsonObject r = m.body();
      assertThat(r.getJsonArray("tokens").getList()).containsExactly(72, 105, 33);
      assertThat(r.getJsonArray("tokenTexts").getList()).containsExactly("H", "i", "!");
      JsonArray top = r.getJsonArray("topK");
      assertThat(top).hasSize(5);
      double p0 = top.getJsonObject(0).getDouble("prob");
      double p4 = top.getJsonObject(4).getDouble("prob");
      assertThat(p0).isGreaterThanOrEqualTo(p4).isLessThanOrEqualTo(1.0);
      JsonArray resid = r.getJsonObject("activations").getJsonArray("blocks.0.hook_resid_post");
      assertThat(resid).hasSize(3);
      assertThat(resid.getJsonArray(2)).hasSize(64);
      JsonArray scores = r.getJsonObject("activations").getJsonArray("blocks.0.attn.hook_attn_scores");
      assertThat(scores.getJsonArray(0).getJsonArray(0).getValue(1)).as("masked score is null").isNull();
      assertThat(scores.getJsonArray(0).getJsonArray(1).getValue(1)).isNotNull();
      ctx.completeNow();
    })));
  }

  @Test
  void anUnknownHookFailsWith400NamingIt(Vertx vertx, VertxTestContext ctx) {
    JsonObject req = new JsonObject().put("tokens", new JsonArray().add(1).add(2))
        .put("hooks", new JsonArray().add("blocks.4.hook_resid_post"));
    vertx.eventBus().request(SessionAddresses.run("s1"), req).onComplete(ctx.failing(e -> ctx.verify(() -> {
      assertThat(e).isInstanceOf(ReplyException.class);
      assertThat(((ReplyException) e).failureCode()).isEqualTo(400);
      assertThat(e.getMessage()).contains("blocks.4.hook_resid_post").contains("loupe model info");
      ctx.completeNow();
    })));
  }

  @Test
  void aRequestWithoutTextOrTokensFailsWith400(Vertx vertx, VertxTestContext ctx) {
    vertx.eventBus().request(SessionAddresses.run("s1"), new JsonObject().put("txt", "typo"))
        .onComplete(ctx.failing(e -> ctx.verify(() -> {
          assertThat(((ReplyException) e).failureCode()).isEqualTo(400);
          assertThat(e.getMessage()).contains("needs 'text'");
          ctx.completeNow();
        })));
  }
}
