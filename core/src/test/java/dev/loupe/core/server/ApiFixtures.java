package dev.loupe.core.server;

import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.sparse.SparseActivation;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Files the API tests put into a run directory: a job directory holding an SAE and its dashboards. */
final class ApiFixtures {
  static final String SAE_JOB = "sae-fixture";
  static final String SAE_HOOK = "blocks.1.hook_resid_post";
  static final int D_IN = 128;
  static final int D_SAE = 64;
  static final float INPUT_SCALE = 0.5f;

  private ApiFixtures() {
  }

  /**
   * Writes {@code <runDir>/sae-fixture/}: status.json, metrics.jsonl (3 rows), an SAE for tiny's
   * {@link #SAE_HOOK} (TopK 8, input scale 0.5, SAELens layout) in {@code sae/}, and
   * {@code results/summary.json} and {@code results/features.json} (latent 0 with the token 'e' (101)
   * among its top examples and promoted tokens, latent 1 without logits).
   */
  static Path saeJob(Path runDir) throws IOException {
    Path job = Files.createDirectories(runDir.resolve(SAE_JOB));
    try (NDManager m = NDManager.newBaseManager()) {
      SparseCoder c = SparseCoder.initialize(m, D_IN, D_SAE, new SparseActivation.TopK(8), 1.0, 0.0, 3);
      c.setInputScale(INPUT_SCALE);
      SparseCoderFiles.save(c, job.resolve("sae"), new SparseCoderFiles.CoderInfo("tiny", SAE_HOOK), null);
    }
    Files.writeString(job.resolve("status.json"), new JsonObject().put("jobId", SAE_JOB).put("method", "sae")
        .put("state", "SUCCEEDED").put("created", "2020-01-01T00:00:00Z").encode());
    Files.writeString(job.resolve("metrics.jsonl"), "{\"step\":0,\"time\":1,\"loss\":3.0}\n"
        + "{\"step\":10,\"time\":2,\"loss\":2.0}\n{\"step\":20,\"time\":3,\"loss\":1.0}\n");
    Path results = Files.createDirectories(job.resolve("results"));
    Files.writeString(results.resolve("summary.json"), new JsonObject().put("eval_fve", 0.8).put("eval_l0", 8.0)
        .put("coder_dir", "sae").put("splice", new JsonObject().put("loss_recovered", 0.9).put("kl_divergence", 0.1))
        .encodePrettily());
    JsonArray features = new JsonArray();
    for (int j = 0; j < D_SAE; j++) {
      JsonObject f = new JsonObject().put("latent", j).put("density", 0.01 * (j + 1)).put("mean_activation", 1.0)
          .put("max_activation", 2.0 + j).put("histogram", new JsonObject().put("max", 2.0 + j)
              .put("counts", new JsonArray().add(3).add(1)));
      int token = j == 0 ? 101 : 60 + j;
      f.put("top", new JsonArray().add(new JsonObject().put("activation", 2.0 + j).put("token", token).put("doc", 1)
          .put("position", 5).put("context", new JsonArray().add(72).add(105))
          .put("window", new JsonObject().put("tokens", new JsonArray().add(72).add(105).add(token))
              .put("activations", new JsonArray().add(0.0).add(0.5).add(2.0 + j)).put("focus", 2))));
      if (j != 1) {
        f.put("logits_positive", new JsonArray().add(new JsonObject().put("token", j == 0 ? 101 : 120)
            .put("text", j == 0 ? "e" : "x").put("effect", 0.5)));
        f.put("logits_negative", new JsonArray().add(new JsonObject().put("token", 122).put("text", "z")
            .put("effect", -0.5)));
      }
      features.add(f);
    }
    Files.writeString(results.resolve("features.json"), features.encodePrettily(), StandardCharsets.UTF_8);
    return job;
  }
}
