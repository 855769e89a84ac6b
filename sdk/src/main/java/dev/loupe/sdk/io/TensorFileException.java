package dev.loupe.sdk.io;

import java.io.IOException;
import java.nio.file.Path;

/** A tensor file (safetensors, npy) is malformed; the message names the file and the field. */
public class TensorFileException extends IOException {
  private final Path file;

  public TensorFileException(Path file, String problem) {
    super(file + ": " + problem);
    this.file = file;
  }

  public TensorFileException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
    this.file = file;
  }

  /** The offending file. */
  public Path file() {
    return file;
  }
}
