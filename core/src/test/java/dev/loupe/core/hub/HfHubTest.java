package dev.loupe.core.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.core.model.ByteTokenizer;
import dev.loupe.core.model.ForwardHooks;
import dev.loupe.core.model.Gpt2Model;
import dev.loupe.core.model.HfDirectory;
import dev.loupe.core.model.HookedTransformer;
import dev.loupe.core.model.LoadedModel;
import dev.loupe.core.model.ModelRegistry;
import dev.loupe.core.model.TestModels;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hf:} references: the local hub cache layout, and downloads from a fake hub on 127.0.0.1. */
class HfHubTest {
  private static final String REPO = "loupe-test/tiny-gpt2";
  private static final String REF = "hf:" + REPO;
  private static final int[][] TOKENS = {"Loupe looks in.".chars().toArray()};

  @TempDir
  Path tmp;

  private NDManager manager;
  private Gpt2Model model;
  private Path source;
  private Path cache;
  private FakeHub hub;

  @BeforeEach
  void setUp() throws Exception {
    manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    model = TestModels.randomAffine(TestModels.smallConfig(), 7, manager);
    source = tmp.resolve("source");
    model.saveHfDirectory(source, ByteTokenizer.instance());
    cache = tmp.resolve("cache");
    hub = new FakeHub(REPO, source);
  }

  @AfterEach
  void tearDown() {
    hub.close();
    manager.close();
  }

  private HubOptions online(String token) {
    return new HubOptions(hub.endpoint(), cache, token, false);
  }

  private HubOptions offline() {
    return new HubOptions(hub.endpoint(), cache, null, true);
  }

  private LoadedModel load(HubOptions options, String ref) {
    return new HfHubResolver(options, HubProgress.NONE).load(ref, manager);
  }

  private float[] logits(HookedTransformer m) {
    return m.forward(TOKENS, ForwardHooks.none(), manager).logits().toFloatArray();
  }

  private Path snapshot() {
    return cache.resolve("models--loupe-test--tiny-gpt2").resolve("snapshots").resolve(FakeHub.COMMIT);
  }

  private Path blobs() {
    return cache.resolve("models--loupe-test--tiny-gpt2").resolve("blobs");
  }

