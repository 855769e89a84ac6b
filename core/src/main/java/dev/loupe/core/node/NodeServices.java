package dev.loupe.core.node;

import dev.loupe.core.coder.LoadedCoders;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.core.session.SessionVerticle;
import dev.loupe.core.stream.ActivationBatchCodec;
import dev.loupe.sdk.config.ConfigException;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The model-side services of one node: its Vert.x instance, the model sessions it hosts (each a
 * worker verticle) and the harvests that stream their activations. Reachable over the event bus
 * (see {@link NodeAddresses}), so another cluster node can open sessions and start harvests here.
 */
public final class NodeServices implements AutoCloseable {
  private record Hosted(String id, String model, LocalModelSession session, String deploymentId,
      MessageConsumer<JsonObject> harvestConsumer) {}

  private final Vertx vertx;
  private final String nodeId;
  private final HarvestService harvests;
  private final Map<String, Hosted> sessions = new LinkedHashMap<>();
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private final AtomicInteger counter = new AtomicInteger();
  /** Sparse coders loaded for interactive queries, shared by this node's sessions. */
  private final LoadedCoders coders = new LoadedCoders(4);

  /**
   * @param nodeId this node's id, used in session, harvest and stream ids (letters, digits, '-')
   */
  public NodeServices(Vertx vertx, String nodeId) {
    if (!nodeId.matches("[A-Za-z0-9][A-Za-z0-9-]{0,62}")) {
      throw new ConfigException("node_id", "'" + nodeId + "' must be letters, digits and '-' (at most 63)");
    }
    this.vertx = vertx;
    this.nodeId = nodeId;
    ActivationBatchCodec.registerOn(vertx);
    this.harvests = new HarvestService(vertx, nodeId);
    consumers.add(vertx.eventBus().<JsonObject>consumer(NodeAddresses.openSession(nodeId), this::handleOpen));
    consumers.add(vertx.eventBus().<JsonObject>consumer(NodeAddresses.sessions(nodeId),
        m -> m.reply(sessionsJson())));
  }

  public Vertx vertx() { return vertx; }
  public String nodeId() { return nodeId; }
  public HarvestService harvests() { return harvests; }
  /** The sparse coders this node's sessions have loaded for queries. */
  public LoadedCoders coders() { return coders; }

  /**
   * Opens a model session here (loading the model) and deploys its verticle; blocks until ready.
   * A model already open on this node is opened again as a separate session.
   *
   * @return the new session's id ({@code NODE-sN})
   * @throws IllegalArgumentException naming the model reference when it cannot be resolved
   */
  public String open(String modelRef) {
    LocalModelSession session = LocalModelSession.open(modelRef);
    String id = nodeId + "-s" + counter.incrementAndGet();
    try {
      String deployment = vertx.deployVerticle(new SessionVerticle(id, session, false, coders),
              new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER))
          .toCompletionStage().toCompletableFuture().join();
      MessageConsumer<JsonObject> hc = vertx.eventBus().consumer(NodeAddresses.harvest(id), m -> handleHarvest(id, m));
      hc.completion().toCompletionStage().toCompletableFuture().join();
      synchronized (sessions) {
        sessions.put(id, new Hosted(id, modelRef, session, deployment, hc));
      }
      return id;
    } catch (RuntimeException e) {
      session.close();
      throw e;
    }
  }

  /** The session hosted here under {@code id}. */
  public Optional<LocalModelSession> session(String id) {
    synchronized (sessions) {
      Hosted h = sessions.get(id);
      return h == null ? Optional.empty() : Optional.of(h.session());
    }
  }

  /** An open session of {@code modelRef} on this node, opening one when there is none. */
  public String sessionFor(String modelRef) {
    synchronized (sessions) {
      for (Hosted h : sessions.values()) {
        if (h.model().equals(modelRef)) {
          return h.id();
        }
      }
    }
    return open(modelRef);
  }

  /** Closes a session hosted here; false when there is none of that id. */
  public boolean close(String id) {
    Hosted h;
    synchronized (sessions) {
      h = sessions.remove(id);
    }
    if (h == null) {
      return false;
    }
    h.harvestConsumer().unregister();
    vertx.undeploy(h.deploymentId()).toCompletionStage().toCompletableFuture().join();
    h.session().close();
    return true;
  }

  /** Starts a harvest on a session hosted here. */
  public Harvest harvest(String sessionId, HarvestRequest request) {
    LocalModelSession s = session(sessionId).orElseThrow(() ->
        new IllegalArgumentException("no session '" + sessionId + "' on node " + nodeId));
    return harvests.start(sessionId, s, request);
  }

  public JsonArray sessionsJson() {
    JsonArray out = new JsonArray();
    synchronized (sessions) {
      for (Hosted h : sessions.values()) {
        out.add(new JsonObject().put("id", h.id()).put("model", h.model()).put("node", nodeId)
            .put("info", SessionVerticle.infoJson(h.session().info())));
      }
    }
    return out;
  }

  private void handleOpen(Message<JsonObject> m) {
    String model = m.body() == null ? null : m.body().getString("model");
    vertx.<String>executeBlocking(() -> open(model), false).onComplete(ar -> {
      if (ar.succeeded()) {
        m.reply(new JsonObject().put("id", ar.result()).put("node", nodeId).put("model", model)
            .put("info", SessionVerticle.infoJson(session(ar.result()).orElseThrow().info())));
      } else {
        m.fail(ar.cause() instanceof IllegalArgumentException ? 400 : 500, ar.cause().getMessage());
      }
    });
  }

  private void handleHarvest(String sessionId, Message<JsonObject> m) {
    try {
      HarvestRequest req = HarvestRequest.fromJson(m.body() == null ? new JsonObject() : m.body());
      vertx.<Harvest>executeBlocking(() -> harvest(sessionId, req), false).onComplete(ar -> {
        if (ar.succeeded()) {
          m.reply(ar.result().toJson());
        } else {
          m.fail(ar.cause() instanceof IllegalArgumentException ? 400 : 500, ar.cause().getMessage());
        }
      });
    } catch (IllegalArgumentException e) {
      m.fail(400, e.getMessage());
    }
  }

  @Override
  public void close() {
    harvests.close();
    List<String> ids;
    synchronized (sessions) {
      ids = new ArrayList<>(sessions.keySet());
    }
    for (String id : ids) {
      try {
        close(id);
      } catch (RuntimeException e) {
        // Closing the rest matters more than one session's undeploy error at shutdown.
      }
    }
    consumers.forEach(MessageConsumer::unregister);
    coders.close();
  }
}
