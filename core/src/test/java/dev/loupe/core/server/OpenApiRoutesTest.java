package dev.loupe.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.node.LoupeNode;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * /openapi.json describes exactly the routes the server has: every (method, path) of the router is
 * in the served document and every operation of the document is a route; and every operation,
 * called with real ids and with unknown ones, answers a status the document lists for it, with a
 * body of the documented shape (no undocumented fields).
 */
class OpenApiRoutesTest {
  @TempDir
  static Path tmp;

  private static LoupeNode node;
  private static HttpApi api;
  private static WebApi client;
  private static String session;

  @BeforeAll
  static void start() throws Exception {
    node = LoupeNode.start("oas", null, ApiTestMethods.catalog(), tmp.resolve("runs"), 1);
    api = HttpApi.create(node, new ServerOptions().setPort(0));
    int port = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
    client = new WebApi(port);
    session = node.services().open("tiny");
    client.post("/api/jobs", new JsonObject().put("id", "t1").put("method", "ticker")
        .put("config", new JsonObject().put("rows", 3)));
    node.jobs().job("t1").orElseThrow().completion().get(60, java.util.concurrent.TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    client.close();
    node.close();
  }

  /** "GET /api/jobs/{id}" for each method of each route that serves an endpoint. */
  private static Set<String> routerOperations() {
    Set<String> out = new TreeSet<>();
    for (Route r : api.router().getRoutes()) {
      Set<HttpMethod> methods = r.methods();
      if (methods == null || methods.isEmpty() || r.getPath() == null) {
        continue; // the security, body and not-found handlers serve every path
      }
      String path = r.getPath().replaceAll(":([A-Za-z0-9_]+)", "{$1}");
      if (path.contains("*")) {
        throw new AssertionError("unexpected route form " + r.getPath());
      }
      // A route registered as ".../artifacts/*" keeps the prefix as its path and matches the rest.
      if (path.endsWith("/artifacts/")) {
        path = path + "{path}";
      }
      for (HttpMethod m : methods) {
        out.add(m.name() + " " + path);
      }
    }
    return out;
  }

  private static Set<String> documentOperations(JsonObject doc) {
    Set<String> out = new TreeSet<>();
    JsonObject paths = doc.getJsonObject("paths");
    for (String p : paths.fieldNames()) {
      for (String m : paths.getJsonObject(p).fieldNames()) {
        out.add(m.toUpperCase(Locale.ROOT) + " " + p);
      }
    }
    return out;
  }

  /** The document as the server serves it. */
  private static JsonObject served() {
    WebApi.Answer a = client.get("/openapi.json");
    assertThat(a.status()).isEqualTo(200);
    return a.json();
  }

  @Test
  void everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() {
    Set<String> routes = routerOperations();
    Set<String> documented = documentOperations(served());

    assertThat(routes).as("routes missing from /openapi.json").isSubsetOf(documented);
    assertThat(documented).as("documented operations that are not routes").isSubsetOf(routes);
    assertThat(routes).contains("GET /api/ws", "POST /api/sessions/{id}/run", "GET /api/jobs/{id}/artifacts/{path}",
        "GET /openapi.json");
  }

  @Test
  void everyOperationDocumentsItsPathParametersAndErrors() {
    JsonObject paths = served().getJsonObject("paths");
    for (String p : paths.fieldNames()) {
      for (String m : paths.getJsonObject(p).fieldNames()) {
        JsonObject op = paths.getJsonObject(p).getJsonObject(m);
        java.util.regex.Matcher params = java.util.regex.Pattern.compile("\\{([^}]+)}").matcher(p);
        while (params.find()) {
          String name = params.group(1);
          assertThat(op.getJsonArray("parameters").stream().map(JsonObject.class::cast)
              .anyMatch(x -> x.getString("name").equals(name) && x.getString("in").equals("path")))
              .as("%s %s documents path parameter %s", m, p, name).isTrue();
        }
        assertThat(op.getJsonObject("responses").fieldNames()).as("%s %s", m, p).contains("401", "403", "500");
        assertThat(op.getString("summary")).isNotBlank();
      }
    }
    // every $ref points at a schema that exists
    String text = OpenApi.document().encode();
    java.util.regex.Matcher refs = java.util.regex.Pattern.compile("#/components/schemas/([A-Za-z]+)").matcher(text);
    JsonObject schemas = OpenApi.document().getJsonObject("components").getJsonObject("schemas");
    while (refs.find()) {
      assertThat(schemas.containsKey(refs.group(1))).as("schema %s", refs.group(1)).isTrue();
    }
  }

  /** Real values of path parameters, by path, for calls that should succeed; others get unknown ids. */
  private static String realPath(String path, String method) {
    if (method.equals("delete")) {
      return null; // closing the session or cancelling would change what other calls see
    }
    if (path.startsWith("/api/sessions/{id}")) {
      return path.replace("{id}", session);
    }
    if (path.startsWith("/api/models/{ref}")) {
      return path.replace("{ref}", "tiny");
    }
    if (path.startsWith("/api/jobs/{id}")) {
      return path.replace("{id}", "t1").replace("{name}", "summary").replace("{path}", "config.json");
    }
    return path.contains("{") ? null : path;
  }

  /** A body that the operation accepts, when it has one. */
  private static JsonObject realBody(String path) {
    return switch (path) {
      case "/api/sessions" -> new JsonObject().put("model", "tiny");
      case "/api/sessions/{id}/run" -> new JsonObject().put("text", "Hi").put("top", 2)
          .put("hooks", new io.vertx.core.json.JsonArray().add("blocks.0.hook_resid_post"));
      case "/api/sessions/{id}/logit-lens" -> new JsonObject().put("text", "Hi");
      case "/api/jobs" -> new JsonObject().put("method", "ticker").put("config", new JsonObject().put("rows", 2));
      default -> new JsonObject();
    };
  }

  private static WebApi.Answer call(String method, String uri, JsonObject body) {
    return switch (method) {
      case "get" -> client.get(uri);
      case "delete" -> client.delete(uri);
      case "post" -> client.post(uri, body);
      default -> throw new AssertionError("no client call for " + method);
    };
  }

  @Test
  void everyOperationAnswersADocumentedStatusWithTheDocumentedShape() {
    JsonObject doc = served();
    JsonObject schemas = doc.getJsonObject("components").getJsonObject("schemas");
    JsonObject paths = doc.getJsonObject("paths");
    List<String> problems = new ArrayList<>();
    int successes = 0;
    for (String p : paths.fieldNames()) {
      for (String m : paths.getJsonObject(p).fieldNames()) {
        JsonObject op = paths.getJsonObject(p).getJsonObject(m);
        boolean hasBody = op.containsKey("requestBody");
        List<String[]> calls = new ArrayList<>();
        // Unknown ids and an empty body: a 4xx the document lists.
        calls.add(new String[] {p.replaceAll("\\{([^}]+)}", "no-such-$1"), "{}"});
        String real = realPath(p, m);
        if (real != null && !real.equals(calls.get(0)[0]) || hasBody && real != null) {
          calls.add(new String[] {real, realBody(p).encode()});
        }
        for (String[] c : calls) {
          String what = m.toUpperCase(Locale.ROOT) + " " + c[0];
          WebApi.Answer a = call(m, c[0], hasBody ? new JsonObject(c[1]) : null);
          JsonObject response = op.getJsonObject("responses").getJsonObject(String.valueOf(a.status()));
          if (response == null) {
            problems.add(what + ": status " + a.status() + " is not documented (" + op.getJsonObject("responses")
                .fieldNames() + "): " + a.text());
            continue;
          }
          if (a.status() < 300) {
            successes++;
          }
          JsonObject content = response.getJsonObject("content");
          if (content == null) {
            continue;
          }
          String type = a.headers().get("Content-Type");
          if (content.containsKey("application/json")) {
            if (type == null || !type.startsWith("application/json")) {
              problems.add(what + ": documented JSON, served " + type);
              continue;
            }
            JsonObject schema = content.getJsonObject("application/json").getJsonObject("schema");
            SchemaCheck.check(io.vertx.core.json.Json.decodeValue(a.body()), schema, schemas, what, problems);
          }
        }
      }
    }
    assertThat(problems).isEmpty();
    assertThat(successes).as("operations answered 2xx with real ids").isGreaterThanOrEqualTo(12);
  }
}
