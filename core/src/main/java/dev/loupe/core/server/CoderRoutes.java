package dev.loupe.core.server;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.core.coder.CoderCatalog;
import dev.loupe.core.coder.FeatureIndex;
import dev.loupe.core.coder.LoadedCoders;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.sparse.LogitEffects;
import dev.loupe.sdk.sparse.SparseCoder;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Optional;

/**
 * {@code /api/coders}: the sparse coders jobs left in the run directory, their settings and
 * summary figures, one latent's dashboard (top examples with per-token activations, histogram,
 * density, top promoted and suppressed tokens) from the job's {@code features.json}, and a search
 * of latents by token. Token ids are decoded with a session of the coder's model on this node,
 * opened when there is none (it then shows in {@code /api/sessions}); {@code ?texts=false} skips
 * that.
 */
final class CoderRoutes {
  /** Summary figures copied into coder listings. */
  private static final List<String> FIGURES = List.of("eval_fve", "eval_mse", "eval_l0", "eval_dead_fraction",
      "eval_dense_fraction", "dead_fraction", "steps", "tokens");
  private static final int LOGIT_EFFECTS = 10;

  private final LoupeNode node;
  private final CoderCatalog catalog;
  private final FeatureIndex.Cache indexes = new FeatureIndex.Cache(8);

  CoderRoutes(LoupeNode node, CoderCatalog catalog) {
    this.node = node;
    this.catalog = catalog;
  }

  void mount(Router r) {
    r.get("/api/coders").handler(ctx -> node.vertx().executeBlocking(() -> {
      JsonArray out = new JsonArray();
      for (CoderCatalog.Entry e : catalog.list()) {
        out.add(describe(e, false));
      }
      return out;
    }, false).onSuccess(a -> Replies.json(ctx, 200, a)).onFailure(ctx::fail));
    r.get("/api/coders/:id").handler(ctx -> node.vertx().executeBlocking(() -> describe(coder(ctx), true), false)
        .onSuccess(o -> Replies.json(ctx, 200, o)).onFailure(ctx::fail));
    r.get("/api/coders/:id/features").handler(this::search);
    r.get("/api/coders/:id/features/:n").handler(this::feature);
  }

  private CoderCatalog.Entry coder(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    return catalog.find("id", id).orElseThrow(() -> ApiException.notFound("no coder '" + id
        + "' in the run directory (GET /api/coders lists them)"));
  }

  private JsonObject describe(CoderCatalog.Entry e, boolean full) throws IOException {
    JsonObject o = new JsonObject().put("id", e.id()).put("job", e.job()).put("name", e.name()).put("kind", e.kind())
        .put("architecture", e.cfg().getValue("architecture")).put("d_in", e.dIn()).put("d_sae", e.dSae())
        .put("d_out", e.dOut()).put("hook", e.hook()).put("hook_out", e.hookOut()).put("model", e.model())
        .put("features", Files.isRegularFile(e.featuresFile()));
    JsonObject summary = readJson(e.summaryFile());
    JsonObject figures = new JsonObject();
    if (summary != null) {
      FIGURES.forEach(k -> {
        if (summary.containsKey(k)) {
          figures.put(k, summary.getValue(k));
        }
      });
      if (summary.getValue("splice") instanceof JsonObject splice && splice.containsKey("loss_recovered")) {
        figures.put("loss_recovered", splice.getValue("loss_recovered"));
        figures.put("kl_divergence", splice.getValue("kl_divergence"));
      }
    }
    o.put("figures", figures);
    if (full) {
      o.put("cfg", e.cfg()).put("summary", summary);
    }
    return o;
  }

  private static JsonObject readJson(java.nio.file.Path f) throws IOException {
    if (!dev.loupe.core.job.SafePaths.isPlainFile(f)) {
      return null;
    }
    try {
      return new JsonObject(Files.readString(f, StandardCharsets.UTF_8));
    } catch (DecodeException ex) {
      return null;
    }
  }

  private FeatureIndex index(CoderCatalog.Entry e) throws IOException {
    if (!dev.loupe.core.job.SafePaths.isPlainFile(e.featuresFile())) {
      throw ApiException.notFound("coder '" + e.id() + "' has no dashboards: its job wrote no results/features.json");
    }
    return indexes.get(e.featuresFile());
  }

  private void feature(RoutingContext ctx) {
    boolean texts = !"false".equals(ctx.queryParams().get("texts"));
    String n = ctx.pathParam("n");
    node.vertx().executeBlocking(() -> {
      CoderCatalog.Entry e = coder(ctx);
      int latent;
      try {
        latent = Integer.parseInt(n);
      } catch (NumberFormatException ex) {
        throw ApiException.badRequest("'n': expected a latent index, got '" + n + "'");
      }
      FeatureIndex idx = index(e);
      if (latent < 0 || latent >= idx.size()) {
        throw ApiException.notFound("'n': latent " + latent + " is outside [0, " + idx.size() + ") of coder " + e.id());
      }
      JsonObject f = idx.entry(latent).put("coder", e.id());
      Optional<LocalModelSession> session = texts ? session(e) : Optional.empty();
      session.ifPresent(s -> decode(f, s));
      if (!f.containsKey("logits_positive") && session.isPresent() && !e.kind().equals("crosscoder")
          && e.hookOut() != null && LogitEffects.applies(session.get().info(), e.hookOut())) {
        logitEffects(f, e, latent, session.get());
      }
      f.put("texts", session.isPresent());
      return f;
    }, false).onSuccess(o -> Replies.json(ctx, 200, o)).onFailure(ctx::fail);
  }

