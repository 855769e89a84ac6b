package dev.loupe.core.hub;

/** Receives download progress, e.g. for a CLI progress bar; called from the downloading thread. */
@FunctionalInterface
public interface HubProgress {
  HubProgress NONE = (file, done, total) -> { };

  /**
   * @param file the repository file being downloaded
   * @param done bytes of it on disk so far (including a resumed part)
   * @param total its size, or -1 when the server did not say
   */
  void update(String file, long done, long total);
}
