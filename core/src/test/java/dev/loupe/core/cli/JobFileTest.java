package dev.loupe.core.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobFileTest {
  @TempDir
  Path dir;

  private JobFile write(String yaml) throws Exception {
    Path f = dir.resolve("job.yaml");
    Files.writeString(f, yaml);
    return JobFile.read(f);
  }

  @Test
  void readsConfigAndInputs() throws Exception {
    JobFile f = write("method: activation-stats\nconfig:\n  bins: 40\ninputs:\n  main:\n    synthetic: {rows: 10, width: 4}\n");

    assertThat(f.method).isEqualTo("activation-stats");
    assertThat(f.config).containsEntry("bins", 40);
    assertThat(f.inputs).containsEntry("main", Map.of("synthetic", Map.of("rows", 10, "width", 4)));
  }

  @Test
  void overridesSetConfigKeysAndNestedInputFieldsWithTypedValues() throws Exception {
    JobFile f = write("inputs:\n  main:\n    synthetic: {rows: 10, width: 4}\n");
    f.set("bins=12");
    f.set("config.norm_max=2.5");
    f.set("inputs.main.synthetic.rows=99");

    assertThat(f.config).containsEntry("bins", 12).containsEntry("norm_max", 2.5);
    assertThat(f.inputs).containsEntry("main", Map.of("synthetic", Map.of("rows", 99, "width", 4)));
  }

  @Test
  void unknownTopLevelKeysAreNamed() throws Exception {
    assertThatThrownBy(() -> write("confg:\n  bins: 1\n"))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).field()).isEqualTo("confg"));
  }

  @Test
  void aMalformedOverrideIsRejected() {
    assertThatThrownBy(() -> JobFile.empty().set("bins"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("key=value");
  }
}
