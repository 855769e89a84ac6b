package dev.loupe.core.store;

import java.io.IOException;
import java.nio.file.Path;

/** An activation store's manifest is missing or invalid; the message names the file and field. */
public class StoreFormatException extends IOException {
  public StoreFormatException(Path file, String problem) {
    super(file + ": " + problem);
  }
}
