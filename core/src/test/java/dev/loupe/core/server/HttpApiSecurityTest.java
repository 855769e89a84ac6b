package dev.loupe.core.server;

import static dev.loupe.core.server.WebApi.assertError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.server.WebApi.Answer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Access token, Origin and Host checks on HTTP requests and WebSocket handshakes, on a server that
 * binds every address (which requires a token) and on one bound to loopback without a token.
 */
class HttpApiSecurityTest {
  private static final String TOKEN = "test-token-0123456789abcdef";

  @TempDir
  static Path tmp;

  private static LoupeNode node;
  private static WebApi open;
  private static WebApi guarded;

  @BeforeAll
  static void start() {
    node = LoupeNode.start("sec", null, ApiTestMethods.catalog(), tmp.resolve("runs"), 1);
    int loopback = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
    int any = HttpApi.listen(node, new ServerOptions().setHost("0.0.0.0").setPort(0).setToken(TOKEN))
        .toCompletionStage().toCompletableFuture().join().actualPort();
    open = new WebApi(loopback);
    guarded = new WebApi(any);
  }

  @AfterAll
  static void stop() {
    open.close();
    guarded.close();
    node.close();
  }

  @Test
  void withoutTheTokenEveryRequestIs401() {
    Answer a = guarded.get("/api/health");
    assertError(a, 401, "access token");
    assertThat(a.headers().get("WWW-Authenticate")).startsWith("Bearer");
    assertError(guarded.get("/openapi.json"), 401);
    assertError(guarded.post("/api/jobs", new JsonObject().put("method", "ticker")), 401);
    assertError(guarded.get("/api/nothing"), 401);
    assertError(guarded.get("/api/health?token=wrong-token-0123456789"), 401);
    assertError(guarded.get("/api/health", r -> r.bearerTokenAuthentication(TOKEN + "x")), 401);
    assertError(guarded.get("/api/health", r -> r.bearerTokenAuthentication(TOKEN.substring(1))), 401);
    assertThat(node.jobs().jobs()).isEmpty();
  }

  @Test
  void theTokenInTheHeaderOrTheQueryIsAccepted() {
    assertThat(guarded.get("/api/health", r -> r.bearerTokenAuthentication(TOKEN)).status()).isEqualTo(200);
    assertThat(guarded.get("/api/health?token=" + TOKEN).status()).isEqualTo(200);
    assertThat(guarded.get("/openapi.json?token=" + TOKEN).json().getString("openapi")).startsWith("3.");
  }

  @Test
  void aWebSocketHandshakeWithoutTheTokenIs401() throws Exception {
    assertThatThrownBy(() -> guarded.socket("/api/ws", o -> { }))
        .hasRootCauseInstanceOf(UpgradeRejectedException.class)
        .rootCause().satisfies(e -> assertThat(((UpgradeRejectedException) e).getStatus()).isEqualTo(401));
    assertThatThrownBy(() -> guarded.socket("/api/ws?token=nope-nope-nope-nope", o -> { }))
        .rootCause().satisfies(e -> assertThat(((UpgradeRejectedException) e).getStatus()).isEqualTo(401));

    try (WebApi.Socket s = guarded.socket("/api/ws?token=" + TOKEN, o -> { })) {
      s.send(new JsonObject().put("op", "ping").put("id", 1));
      assertThat(s.next().getMap()).containsEntry("type", "pong").containsEntry("id", 1);
    }
    try (WebApi.Socket s = guarded.socket("/api/ws", o -> o.addHeader("Authorization", "Bearer " + TOKEN))) {
      s.send(new JsonObject().put("op", "ping"));
      assertThat(s.next().getString("type")).isEqualTo("pong");
    }
  }

  @Test
  void browserRequestsFromAnotherOriginAre403() throws Exception {
    assertError(open.get("/api/health", r -> r.putHeader("Origin", "http://evil.example")), 403, "evil.example");
    assertError(open.get("/api/health", r -> r.putHeader("Origin", "null")), 403);
    assertError(open.get("/api/health", r -> r.putHeader("Origin", "http://127.0.0.1:1")), 403);
    assertError(guarded.get("/api/health?token=" + TOKEN, r -> r.putHeader("Origin", "http://evil.example")), 403);
    // A page the server itself served: Origin is the host:port the browser asked for.
    assertThat(open.get("/api/health", r -> r.putHeader("Origin", "http://127.0.0.1:" + open.port())).status())
        .isEqualTo(200);
    assertThat(open.get("/api/health", r -> r.putHeader("Host", "localhost:" + open.port())
        .putHeader("Origin", "http://localhost:" + open.port())).status()).isEqualTo(200);

    assertThatThrownBy(() -> open.socket("/api/ws", o -> o.addHeader("Origin", "http://evil.example")))
        .rootCause().satisfies(e -> assertThat(((UpgradeRejectedException) e).getStatus()).isEqualTo(403));
    try (WebApi.Socket s = open.socket("/api/ws", o -> o.addHeader("Origin", "http://127.0.0.1:" + open.port()))) {
      s.send(new JsonObject().put("op", "ping"));
      assertThat(s.next().getString("type")).isEqualTo("pong");
    }
  }

  @Test
  void aLoopbackServerRefusesForeignHostNames() {
    assertError(open.get("/api/health", r -> r.putHeader("Host", "rebound.example:" + open.port())), 403,
        "rebound.example");
    assertThat(open.get("/api/health", r -> r.putHeader("Host", "localhost:" + open.port())).status()).isEqualTo(200);
    // The token protects a server reachable from elsewhere, whatever name it is reached by.
    assertThat(guarded.get("/api/health?token=" + TOKEN, r -> r.putHeader("Host", "my-box.example:" + guarded.port()))
        .status()).isEqualTo(200);
  }

  @Test
  void http2ClientsAreCheckedByTheirAuthority() throws Exception {
    // HTTP/2 has no Host header: the host the client asked for is the :authority pseudo header.
    io.vertx.core.Vertx vertx = open.vertx();
    io.vertx.ext.web.client.WebClient h2 = io.vertx.ext.web.client.WebClient.create(vertx,
        new io.vertx.ext.web.client.WebClientOptions().setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2)
            .setHttp2ClearTextUpgrade(false));
    try {
      var ok = h2.get(open.port(), "127.0.0.1", "/api/health").send().toCompletionStage().toCompletableFuture()
          .get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(ok.version()).isEqualTo(io.vertx.core.http.HttpVersion.HTTP_2);
      assertThat(ok.statusCode()).as(ok.bodyAsString()).isEqualTo(200);
      var rebound = h2.get(open.port(), "127.0.0.1", "/api/health").virtualHost("rebound.example").send().toCompletionStage().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(rebound.statusCode()).as(rebound.bodyAsString()).isEqualTo(403);
      var noToken = h2.get(guarded.port(), "127.0.0.1", "/api/health").send().toCompletionStage().toCompletableFuture()
          .get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(noToken.statusCode()).isEqualTo(401);
    } finally {
      h2.close();
    }
  }

  @Test
  void bindingBeyondLoopbackWithoutATokenIsRefused() {
    assertThatThrownBy(() -> HttpApi.listen(node, new ServerOptions().setHost("0.0.0.0").setPort(0)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token");
    assertThatThrownBy(() -> HttpApi.listen(node, new ServerOptions().setHost("0.0.0.0").setPort(0).setToken("short")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token").hasMessageContaining("16");
  }
}