  @Test
  void aDownloadedModelGivesTheOriginalLogitsAndLandsInTheStandardCacheLayout() throws Exception {
    List<long[]> progress = new ArrayList<>();
    try (LoadedModel loaded = new HfHubResolver(online(null), (f, done, total) -> {
      if (f.equals(HfDirectory.WEIGHTS)) {
        progress.add(new long[] {done, total});
      }
    }).load(REF, manager)) {
      assertThat(loaded.id()).isEqualTo(REF);
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
    Path repoDir = cache.resolve("models--loupe-test--tiny-gpt2");
    assertThat(Files.readString(repoDir.resolve("refs/main"))).isEqualTo(FakeHub.COMMIT);
    byte[] weights = Files.readAllBytes(source.resolve(HfDirectory.WEIGHTS));
    Path link = snapshot().resolve(HfDirectory.WEIGHTS);
    assertThat(Files.isSymbolicLink(link)).isTrue();
    assertThat(link.toRealPath()).isEqualTo(blobs().resolve(FakeHub.sha256(weights)).toRealPath());
    assertThat(Files.readAllBytes(link)).isEqualTo(weights);
    assertThat(progress).isNotEmpty();
    assertThat(progress.get(progress.size() - 1)).containsExactly(weights.length, weights.length);
    // Only what Loupe reads: never the pickle the repository also lists.
    assertThat(hub.requests).noneMatch(r -> r.contains("pytorch_model.bin"));
    // Storage URLs are for GET: the size and hash come from the hub's redirect, not a HEAD there.
    assertThat(hub.requests).noneMatch(r -> r.startsWith("HEAD /cdn/"));
  }

  @Test
  void aSecondLoadUsesTheCacheWithoutAnyRequest() {
    load(online(null), REF).close();
    int before = hub.requests.size();
    try (LoadedModel loaded = load(online(null), REF)) {
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
    assertThat(hub.requests).hasSize(before);
  }

  @Test
  void aDroppedDownloadResumesWithARangeRequest() throws Exception {
    hub.dropOnce.add(HfDirectory.WEIGHTS);
    assertThatThrownBy(() -> load(online(null), REF)).isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("run again to resume");
    byte[] weights = Files.readAllBytes(source.resolve(HfDirectory.WEIGHTS));
    Path partial = blobs().resolve(FakeHub.sha256(weights) + ".incomplete");
    long have = Files.size(partial);
    assertThat(have).isPositive().isLessThan(weights.length);
    assertThat(snapshot()).doesNotExist();

    try (LoadedModel loaded = load(online(null), REF)) {
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
    assertThat(hub.requests).contains("GET /cdn/" + HfDirectory.WEIGHTS + " Range: bytes=" + have + "-");
    assertThat(Files.readAllBytes(snapshot().resolve(HfDirectory.WEIGHTS))).isEqualTo(weights);
    assertThat(partial).doesNotExist();
  }

  @Test
  void aServerThatIgnoresRangeMakesTheDownloadStartOver() throws Exception {
    hub.dropOnce.add(HfDirectory.WEIGHTS);
    assertThatThrownBy(() -> load(online(null), REF)).isInstanceOf(UncheckedIOException.class);
    hub.ignoreRange = true;
    try (LoadedModel loaded = load(online(null), REF)) {
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
    assertThat(hub.requests).anyMatch(r -> r.startsWith("GET /cdn/" + HfDirectory.WEIGHTS + " Range: "));
    assertThat(Files.readAllBytes(snapshot().resolve(HfDirectory.WEIGHTS)))
        .isEqualTo(Files.readAllBytes(source.resolve(HfDirectory.WEIGHTS)));
  }

  @Test
  void aCompletePartialFileIsVerifiedAndPublishedWithoutDownloadingIt() throws Exception {
    byte[] weights = Files.readAllBytes(source.resolve(HfDirectory.WEIGHTS));
    Files.createDirectories(blobs());
    Files.write(blobs().resolve(FakeHub.sha256(weights) + ".incomplete"), weights);
    try (LoadedModel loaded = load(online(null), REF)) {
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
    assertThat(hub.requests).noneMatch(r -> r.startsWith("GET /cdn/"));
  }

  @Test
  void twoThreadsLoadingTheSameModelShareOneDownload() throws Exception {
    var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      HfHub shared = new HfHub(online(null));
      HubRef ref = HubRef.parse(REF);
      var a = pool.submit(() -> shared.snapshot(ref, HubProgress.NONE));
      var b = pool.submit(() -> new HfHub(online(null)).snapshot(ref, HubProgress.NONE));
      assertThat(a.get()).isEqualTo(b.get()).isEqualTo(snapshot());
    } finally {
      pool.shutdown();
    }
    assertThat(Files.readAllBytes(snapshot().resolve(HfDirectory.WEIGHTS)))
        .isEqualTo(Files.readAllBytes(source.resolve(HfDirectory.WEIGHTS)));
  }

  @Test
  void theTokenIsSentAsABearerTokenToTheHubButNotToTheStorageItRedirectsTo() {
    hub.requiredToken = "hf_secret";
    load(online("hf_secret"), REF).close();
    assertThat(hub.requests).filteredOn(r -> !r.contains(" /cdn/")).isNotEmpty()
        .allMatch(r -> r.endsWith("Authorization: Bearer hf_secret"));
    assertThat(hub.requests).filteredOn(r -> r.contains(" /cdn/")).isNotEmpty()
        .noneMatch(r -> r.contains("Authorization"));
  }

  @Test
  void aRefusalNamesHfToken() {
    hub.requiredToken = "hf_secret";
    assertThatThrownBy(() -> load(online(null), REF)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("401").hasMessageContaining("HF_TOKEN").hasMessageContaining(REPO);
  }

  @Test
  void aRejectedTokenIsNamedButNotPrinted() {
    hub.requiredToken = "hf_secret";
    assertThatThrownBy(() -> load(online("hf_wrong"), REF)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the token in HF_TOKEN was not accepted").hasMessageNotContaining("hf_wrong");
  }

  @Test
  void aFileTheHubDoesNotServeIsNamed() {
    hub.missing.add(HfDirectory.TOKENIZER);
    assertThatThrownBy(() -> load(online(null), REF)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("404").hasMessageContaining("file tokenizer.json of " + REPO);
  }

  @Test
  void anUnknownRepositoryIsNamed() {
    assertThatThrownBy(() -> load(online(null), "hf:loupe-test/nope@v2")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("404").hasMessageContaining("repository loupe-test/nope at revision v2");
  }

  @Test
  void anUnreachableHubIsReportedWithTheWayToWorkOffline() throws Exception {
    java.net.URI closed = hub.endpoint();
    hub.close();
    assertThatThrownBy(() -> load(new HubOptions(closed, cache, null, false), REF))
        .isInstanceOf(UncheckedIOException.class).hasMessageContaining(closed.toString())
        .hasMessageContaining("ConnectException").hasMessageContaining("HF_HUB_OFFLINE=1");
  }

  @Test
  void aCorruptDownloadIsRejectedAndNothingIsPublished() throws Exception {
    hub.corrupt.add(HfDirectory.WEIGHTS);
    String expected = FakeHub.sha256(Files.readAllBytes(source.resolve(HfDirectory.WEIGHTS)));
    assertThatThrownBy(() -> load(online(null), REF)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(HfDirectory.WEIGHTS).hasMessageContaining("SHA-256").hasMessageContaining(expected);
    assertThat(snapshot()).doesNotExist();
    assertThat(cache.resolve("models--loupe-test--tiny-gpt2/refs/main")).doesNotExist();
    try (Stream<Path> s = Files.list(blobs())) {
      assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(expected));
    }
  }

  @Test
  void offlineWithAnEmptyCacheSaysItIsNotCachedAndAsksNothing() {
    assertThatThrownBy(() -> load(offline(), REF)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not in the Hugging Face cache")
        .hasMessageContaining(cache.resolve("models--loupe-test--tiny-gpt2").toString())
        .hasMessageContaining("HF_HUB_OFFLINE");
    assertThat(hub.requests).isEmpty();
  }

  @Test
  void aCacheLaidOutByHandResolvesRefsAndCommitHashesOffline() throws Exception {
    Path repoDir = cache.resolve("models--loupe-test--tiny-gpt2");
    Path snap = snapshot();
    Files.createDirectories(snap);
    Files.createDirectories(repoDir.resolve("blobs"));
    try (Stream<Path> s = Files.list(source)) {
      for (Path f : s.toList()) {
        Path blob = repoDir.resolve("blobs").resolve(FakeHub.sha256(Files.readAllBytes(f)));
        Files.copy(f, blob);
        Files.createSymbolicLink(snap.resolve(f.getFileName()), Path.of("../../blobs").resolve(blob.getFileName()));
      }
    }
    Files.createDirectories(repoDir.resolve("refs"));
    Files.writeString(repoDir.resolve("refs/main"), FakeHub.COMMIT + "\n");
    try (LoadedModel byBranch = load(offline(), REF);
        LoadedModel byCommit = load(offline(), REF + "@" + FakeHub.COMMIT)) {
      assertThat(logits(byBranch.model())).containsExactly(logits(model));
      assertThat(logits(byCommit.model())).containsExactly(logits(model));
    }
    assertThatThrownBy(() -> load(offline(), REF + "@v1")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(repoDir + " has no refs/v1");
    Files.delete(snap.resolve(HfDirectory.CONFIG));
    assertThatThrownBy(() -> load(offline(), REF)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(snap + " lacks config.json");
    assertThat(hub.requests).isEmpty();
  }

  @Test
  void aShardedCheckpointDownloadsItsIndexAndShards() throws Exception {
    Path sharded = tmp.resolve("sharded");
    Files.createDirectories(sharded);
    Files.copy(source.resolve(HfDirectory.CONFIG), sharded.resolve(HfDirectory.CONFIG));
    Files.copy(source.resolve(HfDirectory.TOKENIZER), sharded.resolve(HfDirectory.TOKENIZER));
    Map<String, TensorData> first = new LinkedHashMap<>();
    Map<String, TensorData> second = new LinkedHashMap<>();
    ObjectNode index = new ObjectMapper().createObjectNode();
    ObjectNode map = index.putObject("weight_map");
    model.weights().forEach((name, a) -> {
      boolean early = name.startsWith("w") || name.startsWith("h.0.");
      (early ? first : second).put(name, TensorData.f32(a.toFloatArray(), a.getShape().getShape()));
      map.put(name, early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
    });
    Safetensors.write(sharded.resolve("model-00001-of-00002.safetensors"), first, Map.of("format", "pt"));
    Safetensors.write(sharded.resolve("model-00002-of-00002.safetensors"), second, Map.of("format", "pt"));
    Files.writeString(sharded.resolve(HfDirectory.WEIGHTS_INDEX), index.toPrettyString(), StandardCharsets.UTF_8);
    hub.close();
    hub = new FakeHub(REPO, sharded);

    try (LoadedModel loaded = load(online(null), REF)) {
      assertThat(logits(loaded.model())).containsExactly(logits(model));
    }
    assertThat(snapshot().resolve("model-00001-of-00002.safetensors")).exists();
    assertThat(snapshot().resolve("model-00002-of-00002.safetensors")).exists();
    assertThat(snapshot().resolve(HfDirectory.WEIGHTS)).doesNotExist();
  }

  @Test
  void referencesParseWithADefaultRevision() {
    assertThat(HubRef.parse("hf:openai-community/gpt2")).isEqualTo(new HubRef("openai-community/gpt2", "main"));
    assertThat(HubRef.parse("hf:gpt2@refs/pr/1")).isEqualTo(new HubRef("gpt2", "refs/pr/1"));
    assertThat(HubRef.parse("hf:a/b").cacheDirName()).isEqualTo("models--a--b");
    assertThatThrownBy(() -> HubRef.parse("hf:a/b/c")).hasMessageContaining("hf:a/b/c")
        .hasMessageContaining("ORG/NAME");
    assertThatThrownBy(() -> HubRef.parse("hf:a/b@../x")).hasMessageContaining("revision '../x'");
  }

  @Test
  void optionsFollowTheHuggingFaceEnvironmentVariables() {
    Path home = Path.of("/home/u");
    HubOptions defaults = HubOptions.fromEnvironment(Map.of(), home);
    assertThat(defaults.cacheRoot()).isEqualTo(Path.of("/home/u/.cache/huggingface/hub"));
    assertThat(defaults.endpoint().toString()).isEqualTo("https://huggingface.co");
    assertThat(defaults.offline()).isFalse();
    assertThat(HubOptions.fromEnvironment(Map.of("HF_HOME", "/hf"), home).cacheRoot()).isEqualTo(Path.of("/hf/hub"));
    HubOptions all = HubOptions.fromEnvironment(Map.of("HF_HOME", "/hf", "HF_HUB_CACHE", "/c", "HF_HUB_OFFLINE", "1",
        "HF_TOKEN", "t", "HF_ENDPOINT", "http://mirror:8080"), home);
    assertThat(all).isEqualTo(new HubOptions(java.net.URI.create("http://mirror:8080"), Path.of("/c"), "t", true));
    assertThat(all.toString()).doesNotContain("=t,");
  }

  @Test
  void progressLinesReportEachTenthOfAFile() {
    List<String> lines = new ArrayList<>();
    HubProgress p = HubProgress.lines(lines::add);
    long mib = 1 << 20;
    for (long done = 0; done <= 20 * mib; done += mib) {
      p.update("model.safetensors", done, 20 * mib);
    }
    p.update("config.json", 0, -1);
    assertThat(lines).hasSize(12).startsWith("downloading model.safetensors (20.0 MiB)")
        .contains("model.safetensors: 50% (10.0 of 20.0 MiB)").endsWith("downloading config.json");
  }

  @Test
  void theDefaultRegistryResolvesHfReferences() {
    assertThat(ModelRegistry.withDefaults().forms()).anyMatch(f -> f.startsWith("hf:"));
  }
}
