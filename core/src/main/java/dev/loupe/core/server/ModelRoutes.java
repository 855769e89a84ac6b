package dev.loupe.core.server;

import dev.loupe.core.model.ModelCatalog;
import dev.loupe.core.model.ModelRegistry;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.ModelInfo;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code /api/models}: what can be opened (named references, model directories, the reference
 * forms) and the sessions open here; a model's sizes and hook points.
 */
final class ModelRoutes {
  /** Model infos kept after loading a model only to describe it. */
  private static final int INFO_CACHE = 32;

  private final LoupeNode node;
  private final Path modelsDir;
  private final Map<String, ModelInfo> infos = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, ModelInfo> eldest) {
      return size() > INFO_CACHE;
    }
  };

  ModelRoutes(LoupeNode node, Path modelsDir) {
    this.node = node;
    this.modelsDir = modelsDir;
  }

  void mount(Router r) {
    r.get("/api/models").handler(this::list);
    r.get("/api/models/:ref/info").handler(this::info);
  }

  private void list(RoutingContext ctx) {
    node.vertx().executeBlocking(() -> {
      JsonObject out = new JsonObject();
      JsonArray known = new JsonArray();
      ModelCatalog.known(modelsDir).forEach(m -> known.add(new JsonObject(m)));
      out.put("models", known);
      out.put("forms", new JsonArray(ModelRegistry.withDefaults().forms()));
      out.put("modelsDir", modelsDir == null ? null : modelsDir.toString());
      out.put("sessions", node.services().sessionsJson());
      return out;
    }, false).onSuccess(o -> Replies.json(ctx, 200, o)).onFailure(ctx::fail);
  }

  /**
   * The info of an open session of that model when there is one; otherwise the model is loaded on
   * a worker (as {@code loupe model info} does), described and closed, and the description kept.
   */
  private void info(RoutingContext ctx) {
    String ref = ctx.pathParam("ref");
    node.vertx().executeBlocking(() -> {
      ModelInfo info = openInfo(ref);
      if (info == null) {
        synchronized (infos) {
          info = infos.get(ref);
        }
      }
      if (info == null) {
        try (LocalModelSession s = LocalModelSession.open(ref)) {
          info = s.info();
        }
        synchronized (infos) {
          infos.put(ref, info);
        }
      }
      return new JsonObject(ModelCatalog.document(info));
    }, false).onSuccess(o -> Replies.json(ctx, 200, o)).onFailure(ctx::fail);
  }

  private ModelInfo openInfo(String ref) {
    for (Object o : node.services().sessionsJson()) {
      JsonObject s = (JsonObject) o;
      if (ref.equals(s.getString("model"))) {
        return node.services().session(s.getString("id")).map(LocalModelSession::info).orElse(null);
      }
    }
    return null;
  }
}
