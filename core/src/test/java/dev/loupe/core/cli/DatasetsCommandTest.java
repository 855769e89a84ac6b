package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** `loupe datasets` lists the shipped definitions and counts a corpus's rows per class. */
class DatasetsCommandTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private static Path home() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isDirectory(p.resolve("config/datasets"))) {
      p = p.getParent();
    }
    assertThat(p).isNotNull();
    return p;
  }

  private int run(String... args) {
    String[] all = new String[args.length + 2];
    all[0] = "--home";
    all[1] = home().toString();
    System.arraycopy(args, 0, all, 2, args.length);
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), all);
  }

  @Test
  void listsTheShippedDatasets() throws Exception {
    assertThat(run("datasets", "--json")).as(err.toString()).isZero();
    JsonNode list = new ObjectMapper().readTree(out.toString());
    assertThat(list.findValuesAsText("name")).contains("language", "french", "position", "token-class", "word:que");
  }

  @Test
  void countsRowsPerClassOnTrainAndTestDocuments() throws Exception {
    assertThat(run("datasets", "count", "french", "--model", "demo", "--tokens", "20000", "--json"))
        .as(err.toString()).isZero();
    JsonNode r = new ObjectMapper().readTree(out.toString());
    assertThat(r.get("tokens").asLong()).isEqualTo(20000);
    long total = r.get("unlabelled").asLong();
    for (JsonNode c : r.get("classes")) {
      total += c.get("train").asLong() + c.get("test").asLong();
    }
    assertThat(total).isEqualTo(20000);
  }

  @Test
  void anUnknownDatasetIsNamed() {
    assertThat(run("datasets", "count", "klingon", "--model", "demo")).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("no dataset named 'klingon'").doesNotContain("Exception");
  }
}
