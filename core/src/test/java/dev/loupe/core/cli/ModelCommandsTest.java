package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.ModelInfo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe models} and {@code loupe model info}, run in-process on the built-in tiny model. */
class ModelCommandsTest {
  @TempDir
  Path home;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), args);
  }

  @Test
  void modelsListsTheBuiltInReferences() {
    assertThat(run("--home", home.toString(), "models")).isZero();
    assertThat(out.toString()).contains("tiny").contains("random-gpt2:").contains("No Hugging Face model directories");
  }

  @Test
  void modelsListsHuggingFaceDirectoriesUnderTheHome() throws Exception {
    Path gpt2 = Files.createDirectories(home.resolve("models/openai-community/gpt2"));
    Files.writeString(gpt2.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
    Files.createDirectories(home.resolve("models/not-a-model"));

    assertThat(run("--home", home.toString(), "models", "--json")).isZero();

    JsonNode doc = new ObjectMapper().readTree(out.toString());
    assertThat(doc.get("forms").toString()).contains("tiny");
    assertThat(doc.get("directories")).hasSize(1);
    assertThat(doc.get("directories").get(0).get("path").asText()).isEqualTo(gpt2.toString());
    assertThat(doc.get("directories").get(0).get("modelType").asText()).isEqualTo("gpt2");
  }

  @Test
  void modelInfoJsonListsEveryHookWithItsWidth() throws Exception {
    assertThat(run("model", "info", "tiny", "--json")).isZero();

    JsonNode doc = new ObjectMapper().readTree(out.toString());
    assertThat(doc.get("architecture").asText()).isEqualTo("gpt2");
    assertThat(doc.get("layers").asInt()).isEqualTo(4);
    assertThat(doc.get("dModel").asInt()).isEqualTo(128);
    assertThat(doc.get("hooks")).hasSize(63);
    ModelInfo info = tinyInfo();
    for (JsonNode h : doc.get("hooks")) {
      assertThat(h.get("width").asInt()).as(h.get("name").asText()).isEqualTo(info.hookWidth(h.get("name").asText()));
    }
  }

  @Test
  void modelInfoTextShowsGlobalsAndEveryBlockSiteOverAllLayers() {
    assertThat(run("model", "info", "tiny")).isZero();

    String text = out.toString();
    ModelInfo info = tinyInfo();
    assertThat(text).contains("63 hook points").contains("layers 4").contains("d_model 128").contains("vocab 256");
    List<String> sites = new ArrayList<>();
    for (String h : info.hookNames()) {
      if (h.startsWith("blocks.0.")) {
        sites.add(h.substring("blocks.0.".length()));
      } else if (!h.startsWith("blocks.")) {
        assertThat(text).containsPattern("(?m)^  " + java.util.regex.Pattern.quote(h) + " +" + info.hookWidth(h) + "$");
      }
    }
    assertThat(sites).hasSize(15);
    for (String site : sites) {
      String w = info.hookWidth("blocks.0." + site) < 0 ? "-1 \\(key pos\\)" : Integer.toString(info.hookWidth("blocks.0." + site));
      assertThat(text).containsPattern("(?m)^  " + java.util.regex.Pattern.quote(site) + " +" + w + " +0\\.\\.3$");
    }
  }

  @Test
  void modelInfoOfAnUnknownModelIsAUsageErrorNamingIt() {
    assertThat(run("model", "info", "no-such-model")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("'no-such-model'").doesNotContain("\tat ");
  }

  private static ModelInfo tinyInfo() {
    try (LocalModelSession s = LocalModelSession.open("tiny")) {
      return s.info();
    }
  }
}
