package dev.loupe.it.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.cli.LoupeCli;
import dev.loupe.it.cluster.ChildJvm;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe serve} in its own JVM, as a user starts it: bound beyond loopback it makes up an
 * access token and prints it (like Jupyter), or takes {@code server.token} from the settings file;
 * requests without the token are refused.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServeAccessTokenTest {
  @TempDir
  Path home;

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();

  private int status(String url, String bearer) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
    if (bearer != null) {
      b.header("Authorization", "Bearer " + bearer);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private ChildJvm serve(String... extra) throws Exception {
    List<String> args = new java.util.ArrayList<>(List.of("--home", home.toString(), "serve", "--port", "0", "--json"));
    args.addAll(List.of(extra));
    return ChildJvm.start(LoupeCli.class.getName(), args);
  }

  @Test
  void bindingEveryAddressMakesUpATokenPrintsItAndRequiresIt() throws Exception {
    try (ChildJvm serve = serve("--host", "0.0.0.0")) {
      JsonObject ready = new JsonObject(serve.awaitLine("{\"event\":\"ready\"", 60, TimeUnit.SECONDS));
      String token = ready.getString("token");
      assertThat(token).as(serve.log()).matches("[0-9a-f]{48}");
      assertThat(ready.getString("url")).endsWith("/?token=" + token);
      int port = URI.create(ready.getString("http")).getPort();
      String health = "http://127.0.0.1:" + port + "/api/health";

      assertThat(status(health, null)).isEqualTo(401);
      assertThat(status(health, "0".repeat(48))).isEqualTo(401);
      assertThat(status(health, token)).isEqualTo(200);
      assertThat(status(health + "?token=" + token, null)).isEqualTo(200);
    }
  }

  @Test
  void aConfiguredTokenIsRequiredEvenOnLoopback() throws Exception {
    String token = "configured-token-0123456789";
    Files.createDirectories(home.resolve("config"));
    Files.writeString(home.resolve("config/loupe.yaml"), "server:\n  token: " + token + "\n");
    try (ChildJvm serve = serve()) {
      JsonObject ready = new JsonObject(serve.awaitLine("{\"event\":\"ready\"", 60, TimeUnit.SECONDS));
      assertThat(ready.getString("token")).isEqualTo(token);
      String health = ready.getString("http") + "/api/health";

      assertThat(status(health, null)).isEqualTo(401);
      assertThat(status(health, token)).isEqualTo(200);
    }
  }
}
