package dev.loupe.core.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.stream.Stream;

/** A blocking client of the HTTP API for tests; every answer is checked to carry no Java stack trace. */
final class ApiClient {
  /** One answer: status and body text. */
  record Answer(int status, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }

    String error() {
      return json().getString("error");
    }
  }

  /** One server-sent event. */
  record Event(String name, JsonObject data) {}

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;

  ApiClient(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  Answer get(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  Answer delete(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).DELETE());
  }

  Answer post(String path, Object json) {
    return postRaw(path, json instanceof JsonObject o ? o.encode() : json.toString());
  }

  Answer postRaw(String path, String body) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private Answer send(HttpRequest.Builder req) {
    try {
      HttpResponse<String> r = http.send(req.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
      assertNoStackTrace(r.body());
      return new Answer(r.statusCode(), r.body());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void assertNoStackTrace(String body) {
    assertThat(body).doesNotContain("at dev.loupe").doesNotContain("\tat ").doesNotContainPattern("Exception:");
  }

  /**
   * Opens the server-sent events of {@code path}; the iterator blocks for the next event and ends
   * when the server ends the response. Close the stream when done.
   */
  EventStream events(String path) throws IOException, InterruptedException {
    HttpResponse<Stream<String>> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(),
        HttpResponse.BodyHandlers.ofLines());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("text/event-stream");
    return new EventStream(r.body());
  }

  /** Server-sent events parsed from lines ({@code event:}, {@code data:}, blank line). */
  static final class EventStream implements Iterator<Event>, AutoCloseable {
    private final Stream<String> lines;
    private final Iterator<String> it;
    private Event next;

    EventStream(Stream<String> lines) {
      this.lines = lines;
      this.it = lines.iterator();
    }

    @Override
    public boolean hasNext() {
      if (next != null) {
        return true;
      }
      String name = null;
      String data = null;
      while (it.hasNext()) {
        String line = it.next();
        assertNoStackTrace(line);
        if (line.startsWith("event: ")) {
          name = line.substring(7);
        } else if (line.startsWith("data: ")) {
          data = line.substring(6);
        } else if (line.isEmpty() && name != null) {
          next = new Event(name, new JsonObject(data));
          return true;
        }
      }
      return false;
    }

    @Override
    public Event next() {
      if (!hasNext()) {
        throw new NoSuchElementException("the event stream has ended");
      }
      Event e = next;
      next = null;
      return e;
    }

    @Override
    public void close() {
      lines.close();
    }
  }
}
