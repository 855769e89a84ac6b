package dev.loupe.core.server;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The OpenAPI 3.0 description of the API, served at {@code /openapi.json}. Written by hand next to
 * the routes; {@code OpenApiRoutesTest} checks that its paths and methods are exactly the router's,
 * both ways, so neither can change without the other.
 */
final class OpenApi {
  private static final JsonObject DOCUMENT = build();

  private OpenApi() {
  }

  static JsonObject document() {
    return DOCUMENT.copy();
  }

  private static JsonObject build() {
    JsonObject paths = new JsonObject();
    // ---- node ----
    path(paths, "/api/health", "get", op("Node health", "Node id, whether clustered, open sessions and WebSockets, "
        + "and the server's memory (heap and resident set).", null, null, ok("Health")), "node");
    path(paths, "/openapi.json", "get", op("This document", "The OpenAPI 3.0 description of every route.", null, null,
        okAny("An OpenAPI document")), "node");
    // ---- models ----
    path(paths, "/api/models", "get", op("Models that can be opened",
        "Named references (shipped demo models, tiny, shipped encoders), model directories under the Loupe home's "
            + "models/, the reference forms the registry resolves, and the sessions open on this node.",
        null, null, ok("ModelList")), "models");
    path(paths, "/api/models/{ref}/info", "get", op("A model's sizes and hook points",
        "As `loupe model info --json`: architecture, layers, d_model, heads, vocabulary, context, and every hook "
            + "point with the width of its last axis (-1: key position). Taken from an open session of that model, "
            + "otherwise the model is loaded on a worker, described and closed. URL-encode the reference "
            + "(hf%3AORG%2FNAME, a directory path).",
        params(pathParam("ref", "a model reference: demo, tiny, hf:ORG/NAME, a directory")), null,
        ok("ModelInfo").put("400", err("unknown or unloadable model reference"))), "models");
    // ---- sessions ----
    path(paths, "/api/sessions", "get", op("Sessions on this node", null, null, null,
        okArray("Session")), "sessions");
    path(paths, "/api/sessions", "post", op("Open a session", "Loads the model on this node (blocking a worker, "
            + "not the event loop) and serves it on a worker verticle that runs one forward pass at a time.",
        null, body(new JsonObject().put("type", "object").put("required", arr("model")).put("additionalProperties", false)
            .put("properties", new JsonObject().put("model", str("a model reference (GET /api/models)")))),
        responses(201, "Session", "the session").put("400", err("missing 'model' or unknown reference"))), "sessions");
    path(paths, "/api/sessions/{id}", "delete", op("Close a session", "Frees the model; refused (409) while a "
            + "harvest reads the session.", params(idParam("session")), null,
        responses(200, "Closed", "closed").put("404", err("no such session on this node"))
            .put("409", err("a harvest reads the session"))), "sessions");
    path(paths, "/api/sessions/{id}/run", "post", op("Run a prompt",
        "One forward pass (queued behind the session's other work): the tokens, the top next tokens at every "
            + "position (softmax probabilities), and the activations at the requested hooks: whole, selected "
            + "neurons of the last axis, or a sparse coder's latents per token (top latents and chosen ones). "
            + "Interventions set a neuron at a hook, or add a coder latent's decoder direction (steering). An "
            + "answer holds at most 1,048,576 activation values.",
        params(idParam("session")), body(ref("RunRequest")), ok("RunAnswer")
            .put("404", err("no such session on any node")).put("504", err("the session did not answer in time"))),
        "sessions");
    path(paths, "/api/sessions/{id}/logit-lens", "post", op("Logit lens",
        "Every layer's hook_resid_post (or those in `layers`) decoded with the final norm and the unembedding: top "
            + "tokens per position, and the probability and rank of the actual next token; `final` is the model's "
            + "own output. Causal models only (400 for encoders).",
        params(idParam("session")), body(ref("LensRequest")), ok("LensAnswer")
            .put("404", err("no such session on any node"))), "sessions");
    path(paths, "/api/sessions/{id}/harvests", "post", op("Harvest activations into streams",
        "Runs the session over a corpus and streams the activations of each hook to `consumers` readers "
            + "(jobs with a `stream` input). The session may be on another node.",
        params(idParam("session")), body(ref("HarvestRequest")), responses(201, "Harvest", "the harvest and its streams")
            .put("404", err("no such session on any node"))), "sessions");
    path(paths, "/api/harvests/{id}", "get", op("Harvest state", null, params(idParam("harvest")), null,
        ok("Harvest").put("404", err("no such harvest on this node"))), "sessions");
    path(paths, "/api/harvests/{id}", "delete", op("Stop a harvest", "Its streams fail with 'cancelled'.",
        params(idParam("harvest")), null, responses(202, "Harvest", "stopping").put("404", err("no such harvest"))),
        "sessions");
    // ---- methods and jobs ----
    path(paths, "/api/methods", "get", op("Analysis methods", "Every method of the loaded plugins with its inputs, "
        + "its options and the options as a JSON Schema (`schema`) for forms.", null, null, okArray("Method")), "jobs");
    path(paths, "/api/jobs", "get", op("Jobs", "This node's jobs (`live`: true) and the other job directories of "
        + "its run directory (status.json), newest first.", null, null, okArray("JobStatus")), "jobs");
    path(paths, "/api/jobs", "post", op("Start a job", "Validates the config against the method's schema and "
            + "resolves the inputs before anything starts; errors name the field.", null, body(ref("JobRequest")),
        responses(201, "JobStatus", "started").put("409", err("a job with that id is still active"))), "jobs");
    path(paths, "/api/jobs/{id}", "get", op("A job's status", null, params(idParam("job")), null,
        ok("JobStatus").put("404", err("no such job"))), "jobs");
    path(paths, "/api/jobs/{id}", "delete", op("Cancel a job", null, params(idParam("job")), null,
        responses(202, "JobStatus", "cancelling").put("404", err("no such job"))
            .put("409", err("the job is not running"))), "jobs");
    path(paths, "/api/jobs/{id}/resume", "post", op("Resume a job",
        "Starts an ended job again under its id from its config.json (method, config, recorded input specs); a "
            + "method that checkpoints (sae, transcoder, crosscoder) continues from its last checkpoint "
            + "(`from_checkpoint`), appending to metrics.jsonl.",
        params(idParam("job")), null, responses(201, "JobStatus", "started again")
            .put("404", err("no such job")).put("409", err("still running, or nothing to resume from"))), "jobs");
    path(paths, "/api/jobs/{id}/events", "get", op("Job events (server-sent events)",
        "text/event-stream of `status`, `progress` and `metrics` events until the job ends. Progress and metrics events are "
            + "skipped while the client is slow (memory stays bounded). The WebSocket (/api/ws) also replays stored metrics.",
        params(idParam("job")), null, new JsonObject().put("200", new JsonObject().put("description", "event stream")
            .put("content", new JsonObject().put("text/event-stream", new JsonObject().put("schema", str(null))))
        ).put("404", err("no such job"))), "jobs");
    path(paths, "/api/jobs/{id}/metrics", "get", op("Metrics rows",
        "metrics.jsonl as a JSON array: rows `since` (a row index) on, at most `limit`. A line still being "
            + "written is left out; the next request's `since` is since + the number of rows returned.",
        params(idParam("job"), queryParam("since", "integer", "first row index (default 0)"),
            queryParam("limit", "integer", "at most this many rows (default and maximum 100000)")),
        null, okArray("MetricsRow").put("404", err("no such job"))), "jobs");
    path(paths, "/api/jobs/{id}/artifacts", "get", op("A job's files",
        "Every regular file under the job directory (config.json, status.json, metrics.jsonl, results/, "
            + "checkpoints/, the coder directory, report.md, plots), at most 10000.",
        params(idParam("job")), null, okArray("Artifact").put("404", err("no such job"))), "jobs");
    path(paths, "/api/jobs/{id}/artifacts/{path}", "get", op("Download a job file",
        "`path` is relative to the job directory and may hold '/'. Absolute paths, '..' segments and links "
            + "leading outside the job directory are refused (400). Served with nosniff and a sandboxing CSP.",
        params(idParam("job"), pathParam("path", "a file path relative to the job directory")), null,
        new JsonObject().put("200", new JsonObject().put("description", "the file")
            .put("content", new JsonObject().put("application/octet-stream", new JsonObject()
                .put("schema", new JsonObject().put("type", "string").put("format", "binary")))))
            .put("400", err("a path outside the job directory")).put("404", err("no such job or file"))), "jobs");
    path(paths, "/api/jobs/{id}/results", "get", op("A job's results",
        "The results it published (results/NAME.json): name, size, time. Probe and neuron-family results are "
            + "served here too.", params(idParam("job")), null, okArray("ResultEntry").put("404", err("no such job"))),
        "jobs");
    path(paths, "/api/jobs/{id}/results/{name}", "get", op("One result",
        "results/NAME.json as the job wrote it.", params(idParam("job"), pathParam("name", "a result name")), null,
        okAny("the result").put("400", err("not a result name")).put("404", err("no such job or result"))), "jobs");
    // ---- coders ----
    path(paths, "/api/coders", "get", op("Sparse coders", "Every SAE, transcoder and crosscoder that a job left "
        + "in the run directory (JOB/NAME/cfg.json + sae_weights.safetensors), with summary figures.", null, null,
        okArray("Coder")), "coders");
    path(paths, "/api/coders/{id}", "get", op("One coder", "cfg.json, sizes, hooks and the job's summary.",
        params(idParam("coder (JOB:NAME, or JOB when the job has one)")), null,
        ok("Coder").put("404", err("no such coder"))), "coders");
    path(paths, "/api/coders/{id}/features", "get", op("Search latents by token",
        "Latents whose top promoted tokens (logits_positive) or top activating tokens include the token: "
            + "`token` matches a token's exact text, `q` any token text containing it (any case). Best first.",
        params(idParam("coder"), queryParam("token", "string", "a token's exact text, e.g. ' the'"),
            queryParam("q", "string", "text contained in token texts"),
            queryParam("limit", "integer", "at most this many latents (default 50)"),
            queryParam("texts", "boolean", "false: do not open a session of the coder's model to decode ids")),
        null, ok("FeatureSearch").put("404", err("no such coder, or no features.json"))), "coders");
    path(paths, "/api/coders/{id}/features/{n}", "get", op("One latent's dashboard",
        "From the job's features.json: density, mean and max activation, histogram, top examples (with the "
            + "window of tokens around each and the latent's activation on each), top promoted and suppressed "
            + "tokens (computed from W_dec W_U when the file lacks them). Token ids come with texts decoded by "
            + "a session of the coder's model on this node (opened if needed; `texts=false` skips).",
        params(idParam("coder"), pathParam("n", "latent index"),
            queryParam("texts", "boolean", "false: ids only")), null,
        ok("Feature").put("404", err("no such coder or latent"))), "coders");
    // ---- WebSocket ----
    path(paths, "/api/ws", "get", op("WebSocket: live jobs and interactive sessions",
        "Upgrade to a WebSocket; one JSON object per text frame (docs/API.md). Client: "
            + "{op: subscribe, job, since} (stored metrics rows from `since`, stored results, then live metrics, "
            + "progress, results and status), {op: subscribe, job: \"*\"} (every job's status), "
            + "{op: unsubscribe, job}, {op: run, session, ...POST run body}, {op: lens, session, ...}, {op: ping}; "
            + "each may carry an `id` echoed in its answer. Server: subscribed, metrics {from, rows}, progress, "
            + "status, result {name, bytes, url, result?}, reset, run, lens, pong, error {status, error}. A slow "
            + "client gets only the latest progress and status, metrics are re-read from the file when it "
            + "catches up, and at most a few run/lens commands may wait per connection (429 beyond).",
        null, null, new JsonObject().put("101", new JsonObject().put("description", "switching to the WebSocket protocol"))
            .put("400", err("not a WebSocket upgrade"))), "websocket");

    return new JsonObject()
        .put("openapi", "3.0.3")
        .put("info", new JsonObject().put("title", "Loupe API").put("version", "1")
            .put("description", "The HTTP and WebSocket API of a Loupe node (`loupe serve`): models, sessions "
                + "(prompt runs with activations and interventions, logit lens), analysis methods and jobs "
                + "(metrics, artifacts, results), sparse-coder dashboards, and a WebSocket for live job progress "
                + "and interactive runs. Errors are {\"error\": message} with a 4xx status naming the bad field. "
                + "When the server requires an access token (any non-loopback bind), every request carries "
                + "`Authorization: Bearer TOKEN` or `?token=TOKEN` (401 otherwise); browser requests whose Origin "
                + "is not the server's own are refused with 403."))
        .put("servers", arr(new JsonObject().put("url", "/")))
        .put("security", arr(new JsonObject(), new JsonObject().put("bearer", new JsonArray()),
            new JsonObject().put("tokenQuery", new JsonArray())))
        .put("tags", arr(tag("node"), tag("models"), tag("sessions"), tag("jobs"), tag("coders"), tag("websocket")))
        .put("paths", paths)
        .put("components", new JsonObject().put("schemas", schemas()).put("securitySchemes", new JsonObject()
            .put("bearer", new JsonObject().put("type", "http").put("scheme", "bearer")
                .put("description", "the access token loupe serve prints (or server.token / --token)"))
            .put("tokenQuery", new JsonObject().put("type", "apiKey").put("in", "query").put("name", "token"))));
  }

