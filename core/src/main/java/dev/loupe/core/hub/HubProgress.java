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

  /**
   * Progress as text lines for a log or console: one when a file starts, then one per tenth of it
   * (only the start when its size is unknown). Thread-safe.
   */
  static HubProgress lines(java.util.function.Consumer<String> sink) {
    return new HubProgress() {
      private String file;
      private long lastTenth;

      @Override
      public synchronized void update(String f, long done, long total) {
        long tenth = total > 0 ? done * 10 / total : -1;
        if (!f.equals(file)) {
          file = f;
          lastTenth = tenth;
          sink.accept("downloading " + f + (total > 0 ? " (" + mib(total) + " MiB" + (done > 0 ? ", resuming at "
              + mib(done) + " MiB" : "") + ")" : ""));
        } else if (tenth > lastTenth) {
          lastTenth = tenth;
          sink.accept(f + ": " + tenth * 10 + "% (" + mib(done) + " of " + mib(total) + " MiB)");
        }
      }

      private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
      }
    };
  }
}