  /** Adds decoded texts next to the token ids of a dashboard entry. */
  private static void decode(JsonObject f, ModelSession s) {
    if (!(f.getValue("top") instanceof JsonArray top)) {
      return;
    }
    for (Object o : top) {
      if (!(o instanceof JsonObject ex)) {
        continue;
      }
      if (ex.getValue("token") instanceof Number t) {
        ex.put("token_text", text(s, t.intValue()));
      }
      if (ex.getValue("context") instanceof JsonArray c) {
        ex.put("context_texts", texts(s, c));
      }
      if (ex.getValue("window") instanceof JsonObject w && w.getValue("tokens") instanceof JsonArray wt) {
        w.put("texts", texts(s, wt));
      }
    }
  }

  private static JsonArray texts(ModelSession s, JsonArray ids) {
    JsonArray out = new JsonArray();
    for (Object id : ids) {
      out.add(id instanceof Number n ? text(s, n.intValue()) : null);
    }
    return out;
  }

  private static String text(ModelSession s, int id) {
    return id >= 0 && id < s.info().vocabSize() ? s.tokenText(id) : null;
  }

  /** The latent's top promoted and suppressed tokens, computed from its decoder row (W_dec W_U). */
  private void logitEffects(JsonObject f, CoderCatalog.Entry e, int latent, ModelSession session) throws IOException {
    try (LoadedCoders.Lease lease = node.services().coders().acquire(e.dir()); NDManager m = NDManager.newBaseManager()) {
      SparseCoder c = lease.coder();
      if (c.sources() > 1 || latent >= c.dSae() || c.dOut() != session.info().dModel()) {
        return;
      }
      NDArray row = c.wDec().get(latent + ":" + (latent + 1));
      row.attach(m);
      NDArray raw = row.div(c.outputScale());
      raw.attach(m);
      LogitEffects.Effects eff = LogitEffects.of(session, raw, LOGIT_EFFECTS).get(0);
      f.put("logits_positive", effects(eff.positive()));
      f.put("logits_negative", effects(eff.negative()));
      f.put("logits_computed", true);
    }
  }

  private static JsonArray effects(List<LogitEffects.TokenEffect> list) {
    JsonArray out = new JsonArray();
    list.forEach(t -> out.add(new JsonObject().put("token", t.tokenId()).put("text", t.token()).put("effect", t.effect())));
    return out;
  }

  private void search(RoutingContext ctx) {
    String token = ctx.queryParams().get("token");
    String q = ctx.queryParams().get("q");
    int limit;
    try {
      limit = (int) JobRoutes.longParam(ctx, "limit", 50, 1, 10_000);
    } catch (IllegalArgumentException ex) {
      Replies.error(ctx, 400, ex.getMessage());
      return;
    }
    if ((token == null) == (q == null) || (token != null && token.isEmpty()) || (q != null && q.isEmpty())) {
      Replies.error(ctx, 400, "'token' or 'q': give one, non-empty (token: a token's exact text such as \" the\"; "
          + "q: text contained in token texts, any case)");
      return;
    }
    boolean texts = !"false".equals(ctx.queryParams().get("texts"));
    node.vertx().executeBlocking(() -> {
      CoderCatalog.Entry e = coder(ctx);
      FeatureIndex idx = index(e);
      Optional<LocalModelSession> session = texts ? session(e) : Optional.empty();
      JsonArray hits = idx.search(token != null ? token : q, token != null ? FeatureIndex.Match.EXACT
          : FeatureIndex.Match.CONTAINS, session.<java.util.function.IntFunction<String>>map(s -> id -> text(s, id))
          .orElse(null), limit);
      return new JsonObject().put("coder", e.id()).put("query", token != null ? token : q)
          .put("match", token != null ? "exact" : "contains").put("top_examples_searched", session.isPresent())
          .put("latents", hits);
    }, false).onSuccess(o -> Replies.json(ctx, 200, o)).onFailure(ctx::fail);
  }

  /** A session of the coder's model on this node, opened when there is none; empty when it cannot be. */
  private Optional<LocalModelSession> session(CoderCatalog.Entry e) {
    String model = e.model();
    if (model == null || model.isBlank()) {
      return Optional.empty();
    }
    try {
      return node.services().session(node.services().sessionFor(model));
    } catch (RuntimeException ex) {
      return Optional.empty(); // the model is not available here: ids without texts
    }
  }
}