  private static JsonObject schemas() {
    JsonObject s = new JsonObject();
    s.put("Error", obj(props("error", str("what is wrong, naming the field")), "error"));
    s.put("Health", obj(props("status", str(null), "node", str(null), "clustered", bool(), "sessions", integer(),
        "websockets", integer(), "websocketHoldBacks", integer().put("description", "times a WebSocket client's "
            + "write queue was found full and frames were held back or coalesced for it"), "memory", obj(props("heapUsedBytes", integer(), "heapMaxBytes", integer(),
            "rssBytes", integer())))));
    s.put("ModelList", obj(props(
        "models", array(obj(props("ref", str("what to open"), "kind", enumOf("shipped", "random", "encoder", "directory"),
            "available", bool(), "modelType", str("for directories")))),
        "forms", array(str("a reference form the registry resolves")),
        "modelsDir", str(null), "sessions", array(ref("Session")))));
    s.put("ModelInfo", obj(props("id", str(null), "architecture", str(null), "causal", bool(), "layers", integer(),
        "dModel", integer(), "heads", integer(), "dHead", integer(), "dMlp", integer(), "vocab", integer(),
        "context", integer(), "parameters", integer(),
        "hooks", array(obj(props("name", str(null), "width", integer())))), "id", "layers", "dModel", "hooks"));
    s.put("Session", obj(props("id", str(null), "model", str(null), "node", str(null), "info", new JsonObject()
        .put("type", "object").put("description", "nLayers, dModel, hookNames, hookWidths, ..."))));
    s.put("Closed", obj(props("id", str(null), "closed", bool())));
    JsonObject coderRef = new JsonObject().put("description", "a coder: \"JOB:NAME\", {job, name?}, {id} or "
        + "{path: \"JOB/NAME\"} relative to the run directory").put("oneOf", arr(str(null),
        obj(props("job", str(null), "name", str(null), "id", str(null), "path", str(null)))));
    s.put("CoderRef", coderRef);
    JsonObject textOrTokens = props("text", str("the prompt (or tokens)"),
        "tokens", array(integer()).put("description", "token ids (or text)"));
    s.put("RunRequest", obj(textOrTokens.copy()
        .put("top", integer().put("minimum", 0).put("maximum", 100).put("default", 10)
            .put("description", "top next tokens per position"))
        .put("hooks", array(new JsonObject().put("oneOf", arr(str("a hook name: the whole activation"),
            obj(props("hook", str(null), "neurons", array(integer()).put("description", "indexes of the last axis"),
                "coder", ref("CoderRef"), "top", integer().put("description", "top latents per token (default 10)"),
                "latents", array(integer()).put("description", "latents whose values per token are returned")),
                "hook")))))
        .put("interventions", array(new JsonObject().put("oneOf", arr(
            obj(props("hook", str(null), "index", integer(), "value", num(),
                "positions", array(integer()).put("description", "default: every position")), "hook", "index", "value"),
            obj(props("coder", ref("CoderRef"), "latent", integer(), "scale", num().put("description",
                    "added latent activation: scale x the latent's decoder vector (raw units)"),
                "hook", str("default: the hook the coder writes"), "positions", array(integer())),
                "coder", "latent", "scale")))))));
    JsonObject tokenList = array(obj(props("id", integer(), "text", str(null))));
    JsonObject topList = array(array(obj(props("token", integer(), "text", str(null), "prob", num()))));
    s.put("RunAnswer", obj(props("session", str(null), "model", str(null), "causal", bool(), "tokens", tokenList,
        "top", topList.copy().put("description", "per position, the most likely next tokens (null for encoders)"),
        "activations", array(obj(props("hook", str(null), "shape", array(integer()),
            "values", new JsonObject().put("type", "array").put("description", "nested by shape (no batch axis)"),
            "neurons", array(integer()), "coder", str(null), "d_sae", integer(),
            "top", array(array(obj(props("latent", integer(), "value", num())))),
            "latents", array(integer()), "l0", array(integer())))),
        "interventions", array(new JsonObject().put("type", "object")))));
    s.put("LensRequest", obj(textOrTokens.copy()
        .put("top", integer().put("minimum", 1).put("maximum", 100).put("default", 5))
        .put("layers", array(integer()).put("description", "default: every layer"))));
    JsonObject lensLayer = obj(props("layer", integer(), "hook", str(null), "top", topList,
        "next", array(obj(props("token", integer(), "prob", num(), "rank", integer())))
            .put("description", "the actual next token at each position (null at the last)")));
    s.put("LensAnswer", obj(props("session", str(null), "model", str(null), "tokens", tokenList,
        "layers", array(lensLayer), "final", lensLayer)));
    s.put("HarvestRequest", obj(props("corpus", str("a corpus reference, e.g. europarl:fr"), "hooks", array(str(null)),
        "tokens", integer(), "ctx", integer(), "batch_rows", integer(), "sequences_per_pass", integer(),
        "consumers", integer(), "wait_seconds", integer()), "corpus", "hooks"));
    s.put("Harvest", obj(props("id", str(null), "session", str(null), "state", str(null), "tokens_done", integer(),
        "message", str(null), "streams", new JsonObject().put("type", "object").put("additionalProperties", str(
            "stream id per hook")), "request", ref("HarvestRequest"))));
    s.put("Method", obj(props("id", str(null), "description", str(null), "plugin", str(null), "version", str(null),
        "inputs", array(str(null)), "options", array(obj(props("name", str(null), "type", str(null), "default",
            new JsonObject(), "min", num(), "max", num(), "choices", array(str(null)), "description", str(null),
            "required", bool()))),
        "schema", new JsonObject().put("type", "object").put("description", "the options as a JSON Schema"))));
    s.put("JobRequest", obj(props("method", str("a method id (GET /api/methods)"), "config", new JsonObject()
            .put("type", "object"), "inputs", new JsonObject().put("type", "object").put("description",
            "input name -> {synthetic | file | store | stream | model: {...}}"), "id", str("job id (default: generated)")),
        "method"));
    s.put("JobStatus", obj(props("jobId", str(null), "method", str(null), "plugin", str(null),
        "state", enumOf("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"), "message", str(null),
        "created", str(null), "started", str(null), "finished", str(null),
        "progress", obj(props("jobId", str(null), "done", integer(), "total", integer(), "unit", str(null),
            "time", integer())),
        "artifactDir", str(null), "live", bool().put("description", "run by this server (else read from disk)"),
        "from_checkpoint", bool().put("description", "resume only"))));
    s.put("MetricsRow", new JsonObject().put("type", "object").put("description", "{step, time, name: number...}")
        .put("nullable", true));
    s.put("Artifact", obj(props("path", str(null), "bytes", integer(), "modified", str(null))));
    s.put("ResultEntry", obj(props("name", str(null), "bytes", integer(), "modified", str(null))));
    s.put("Coder", obj(props("id", str("JOB:NAME"), "job", str(null), "name", str(null),
        "kind", enumOf("sae", "transcoder", "crosscoder"), "architecture", str(null), "d_in", integer(),
        "d_sae", integer(), "d_out", integer(), "hook", str(null), "hook_out", str(null), "model", str(null),
        "features", bool(), "figures", new JsonObject().put("type", "object"),
        "cfg", new JsonObject().put("type", "object"), "summary", new JsonObject().put("type", "object"))));
    s.put("Feature", new JsonObject().put("type", "object").put("description", "one entry of features.json "
        + "(latent, density, mean_activation, max_activation, histogram, top [{activation, token, token_text, doc, "
        + "position, context, context_texts, window {tokens, texts, activations, focus}}], logits_positive, "
        + "logits_negative) plus coder and texts"));
    s.put("FeatureSearch", obj(props("coder", str(null), "query", str(null), "match", enumOf("exact", "contains"),
        "top_examples_searched", bool(), "latents", array(obj(props("latent", integer(), "score", num(),
            "density", num(), "max_activation", num(), "logits_positive_ranks", array(integer()),
            "logits_negative_ranks", array(integer()), "top_examples_matching", integer(),
            "top_examples", integer()))))));
    return s;
  }

