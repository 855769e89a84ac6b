package dev.loupe.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.core.job.JobHandle;
import dev.loupe.core.job.JobState;
import dev.loupe.core.job.JobStatus;
import dev.loupe.core.store.ActivationStore;
import dev.loupe.core.store.StoreOptions;
import dev.loupe.core.store.StoreWriter;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.config.ConfigException;
import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jobs on a node reading {@code file}, {@code store} and {@code model} inputs, and bad input specs. */
class NodeInputResolversTest {
  private static final String HOOK = HookPoint.residPost(2);

  @TempDir
  static Path tmp;

  private static LoupeNode node;
  private static String corpus;

  @BeforeAll
  static void start() throws Exception {
    node = LoupeNode.start("in", null, NodeTestMethods.catalog(), tmp.resolve("runs"), 2);
    corpus = NodeTestMethods.corpus(tmp, 10).toString();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static JsonObject runToResult(String jobId, Map<String, Object> input) throws Exception {
    JobHandle job = node.startJob("rows", Map.of(), Map.of("main", input), jobId);
    JobStatus end = job.completion().get(30, TimeUnit.SECONDS);
    assertThat(end.state()).as(end.message()).isEqualTo(JobState.SUCCEEDED);
    return new JsonObject(Files.readString(job.artifactDir().resolve("results/rows.json")));
  }

  private static Map<String, Object> model(Map<String, Object> overrides) {
    Map<String, Object> m = new LinkedHashMap<>(Map.of("model", "tiny", "corpus", corpus, "hook", HOOK, "tokens", 1000,
        "ctx", 64, "batch_rows", 128));
    m.putAll(overrides);
    return Map.of("model", m);
  }

  private static void refused(Map<String, Object> input, String field, String text) {
    assertThatThrownBy(() -> node.startJob("rows", Map.of(), Map.of("main", input), null))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.field()).isEqualTo(field))
        .hasMessageContaining(text);
  }

  @Test
  void aSafetensorsFileInputFeedsEveryRow() throws Exception {
    float[] values = new float[300 * 8];
    double sum = 0;
    for (int i = 0; i < values.length; i++) {
      values[i] = (i % 17) * 0.25f;
      sum += values[i];
    }
    Path file = tmp.resolve("acts.safetensors");
    Safetensors.write(file, Map.of("values", TensorData.f32(values, 300, 8)), Map.of());

    JsonObject r = runToResult("file-1", Map.of("file", Map.of("path", file.toString(), "batch_rows", 64)));

    assertThat(r.getLong("rows")).isEqualTo(300);
    assertThat(r.getLong("batches")).isEqualTo(5);
    assertThat(r.getDouble("sum")).isCloseTo(sum, within(1e-6));
  }

  @Test
  void aStoreInputFeedsEveryRow() throws Exception {
    Path dir = tmp.resolve("store");
    try (StoreWriter w = ActivationStore.create(dir, "tiny", HOOK, 4, StoreOptions.defaults())) {
      for (int b = 0; b < 3; b++) {
        float[] v = new float[100 * 4];
        java.util.Arrays.fill(v, b + 1);
        w.accept(ActivationBatch.ofValues("tiny", HOOK, b, 100, 4, v));
      }
    }

    JsonObject r = runToResult("store-1", Map.of("store", Map.of("path", dir.toString())));

    assertThat(r.getLong("rows")).isEqualTo(300);
    assertThat(r.getDouble("sum")).isCloseTo(400.0 * (1 + 2 + 3), within(1e-6));
    assertThat(r.getString("hook")).isEqualTo(HOOK);
  }

  @Test
  void aModelInputHarvestsExactlyTheTokensAskedFor() throws Exception {
    JsonObject r = runToResult("model-1", model(Map.of()));

    assertThat(r.getLong("rows")).isEqualTo(1000);
    assertThat(r.getBoolean("in_order")).isTrue();
    assertThat(r.getString("hook")).isEqualTo(HOOK);
    assertThat(r.getString("model")).as("the job gets the model session with its input").isEqualTo("tiny");
  }

  @Test
  void aRefusedJobStopsTheHarvestItsModelInputStarted() throws Exception {
    // The input resolves (a harvest starts), then the job is refused: 'other' is not an input of 'rows'.
    assertThatThrownBy(() -> node.startJob("rows", Map.of(), Map.of("other", model(Map.of("tokens", 50_000_000))), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("given [other]");

    Harvest h = newestHarvest();
    assertThat(h.request().tokens()).isEqualTo(50_000_000);
    assertThat(h.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(Harvest.State.CANCELLED);
  }

  @Test
  void cancellingAModelInputJobStopsItsHarvest() throws Exception {
    JobHandle job = node.startJob("stall", Map.of(), Map.of("main", model(Map.of("tokens", 50_000_000))), "stall-1");
    Harvest h = newestHarvest();
    // Cancel it once running: cancelling in the instant a worker picks a job up lets its method run on (JobRun race).
    NodeTestMethods.Stall.hasRead("stall-1").get(10, TimeUnit.SECONDS);

    job.cancel();

    assertThat(job.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(JobState.CANCELLED);
    assertThat(h.completion().get(10, TimeUnit.SECONDS).state()).isEqualTo(Harvest.State.CANCELLED);
  }

  private static Harvest newestHarvest() {
    return node.services().harvests().harvests().stream()
        .max(Comparator.comparingInt(x -> Integer.parseInt(x.id().substring(x.id().lastIndexOf('h') + 1))))
        .orElseThrow();
  }

  @Test
  void badModelSpecsNameTheField() {
    refused(model(Map.of("hook", "blocks.9.hook_resid_post")), "inputs.main.model.hook", "blocks.9.hook_resid_post");
    refused(model(Map.of("hook", "blocks.0.attn.hook_pattern")), "inputs.main.model.hook", "cannot be streamed");
    refused(model(Map.of("ctx", 1000)), "inputs.main.model.ctx", "256");
    refused(model(Map.of("tokens", 0)), "inputs.main.model.tokens", "");
    refused(model(Map.of("corpus", tmp.resolve("nope.txt").toString())), "inputs.main.model.corpus", "nope.txt");
    refused(model(Map.of("model", "gpt-17")), "inputs.main.model.model", "gpt-17");
    refused(model(Map.of("hookz", HOOK)), "inputs.main.model.hookz", "");
    Map<String, Object> noHook = new LinkedHashMap<>(model(Map.of()));
    noHook.put("model", Map.of("model", "tiny"));
    refused(noHook, "inputs.main.model.hook", "");
  }

  @Test
  void badFileAndStoreSpecsNameTheField() {
    refused(Map.of("file", Map.of("path", tmp.resolve("none.safetensors").toString())), "inputs.main.file.path",
        "none.safetensors");
    refused(Map.of("store", Map.of("path", tmp.resolve("no-store").toString())), "inputs.main.store.path", "no-store");
    refused(Map.of("file", "acts.safetensors"), "inputs.main.file", "expected a mapping");
    refused(Map.of("store", Map.of("path", tmp.toString(), "shufle", true)), "inputs.main.store.shufle", "");
  }

  @Test
  void aFileThatIsNotSafetensorsNamesThePath() throws Exception {
    Path junk = Files.writeString(tmp.resolve("junk.safetensors"), "not a tensor file");

    refused(Map.of("file", Map.of("path", junk.toString())), "inputs.main.file.path", "");
  }
}
