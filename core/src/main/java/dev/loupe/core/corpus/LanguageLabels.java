package dev.loupe.core.corpus;

import dev.loupe.sdk.io.AtomicFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The language of every document of a corpus by document id, as a {@code docId\tlang} TSV, so a
 * corpus labelled once by {@link LanguageDetector} carries its labels with no detection at run time.
 * Documents the detector was unsure of are stored as {@value #UNDETERMINED} and read back as null.
 */
public final class LanguageLabels {
  /** Classpath location of the labels of the built-in Europarl corpus (made by {@code loupe corpus label europarl}). */
  public static final String EUROPARL_RESOURCE = "dev/loupe/core/corpus/europarl-languages.tsv";

  /** The code written for a document whose language was not determined (ISO 639-2 "undetermined"). */
  public static final String UNDETERMINED = "und";

  static final String HEADER = "docId\tlang";

  private static volatile LanguageLabels europarl;

  private final String[] byId;

  private LanguageLabels(String[] byId) {
    this.byId = byId;
  }

  /**
   * Labels for documents {@code 0 .. labels.length-1}; a null entry means undetermined.
   *
   * @throws IllegalArgumentException when a label is blank or contains a tab or line break
   */
  public static LanguageLabels of(String[] labels) {
    String[] copy = labels.clone();
    for (int i = 0; i < copy.length; i++) {
      String l = copy[i];
      if (l != null && (l.isBlank() || l.equals(UNDETERMINED) || l.chars().anyMatch(c -> c == '\t' || c == '\n' || c == '\r'))) {
        throw new IllegalArgumentException("language label of document " + i + " is '" + l
            + "'; expected a language code or null");
      }
    }
    return new LanguageLabels(copy);
  }

  /**
   * The labels of the built-in Europarl corpus, read once from {@link #EUROPARL_RESOURCE}.
   *
   * @throws IllegalStateException when the resource is missing from the classpath
   */
  public static LanguageLabels europarl() {
    LanguageLabels l = europarl;
    if (l == null) {
      synchronized (LanguageLabels.class) {
        l = europarl;
        if (l == null) {
          InputStream in = LanguageLabels.class.getClassLoader().getResourceAsStream(EUROPARL_RESOURCE);
          if (in == null) {
            throw new IllegalStateException("corpus 'europarl' language labels " + EUROPARL_RESOURCE
                + " are not on the classpath (make them with `loupe corpus label europarl`)");
          }
          l = read(in, EUROPARL_RESOURCE);
          europarl = l;
        }
      }
    }
    return l;
  }

  /**
   * Reads a {@code docId\tlang} TSV (header line first, ids 0..n-1 in order) and closes the stream.
   *
   * @throws IllegalArgumentException naming {@code source} and the line when the table is malformed
   */
  public static LanguageLabels read(InputStream in, String source) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String header = r.readLine();
      if (!HEADER.equals(header)) {
        throw new IllegalArgumentException(source + ": first line is '" + header + "'; expected the header '"
            + HEADER.replace("\t", "\\t") + "'");
      }
      String[] labels = new String[1024];
      int n = 0;
      String line;
      while ((line = r.readLine()) != null) {
        int tab = line.indexOf('\t');
        int id;
        try {
          id = tab < 0 ? -1 : Integer.parseInt(line.substring(0, tab));
        } catch (NumberFormatException e) {
          id = -1;
        }
        if (id != n || tab == line.length() - 1) {
          throw new IllegalArgumentException(source + ":" + (n + 2) + " is '" + line + "'; expected '" + n
              + "\\t<language code>'");
        }
        if (n == labels.length) {
          labels = Arrays.copyOf(labels, n * 2);
        }
        String lang = line.substring(tab + 1);
        labels[n++] = lang.equals(UNDETERMINED) ? null : lang;
      }
      return new LanguageLabels(Arrays.copyOf(labels, n));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read language labels " + source + ": " + e.getMessage(), e);
    }
  }

  /** Writes the table to {@code target} atomically (a temp file renamed over it). */
  public void write(Path target) throws IOException {
    StringBuilder sb = new StringBuilder(byId.length * 10);
    sb.append(HEADER).append('\n');
    for (int i = 0; i < byId.length; i++) {
      sb.append(i).append('\t').append(byId[i] == null ? UNDETERMINED : byId[i]).append('\n');
    }
    AtomicFiles.write(target, sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** How many documents the table covers. */
  public int size() {
    return byId.length;
  }

  /**
   * The language of document {@code docId}, or null when it was undetermined.
   *
   * @throws IllegalArgumentException when the id is outside the table
   */
  public String get(int docId) {
    if (docId < 0 || docId >= byId.length) {
      throw new IllegalArgumentException("document id " + docId + " is outside the language labels (0.."
          + (byId.length - 1) + ")");
    }
    return byId[docId];
  }

  /** Documents per language code, sorted by code; undetermined ones under {@value #UNDETERMINED}. */
  public Map<String, Integer> counts() {
    Map<String, Integer> m = new TreeMap<>();
    for (String l : byId) {
      m.merge(l == null ? UNDETERMINED : l, 1, Integer::sum);
    }
    return Collections.unmodifiableMap(m);
  }
}