  // ---- small builders ----

  private static void path(JsonObject paths, String path, String method, JsonObject op, String tag) {
    JsonObject p = paths.getJsonObject(path);
    if (p == null) {
      p = new JsonObject();
      paths.put(path, p);
    }
    op.put("tags", arr(tag)).put("operationId", method + path.replaceAll("[^A-Za-z0-9]+", "_"));
    p.put(method, op);
  }

  private static JsonObject op(String summary, String description, JsonArray params, JsonObject body,
      JsonObject responses) {
    JsonObject o = new JsonObject().put("summary", summary);
    if (description != null) {
      o.put("description", description);
    }
    if (params != null) {
      o.put("parameters", params);
    }
    if (body != null) {
      o.put("requestBody", body);
    }
    responses.put("401", err("an access token is required and was missing or wrong"));
    responses.put("403", err("a browser request from another site's page (Origin), or a foreign Host"));
    if (!responses.containsKey("500")) {
      responses.put("500", err("a server error (details in the server log, never here)"));
    }
    return o.put("responses", responses);
  }

  private static JsonObject tag(String name) {
    return new JsonObject().put("name", name);
  }

  private static JsonArray params(JsonObject... ps) {
    return arr((Object[]) ps);
  }

  private static JsonObject pathParam(String name, String description) {
    return new JsonObject().put("name", name).put("in", "path").put("required", true).put("description", description)
        .put("schema", str(null));
  }

