package dev.loupe.sdk;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The SDK's identity: its version is what plugins declare in {@code Plugin-Requires}. */
public final class LoupeSdk {
  private LoupeSdk() {}

  /** Semantic version of this SDK (for example {@code 0.1.0}); set by the build. */
  public static final String VERSION = readVersion();

  private static String readVersion() {
    try (InputStream in = LoupeSdk.class.getResourceAsStream("sdk.properties")) {
      if (in == null) {
        throw new IllegalStateException("sdk.properties missing from the SDK jar");
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("sdk.version");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
