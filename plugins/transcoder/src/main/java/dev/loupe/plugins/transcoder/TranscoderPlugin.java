package dev.loupe.plugins.transcoder;

import org.pf4j.Plugin;

/**
 * The {@code transcoder} plugin's entry point; the method itself ({@link TranscoderMethod}) is
 * found through its {@code @Extension} annotation, so nothing is set up here.
 */
public class TranscoderPlugin extends Plugin {
}
