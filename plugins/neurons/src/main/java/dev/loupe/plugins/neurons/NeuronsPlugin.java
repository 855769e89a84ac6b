package dev.loupe.plugins.neurons;

import org.pf4j.Plugin;

/**
 * The {@code neurons} plugin's entry point; the method itself ({@link NeuronsMethod}) is found
 * through its {@code @Extension} annotation, so nothing is set up here.
 */
public class NeuronsPlugin extends Plugin {
}
