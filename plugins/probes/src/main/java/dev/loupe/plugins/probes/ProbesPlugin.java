package dev.loupe.plugins.probes;

import org.pf4j.Plugin;

/**
 * The {@code probes} plugin's entry point; the method itself ({@link ProbesMethod}) is found
 * through its {@code @Extension} annotation, so nothing is set up here.
 */
public class ProbesPlugin extends Plugin {
}