  private static JsonObject idParam(String what) {
    return pathParam("id", what + " id");
  }

  private static JsonObject queryParam(String name, String type, String description) {
    return new JsonObject().put("name", name).put("in", "query").put("required", false)
        .put("description", description).put("schema", new JsonObject().put("type", type));
  }

  private static JsonObject body(JsonObject schema) {
    return new JsonObject().put("required", true).put("content", new JsonObject().put("application/json",
        new JsonObject().put("schema", schema)));
  }

  private static JsonObject ok(String schema) {
    return responses(200, schema, "OK");
  }

  private static JsonObject okArray(String schema) {
    return new JsonObject().put("200", new JsonObject().put("description", "OK").put("content",
        new JsonObject().put("application/json", new JsonObject().put("schema", array(ref(schema))))))
        .put("400", err("a bad parameter, named"));
  }

  private static JsonObject okAny(String description) {
    return new JsonObject().put("200", new JsonObject().put("description", description).put("content",
        new JsonObject().put("application/json", new JsonObject().put("schema", new JsonObject()))));
  }

  private static JsonObject responses(int status, String schema, String description) {
    return new JsonObject().put(String.valueOf(status), new JsonObject().put("description", description)
            .put("content", new JsonObject().put("application/json", new JsonObject().put("schema", ref(schema)))))
        .put("400", err("a bad request, naming the field"));
  }

