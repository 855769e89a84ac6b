package dev.loupe.core.hub;

import ai.djl.ndarray.NDManager;
import dev.loupe.core.model.HfDirectory;
import dev.loupe.core.model.LoadedModel;
import dev.loupe.core.model.ModelResolver;
import java.nio.file.Path;

/**
 * Resolves {@code hf:ORG/NAME[@REVISION]} through the local Hugging Face hub cache, downloading
 * what is missing unless offline (see {@link HfHub}); the snapshot is loaded by {@link HfDirectory}.
 */
public final class HfHubResolver implements ModelResolver {
  private final HfHub hub;
  private final HubProgress progress;

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HfHubResolver.class);

  /**
   * Uses the environment's settings ({@link HubOptions#fromEnvironment()}), read when a model is
   * loaded, and logs download progress at INFO.
   */
  public HfHubResolver() {
    this(null, HubProgress.lines(LOG::info));
  }

  /**
   * @param options where the hub and the cache are; null to read the environment on each load
   * @param progress told of download progress
   */
  public HfHubResolver(HubOptions options, HubProgress progress) {
    this.hub = options == null ? null : new HfHub(options);
    this.progress = progress == null ? HubProgress.NONE : progress;
  }

  @Override
  public boolean handles(String ref) {
    return ref != null && ref.startsWith(HubRef.PREFIX);
  }

  /**
   * @throws IllegalArgumentException for a malformed reference, a model that is not cached while
   *     offline, or one the hub does not have or refuses (see {@link HfHub#snapshot})
   */
  @Override
  public LoadedModel load(String ref, NDManager parent) {
    HubRef parsed = HubRef.parse(ref);
    HfHub h = hub != null ? hub : new HfHub(HubOptions.fromEnvironment());
    Path snap = h.snapshot(parsed, progress);
    return HfDirectory.load(snap, ref, parent);
  }

  @Override
  public String describe() {
    return "hf:<org>/<name>[@<revision>] (Hugging Face hub, via the local cache)";
  }
}
