package dev.loupe.core.model;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Resolves a local Hugging Face-format model directory ({@code config.json}, safetensors weights,
 * {@code tokenizer.json}) given by its path; see {@link HfDirectory} for what is read and checked.
 */
public final class HfDirectoryResolver implements ModelResolver {

  /**
   * Handles an existing directory, and any reference written as a path ({@code /...}, {@code ./...},
   * {@code ../...}, {@code ~/...}) so that a mistyped path is reported as a missing directory rather
   * than as an unknown reference. Costs one stat.
   */
  @Override
  public boolean handles(String ref) {
    if (ref == null || ref.isBlank()) {
      return false;
    }
    if (ref.startsWith("/") || ref.startsWith("./") || ref.startsWith("../") || ref.startsWith("~/")
        || ref.equals(".") || ref.equals("..")) {
      return true;
    }
    try {
      return Files.isDirectory(Path.of(ref));
    } catch (InvalidPathException e) {
      return false;
    }
  }

  /**
   * Loads the directory; the model id is the reference as given.
   *
   * @throws IllegalArgumentException naming the file and field at fault (see {@link HfDirectory#load})
   */
  @Override
  public LoadedModel load(String ref, NDManager parent) {
    Path dir;
    try {
      dir = Path.of(ref.startsWith("~/") ? System.getProperty("user.home") + ref.substring(1) : ref);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("model reference '" + ref + "' is not a valid path: " + e.getMessage(), e);
    }
    return HfDirectory.load(dir, ref, parent);
  }

  @Override
  public String describe() {
    return "<path to a Hugging Face model directory: config.json, model.safetensors, tokenizer.json>";
  }
}