  private static JsonObject err(String description) {
    return new JsonObject().put("description", description).put("content", new JsonObject().put("application/json",
        new JsonObject().put("schema", ref("Error"))));
  }

  private static JsonObject ref(String schema) {
    return new JsonObject().put("$ref", "#/components/schemas/" + schema);
  }

  private static JsonObject obj(JsonObject properties, String... required) {
    JsonObject o = new JsonObject().put("type", "object").put("properties", properties);
    if (required.length > 0) {
      o.put("required", arr((Object[]) required));
    }
    return o;
  }

  private static JsonObject props(Object... kv) {
    JsonObject o = new JsonObject();
    for (int i = 0; i < kv.length; i += 2) {
      o.put((String) kv[i], kv[i + 1]);
    }
    return o;
  }

  private static JsonObject str(String description) {
    JsonObject o = new JsonObject().put("type", "string");
    return description == null ? o : o.put("description", description);
  }

  private static JsonObject integer() {
    return new JsonObject().put("type", "integer");
  }

  private static JsonObject num() {
    return new JsonObject().put("type", "number");
  }

  private static JsonObject bool() {
    return new JsonObject().put("type", "boolean");
  }

  private static JsonObject array(JsonObject items) {
    return new JsonObject().put("type", "array").put("items", items);
  }

  private static JsonObject enumOf(String... values) {
    return new JsonObject().put("type", "string").put("enum", arr((Object[]) values));
  }

  private static JsonArray arr(Object... values) {
    JsonArray a = new JsonArray();
    for (Object v : values) {
      a.add(v);
    }
    return a;
  }
}
