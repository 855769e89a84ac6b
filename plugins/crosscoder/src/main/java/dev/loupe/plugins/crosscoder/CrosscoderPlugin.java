package dev.loupe.plugins.crosscoder;

import org.pf4j.Plugin;

/**
 * The {@code crosscoder} plugin's entry point; the method itself ({@link CrosscoderMethod}) is
 * found through its {@code @Extension} annotation, so nothing is set up here.
 */
public class CrosscoderPlugin extends Plugin {
}
