package org.example.meannorm;

import org.pf4j.Plugin;

/** The plugin's entry point (Plugin-Class); the method is found through its @Extension. */
public class MeanNormPlugin extends Plugin {
}
