package dev.loupe.samples.stats;

import org.pf4j.Plugin;

/**
 * The plugin's entry point, named by {@code Plugin-Class}. The host creates it once when it loads
 * the zip and calls {@link #start()} / {@link #stop()} around the plugin's life.
 *
 * <p>Most plugins need nothing here: analysis methods are found through their {@code @Extension}
 * annotation, not registered by hand. Put process-wide set-up (a native library, a shared
 * thread pool) in {@code start()} and release it in {@code stop()}; an exception thrown from
 * {@code start()} makes the host report the plugin as failed and skip its methods.
 */
public class ActivationStatsPlugin extends Plugin {

  @Override
  public void start() {
    log.debug("activation-stats started");
  }

  @Override
  public void stop() {
    log.debug("activation-stats stopped");
  }
}
