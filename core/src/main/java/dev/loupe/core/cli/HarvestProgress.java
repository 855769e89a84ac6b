package dev.loupe.core.cli;

import dev.loupe.core.node.Harvest;
import java.io.PrintWriter;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Prints a harvest's progress every two seconds until it ends. */
final class HarvestProgress {
  private HarvestProgress() {}

  static void follow(Harvest h, PrintWriter err, String prefix) throws Exception {
    long total = h.request().tokens();
    long start = System.nanoTime();
    while (true) {
      try {
        h.completion().get(2, TimeUnit.SECONDS);
        return;
      } catch (TimeoutException stillRunning) {
        long done = h.tokensDone();
        double s = (System.nanoTime() - start) / 1e9;
        err.printf("%s: %s %,d / %,d tokens (%.0f%%), %,.0f tokens/s%n", prefix, h.state().name().toLowerCase(), done,
            total, 100.0 * done / total, done / Math.max(s, 1e-9));
        err.flush();
      }
    }
  }
}
