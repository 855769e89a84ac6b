package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.hub.HubOptions;
import dev.loupe.sdk.sparse.SparseActivation;
import dev.loupe.sdk.sparse.SparseCoder;
import dev.loupe.sdk.sparse.SparseCoderFiles;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `loupe sae info|eval` on an SAE whose reconstruction is exact, so every score is known in advance. */
class SaeCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int D = 192;

  @TempDir
  Path tmp;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  /**
   * ReLU SAE with encoder [I, -I] and decoder [I; -I]: relu(x) - relu(-x) = x, so it reconstructs
   * any input exactly with one active latent per non-zero coordinate.
   */
  private static Path exactSae(Path dir) throws Exception {
    float[] wEnc = new float[D * 2 * D];
    float[] wDec = new float[2 * D * D];
    for (int i = 0; i < D; i++) {
      wEnc[i * 2 * D + i] = 1;
      wEnc[i * 2 * D + D + i] = -1;
      wDec[i * D + i] = 1;
      wDec[(D + i) * D + i] = -1;
    }
    try (NDManager m = NDManager.newBaseManager();
         SparseCoder c = SparseCoder.of(m, D, 2 * D, new SparseActivation.Relu(), false, 1f, wEnc, new float[2 * D],
             wDec, new float[D], null)) {
      SparseCoderFiles.save(c, dir, new SparseCoderFiles.CoderInfo("demo", "blocks.2.hook_resid_post"), null);
    }
    return dir;
  }

  @Test
  void anExactSaeExplainsEverythingAndRecoversTheWholeLoss() throws Exception {
    Path sae = exactSae(tmp.resolve("sae"));
    int code = run("sae", "eval", sae.toString(), "--model", "demo", "--tokens", "1500", "--splice-windows", "4",
        "--json");
    assertThat(code).as(err.toString()).isZero();
    JsonNode r = JSON.readTree(out.toString());
    assertThat(r.get("hook").asText()).isEqualTo("blocks.2.hook_resid_post");
    assertThat(r.get("tokens").asInt()).isEqualTo(1500);
    assertThat(r.get("fve").asDouble()).isCloseTo(1.0, within(1e-5));
    assertThat(r.get("l0").asDouble()).isBetween(D - 1.0, (double) D);
    assertThat(r.get("dead_fraction").asDouble()).isZero();
    assertThat(r.get("splice_windows").asInt()).isEqualTo(4);
    assertThat(r.get("zero_ablated_loss").asDouble()).isGreaterThan(r.get("clean_loss").asDouble() + 1);
    assertThat(r.get("loss_recovered").asDouble()).isCloseTo(1.0, within(1e-4));
    assertThat(r.get("kl_divergence").asDouble()).isCloseTo(0.0, within(1e-5));
  }

  @Test
  void infoReportsSizesHookAndDecoderNorms() throws Exception {
    Path sae = exactSae(tmp.resolve("sae"));
    assertThat(run("sae", "info", sae.toString(), "--json")).as(err.toString()).isZero();
    JsonNode r = JSON.readTree(out.toString());
    assertThat(r.get("d_in").asInt()).isEqualTo(D);
    assertThat(r.get("d_sae").asInt()).isEqualTo(2 * D);
    assertThat(r.get("model").asText()).isEqualTo("demo");
    assertThat(r.get("decoder_norm_mean").asDouble()).isCloseTo(1.0, within(1e-6));
  }

  @Test
  void anSaeInTheHuggingFaceCacheOpensFromItsFolder() throws Exception {
    Path cache = tmp.resolve("hub");
    String commit = "0123456789abcdef0123456789abcdef01234567";
    Path repo = cache.resolve("models--someone--demo-saes");
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs/main"), commit);
    exactSae(repo.resolve("snapshots").resolve(commit).resolve("blocks.2.hook_resid_post"));
    HubOptions hub = new HubOptions(URI.create("http://127.0.0.1:9"), cache, null, true);

    Path dir = SaeCommand.resolve("hf:someone/demo-saes/blocks.2.hook_resid_post", hub);
    assertThat(dir).isEqualTo(repo.resolve("snapshots").resolve(commit).resolve("blocks.2.hook_resid_post"));
    assertThat(SaeCommand.resolve("hf:someone/demo-saes/blocks.2.hook_resid_post@" + commit, hub)).isEqualTo(dir);
    assertThatThrownBy(() -> SaeCommand.resolve("hf:someone/demo-saes/blocks.9", hub))
        .hasMessageContaining("no folder 'blocks.9'");
    assertThatThrownBy(() -> SaeCommand.resolve("hf:someone/other", hub))
        .hasMessageContaining("not in the Hugging Face cache");
    assertThatThrownBy(() -> SaeCommand.resolve("hf:someone/demo-saes/../../x", hub))
        .hasMessageContaining("no folder");
  }

  @Test
  void aHookOfAnotherWidthIsRefusedNamingBoth() throws Exception {
    Path sae = exactSae(tmp.resolve("sae"));
    int code = run("sae", "eval", sae.toString(), "--model", "demo", "--hook", "blocks.2.mlp.hook_post");
    assertThat(code).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("d_in 192").contains("blocks.2.mlp.hook_post").contains("width 768")
        .doesNotContain("Exception");
  }

  /**
   * A transcoder from blocks.1.hook_resid_post to blocks.2.hook_resid_pre, which in GPT-2 are the
   * same activation: with the exact identity code it predicts its target perfectly, so replacing
   * the target with its output costs nothing.
   */
  @Test
  void anExactTranscoderPredictsAndReplacesItsTarget() throws Exception {
    float[] wEnc = new float[D * 2 * D];
    float[] wDec = new float[2 * D * D];
    for (int i = 0; i < D; i++) {
      wEnc[i * 2 * D + i] = 1;
      wEnc[i * 2 * D + D + i] = -1;
      wDec[i * D + i] = 1;
      wDec[(D + i) * D + i] = -1;
    }
    Path dir = tmp.resolve("tc");
    try (NDManager m = NDManager.newBaseManager();
         SparseCoder c = SparseCoder.of(m, SparseCoder.Layout.transcoder(D, D, 2 * D, false),
             new SparseActivation.Relu(), false, new float[] {1f}, 1f, java.util.Map.of(SparseCoder.W_ENC, wEnc,
                 SparseCoder.B_ENC, new float[2 * D], SparseCoder.W_DEC, wDec, SparseCoder.B_DEC, new float[D]))) {
      SparseCoderFiles.save(c, dir, new SparseCoderFiles.CoderInfo("demo", "blocks.1.hook_resid_post",
          "blocks.2.hook_resid_pre", null), null);
    }
    int code = run("sae", "eval", dir.toString(), "--model", "demo", "--tokens", "1000", "--splice-windows", "3",
        "--json");
    assertThat(code).as(err.toString()).isZero();
    JsonNode r = JSON.readTree(out.toString());
    assertThat(r.get("kind").asText()).isEqualTo("transcoder");
    assertThat(r.get("hook_out").asText()).isEqualTo("blocks.2.hook_resid_pre");
    assertThat(r.get("fve").asDouble()).isCloseTo(1.0, within(1e-5));
    assertThat(r.get("zero_ablated_loss").asDouble()).isGreaterThan(r.get("clean_loss").asDouble() + 1);
    assertThat(r.get("loss_recovered").asDouble()).isCloseTo(1.0, within(1e-4));
  }

  @Test
  void aCrosscoderIsNotEvaluatedAsAnSae() throws Exception {
    Path dir = tmp.resolve("cc");
    try (NDManager m = NDManager.newBaseManager();
         SparseCoder c = SparseCoder.initialize(m, SparseCoder.Layout.crosscoder(D, 2, 16), new SparseActivation.Relu(),
             1, 0, 1)) {
      SparseCoderFiles.save(c, dir, new SparseCoderFiles.CoderInfo("demo", "blocks.2.hook_resid_post"), null);
    }
    assertThat(run("sae", "eval", dir.toString(), "--model", "demo")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("crosscoder over 2 sources").doesNotContain("Exception");
  }

  @Test
  void aMissingSaeIsNamed() {
    assertThat(run("sae", "info", tmp.resolve("nowhere").toString())).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("nowhere").contains("neither a directory");
  }
}
