package dev.loupe.core.model;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The small causal language models Loupe trains itself and ships in {@code models/} ({@code demo},
 * a multilingual byte-level GPT-2, and {@code demo-ft}, its French fine-tune), resolved by name.
 * The directory is found under the Loupe home ({@code -Dloupe.home}, set by the launcher, or
 * {@code $LOUPE_HOME}), else in the nearest {@code models/} above the working directory (so tests
 * run from a module directory find the repository's models).
 */
public final class ShippedModels implements ModelResolver {
  /** The names of the shipped models. */
  public static final List<String> NAMES = List.of("demo", "demo-ft");

  private final List<Path> roots;

  /** Searches the default places (see the class comment). */
  public ShippedModels() {
    this(defaultRoots());
  }

  /** Searches {@code <root>/models/<name>} for each root, in order. */
  public ShippedModels(List<Path> roots) {
    this.roots = List.copyOf(roots);
  }

  private static List<Path> defaultRoots() {
    List<Path> roots = new ArrayList<>();
    for (String home : new String[] {System.getProperty("loupe.home"), System.getenv("LOUPE_HOME")}) {
      if (home != null && !home.isBlank()) {
        roots.add(Path.of(home));
      }
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      roots.add(dir);
    }
    return roots;
  }

  @Override
  public boolean handles(String ref) {
    return NAMES.contains(ref);
  }

  /** The directory of a shipped model in the default places, if it is there. */
  public static Optional<Path> locate(String name) {
    return new ShippedModels().find(name);
  }

  /** The directory of a shipped model under this resolver's roots, if it is there. */
  public Optional<Path> find(String name) {
    for (Path root : roots) {
      Path p = root.resolve("models").resolve(name);
      if (Files.isRegularFile(p.resolve(HfDirectory.CONFIG))) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  @Override
  public LoadedModel load(String ref, NDManager parent) {
    Path dir = find(ref).orElseThrow(() -> new IllegalArgumentException("shipped model '" + ref
        + "' not found: expected models/" + ref + "/config.json under " + roots.get(0)
        + (roots.size() > 1 ? " or the other " + (roots.size() - 1) + " places searched" : "")
        + "; rebuild it with ./loupe train-lm --config config/models/" + ref + ".yaml"));
    return HfDirectory.load(dir, ref, parent);
  }

  @Override
  public String describe() {
    return String.join(", ", NAMES) + " (Loupe's own trained models in models/)";
  }
}
