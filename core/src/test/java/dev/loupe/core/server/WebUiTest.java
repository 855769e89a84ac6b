package dev.loupe.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.node.NodeTestMethods;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The web UI's files next to the API: served at / with a same-origin Content-Security-Policy,
 * every file the pages load present, public even when the API needs an access token, and the API
 * paths untouched. (The pages themselves run in a real browser in core/it's WebUiBrowserTest.)
 */
class WebUiTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";

  @TempDir
  static Path tmp;

  private static LoupeNode node;
  private static String base;
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() {
    node = LoupeNode.start("ui", null, NodeTestMethods.catalog(), tmp.resolve("runs"), 1);
    int port = HttpApi.listen(node, new ServerOptions().setHost("127.0.0.1").setPort(0).setToken(TOKEN))
        .toCompletionStage().toCompletableFuture().join().actualPort();
    base = "http://127.0.0.1:" + port;
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theRootIsThePageWithASameOriginPolicy() throws Exception {
    HttpResponse<String> r = get("/", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
    assertThat(r.body()).contains("<main id=\"app\">").contains("js/app.js");
    String csp = r.headers().firstValue("Content-Security-Policy").orElseThrow();
    assertThat(csp).contains("default-src 'self'").contains("script-src 'self'").contains("connect-src 'self'")
        .doesNotContain("http");
  }

  @Test
  void everyModuleThePagesImportIsServedWithoutAToken() throws Exception {
    // follow the imports from app.js: a missing module would break the whole UI
    java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(java.util.List.of("/js/app.js"));
    java.util.Set<String> seen = new java.util.HashSet<>();
    Pattern imports = Pattern.compile("from '(\\.{1,2}/[^']+)'");
    while (!todo.isEmpty()) {
      String path = todo.poll();
      if (!seen.add(path)) {
        continue;
      }
      HttpResponse<String> r = get(path, null);
      assertThat(r.statusCode()).as(path).isEqualTo(200);
      assertThat(r.headers().firstValue("Content-Type")).as(path)
          .hasValueSatisfying(t -> assertThat(t).contains("javascript"));
      Matcher m = imports.matcher(r.body());
      while (m.find()) {
        todo.add(URI.create(base + path).resolve(m.group(1)).getPath());
      }
    }
    assertThat(seen).contains("/js/api.js", "/js/charts.js", "/js/pages/session.js", "/js/pages/feature.js",
        "/js/pages/diff.js");
    assertThat(get("/css/loupe.css", null).statusCode()).isEqualTo(200);
    assertThat(get("/favicon.svg", null).statusCode()).isEqualTo(200);
  }

  @Test
  void theApiStillNeedsTheTokenAndAnswersJson() throws Exception {
    assertThat(get("/api/health", null).statusCode()).isEqualTo(401);
    assertThat(get("/api/health", TOKEN).statusCode()).isEqualTo(200);
    HttpResponse<String> missing = get("/no-such-page.html", TOKEN);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.body()).startsWith("{\"error\"");
    // a path under /api never reaches the UI's files, even one that names a UI file
    assertThat(get("/api/index.html", TOKEN).statusCode()).isEqualTo(404);
  }
}
