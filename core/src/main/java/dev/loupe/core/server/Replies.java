package dev.loupe.core.server;

import dev.loupe.core.plugin.UnknownMethodException;
import dev.loupe.sdk.config.ConfigException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.file.NoSuchFileException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the API answers: JSON bodies, {@code {"error": ...}} with a 4xx status naming the bad field,
 * and for anything unexpected a 500 whose body says to look at the server log (the stack trace
 * goes there, never to the client).
 */
final class Replies {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);

  private Replies() {
  }

  static void json(RoutingContext ctx, int status, Object body) {
    if (ctx.response().ended()) {
      return;
    }
    String text = body instanceof JsonObject o ? o.encode() : body instanceof JsonArray a ? a.encode()
        : String.valueOf(body);
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(text);
  }

  /** An answer already encoded (by a session's worker), passed on as it is. */
  static void json(RoutingContext ctx, int status, Buffer encoded) {
    if (!ctx.response().ended()) {
      ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(encoded);
    }
  }

  static void error(RoutingContext ctx, int status, String message) {
    json(ctx, status, new JsonObject().put("error", message));
  }

  /**
   * The request body as a JSON object; on a bad body answers 400 and returns null.
   */
  static JsonObject body(RoutingContext ctx) {
    try {
      JsonObject b = ctx.body().asJsonObject();
      if (b == null) {
        error(ctx, 400, "request body must be a JSON object");
      }
      return b;
    } catch (DecodeException | ClassCastException e) {
      error(ctx, 400, "request body is not a JSON object: " + firstLine(e.getMessage()));
      return null;
    }
  }

  /** The status and message a failure is answered with; logs unexpected ones with their stack trace. */
  static Failure classify(Throwable t, int statusHint, String what, String sessionId) {
    if (t instanceof ApiException a) {
      return new Failure(a.status(), a.getMessage());
    }
    if (t instanceof ConfigException || t instanceof IllegalArgumentException || t instanceof UnknownMethodException) {
      return new Failure(400, t.getMessage());
    }
    if (t instanceof NoSuchFileException n) {
      return new Failure(404, "not found: " + n.getFile());
    }
    if (t instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.NO_HANDLERS) {
        return new Failure(404, sessionId == null ? "no session with that id on any node"
            : "no session '" + sessionId + "' on any node");
      }
      if (re.failureType() == ReplyFailure.TIMEOUT) {
        return new Failure(504, "the session's node did not answer in time");
      }
      int code = re.failureCode() >= 400 && re.failureCode() < 600 ? re.failureCode() : 500;
      return new Failure(code, re.getMessage());
    }
    if (statusHint == 413) {
      return new Failure(413, "request body too large");
    }
    if (t == null) {
      return new Failure(statusHint >= 400 ? statusHint : 500,
          statusHint == 404 ? "not found" : statusHint == 405 ? "method not allowed" : "request failed");
    }
    LOG.error("{} failed", what, t);
    return new Failure(500, "internal error (" + t.getClass().getSimpleName() + "); see the server log");
  }

  /** A classified failure. */
  record Failure(int status, String message) {
  }

  /** The router's failure handler: every failure becomes a JSON error. */
  static void failure(RoutingContext ctx, long maxBody) {
    int hint = ctx.statusCode();
    Failure f = classify(ctx.failure(), hint, "request " + ctx.request().method() + " " + ctx.request().path(),
        sessionParam(ctx));
    String msg = f.status() == 413 ? "request body larger than " + maxBody + " bytes" : f.message();
    error(ctx, f.status(), msg);
  }

  private static String sessionParam(RoutingContext ctx) {
    return ctx.request().path() != null && ctx.request().path().startsWith("/api/sessions/") ? ctx.pathParam("id") : null;
  }

  static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
