package dev.loupe.samples.lens;

import org.pf4j.Plugin;

/**
 * The plugin's entry point, named by {@code Plugin-Class}. Like most plugins it needs no set-up:
 * the host finds {@link LogitLensMethod} through its {@code @Extension} annotation. (See
 * {@code ActivationStatsPlugin} in the activation-stats sample for what would go here.)
 */
public class LogitLensPlugin extends Plugin {
}
