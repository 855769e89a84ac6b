package dev.loupe.plugins.sae;

import org.pf4j.Plugin;

/**
 * The {@code sae} plugin's entry point; the method itself ({@link SaeMethod}) is found through its
 * {@code @Extension} annotation, so nothing is set up here.
 */
public class SaePlugin extends Plugin {
}
