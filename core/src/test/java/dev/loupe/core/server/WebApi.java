package dev.loupe.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The API as a test sees it, through the Vert.x WebClient and WebSocket client: blocking calls
 * that return status, headers and body; every body is checked to carry no Java stack trace.
 */
final class WebApi implements AutoCloseable {
  /** One answer. */
  record Answer(int status, MultiMap headers, Buffer body) {
    JsonObject json() {
      return body.toJsonObject();
    }

    JsonArray array() {
      return body.toJsonArray();
    }

    String error() {
      return json().getString("error");
    }

    String text() {
      return body.toString();
    }
  }

  private final Vertx vertx = Vertx.vertx();
  private final WebClient client;
  private final int port;
  private String token;

  WebApi(int port) {
    this.port = port;
    this.client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port)
        .setKeepAlive(true));
  }

  int port() {
    return port;
  }

  /** Sends {@code Authorization: Bearer token} from now on (null: nothing). */
  WebApi token(String t) {
    this.token = t;
    return this;
  }

  Vertx vertx() {
    return vertx;
  }

  Answer get(String uri) {
    return send(client.request(HttpMethod.GET, uri), null, r -> { });
  }

  Answer get(String uri, Consumer<HttpRequest<Buffer>> customize) {
    return send(client.request(HttpMethod.GET, uri), null, customize);
  }

  Answer delete(String uri) {
    return send(client.request(HttpMethod.DELETE, uri), null, r -> { });
  }

  Answer post(String uri, Object json) {
    Buffer b = json instanceof JsonObject o ? o.toBuffer() : json instanceof JsonArray a ? a.toBuffer()
        : Buffer.buffer(String.valueOf(json));
    return send(client.request(HttpMethod.POST, uri).putHeader("Content-Type", "application/json"), b, r -> { });
  }

  Answer postRaw(String uri, String body) {
    return send(client.request(HttpMethod.POST, uri).putHeader("Content-Type", "application/json"), Buffer.buffer(body),
        r -> { });
  }

  private Answer send(HttpRequest<Buffer> req, Buffer body, Consumer<HttpRequest<Buffer>> customize) {
    if (token != null) {
      req.bearerTokenAuthentication(token);
    }
    customize.accept(req);
    try {
      HttpResponse<Buffer> r = (body == null ? req.send() : req.sendBuffer(body)).toCompletionStage()
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      Buffer b = r.body() == null ? Buffer.buffer() : r.body();
      ApiClient.assertNoStackTrace(b.toString());
      return new Answer(r.statusCode(), r.headers(), b);
    } catch (Exception e) {
      throw new AssertionError("request failed: " + e, e);
    }
  }

  /** A WebSocket to /api/ws whose text frames arrive in a queue. */
  Socket socket(String uri, Consumer<WebSocketConnectOptions> customize) {
    WebSocketClient ws = vertx.createWebSocketClient();
    WebSocketConnectOptions o = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI(uri);
    customize.accept(o);
    try {
      WebSocket s = ws.connect(o).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      return new Socket(ws, s);
    } catch (Exception e) {
      throw new AssertionError("WebSocket connect failed: " + e, e);
    }
  }

  Socket socket() {
    return socket("/api/ws", o -> { });
  }

  /** One WebSocket connection; frames are JSON objects. */
  static final class Socket implements AutoCloseable {
    private final WebSocketClient client;
    private final WebSocket ws;
    private final BlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();

    Socket(WebSocketClient client, WebSocket ws) {
      this.client = client;
      this.ws = ws;
      ws.textMessageHandler(t -> {
        ApiClient.assertNoStackTrace(t);
        frames.add(new JsonObject(t));
      });
    }

    WebSocket raw() {
      return ws;
    }

    void send(JsonObject msg) {
      ws.writeTextMessage(msg.encode());
    }

    /** The next frame, waiting up to 30 s. */
    JsonObject next() throws InterruptedException {
      JsonObject f = frames.poll(30, TimeUnit.SECONDS);
      if (f == null) {
        throw new AssertionError("no WebSocket frame within 30 s");
      }
      return f;
    }

    /** The next frame of {@code type}, skipping others (which are returned to nobody). */
    JsonObject next(String type) throws InterruptedException {
      while (true) {
        JsonObject f = next();
        if (type.equals(f.getString("type"))) {
          return f;
        }
      }
    }

    /** A frame if one arrives within {@code millis}, else null. */
    JsonObject poll(long millis) throws InterruptedException {
      return frames.poll(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
      try {
        ws.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // already closed by the server
      }
      client.close();
    }
  }

  @Override
  public void close() {
    client.close();
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }

  static void assertError(Answer a, int status, String... fragments) {
    assertThat(a.status()).as(a.text()).isEqualTo(status);
    assertThat(a.headers().get("Content-Type")).startsWith("application/json");
    String e = a.error();
    assertThat(e).as(a.text()).isNotBlank();
    for (String f : fragments) {
      assertThat(e).contains(f);
    }
  }
}
