package dev.loupe.core.job;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import dev.loupe.sdk.io.AtomicFiles;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a job's JSON files so that a reader never sees half of one (temp file, then rename). */
final class ArtifactFiles {
  /** Pretty JSON for files people open. */
  static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
  /** One-line JSON for metrics.jsonl and event-bus messages. */
  static final ObjectMapper COMPACT = new ObjectMapper()
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS).disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
      ;

  private ArtifactFiles() {}

  static void writeJsonAtomically(Path file, Object value) throws IOException {
    writeAtomically(file, PRETTY.writeValueAsBytes(value));
  }

  static void writeAtomically(Path file, byte[] bytes) throws IOException {
    Files.createDirectories(file.getParent());
    AtomicFiles.write(file, bytes);
  }
}
