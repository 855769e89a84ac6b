package dev.loupe.core.bench;

import java.io.File;

/** The classpath a benchmark gives the JVMs it starts: this JVM's own. */
final class ChildJvmClasspath {
  private ChildJvmClasspath() {
  }

  /** This JVM's classpath; under surefire's manifest-only jar, the real one is in surefire.test.class.path. */
  static String current() {
    String cp = System.getProperty("java.class.path");
    String surefire = System.getProperty("surefire.test.class.path");
    if (surefire != null && !surefire.isBlank() && (cp == null || !cp.contains(File.pathSeparator))) {
      return surefire;
    }
    return cp;
  }
}
