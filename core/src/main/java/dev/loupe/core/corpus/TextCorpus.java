package dev.loupe.core.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import java.util.zip.GZIPInputStream;

/**
 * A corpus of text documents on local disk, read lazily. Three layouts:
 * <ul>
 *   <li>a plain-text file: documents are paragraphs separated by one or more blank lines (a
 *       file with one document per line therefore needs a blank line between them);</li>
 *   <li>a JSONL file ({@code .jsonl} or {@code .ndjson}): one JSON object per line, the text in a
 *       configurable field ({@code text} by default), optionally a label field;</li>
 *   <li>a directory: every {@code .txt} file below it is one document, in sorted path order.</li>
 * </ul>
 * Any file may be gzip-compressed ({@code .gz}, or detected by its magic bytes). Documents are
 * numbered from 0 in reading order. Instances are immutable; each {@link #documents()} call
 * reads afresh.
 */
public final class TextCorpus {
  /** How the documents are laid out. */
  public enum Format { TEXT, JSONL, DIRECTORY }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private final Format format;
  private final String textField;
  private final String labelField;

  private TextCorpus(Path path, Format format, String textField, String labelField) {
    this.path = path;
    this.format = format;
    this.textField = textField;
    this.labelField = labelField;
  }

  /**
   * Opens a corpus, telling the layout from the path (directory, {@code .jsonl}/{@code .ndjson}
   * with optional {@code .gz}, anything else plain text), JSONL text in field {@code text}.
   *
   * @throws IllegalArgumentException naming the path when it is missing, unreadable or holds no document
   */
  public static TextCorpus open(Path path) {
    return open(path, "text", null);
  }

  /**
   * Opens a corpus; {@code textField} and {@code labelField} (may be null) apply to JSONL.
   *
   * @throws IllegalArgumentException naming the path when it is missing, unreadable or holds no document
   */
  public static TextCorpus open(Path path, String textField, String labelField) {
    Objects.requireNonNull(path, "path");
    if (textField == null || textField.isBlank()) {
      throw new IllegalArgumentException("corpus text field is empty; expected a JSON field name such as 'text'");
    }
    if (!Files.exists(path)) {
      throw new IllegalArgumentException("corpus path " + path + " does not exist");
    }
    if (!Files.isReadable(path)) {
      throw new IllegalArgumentException("corpus path " + path + " is not readable");
    }
    TextCorpus c = new TextCorpus(path, formatOf(path), textField, labelField);
    try (Stream<Document> docs = c.documents()) {
      if (docs.findFirst().isEmpty()) {
        throw new IllegalArgumentException("corpus " + path + " has no documents ("
            + (c.format == Format.DIRECTORY ? "no non-empty .txt files" : "the file is empty or blank") + ")");
      }
    }
    return c;
  }

  private static Format formatOf(Path path) {
    if (Files.isDirectory(path)) {
      return Format.DIRECTORY;
    }
    String name = path.getFileName().toString().toLowerCase();
    if (name.endsWith(".gz")) {
      name = name.substring(0, name.length() - 3);
    }
    return name.endsWith(".jsonl") || name.endsWith(".ndjson") ? Format.JSONL : Format.TEXT;
  }

  public Path path() {
    return path;
  }

  public Format format() {
    return format;
  }

  /**
   * The documents, read lazily; close the stream to release the file.
   *
   * @throws UncheckedIOException naming the file when reading fails
   * @throws IllegalArgumentException naming file and line for a malformed JSONL record
   */
  public Stream<Document> documents() {
    switch (format) {
      case DIRECTORY:
        return directoryDocuments();
      case JSONL:
        return lineDocuments(true);
      default:
        return lineDocuments(false);
    }
  }

  private Stream<Document> directoryDocuments() {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(path)) {
      files = walk.filter(Files::isRegularFile)
          .filter(p -> {
            String n = p.getFileName().toString().toLowerCase();
            return n.endsWith(".txt") || n.endsWith(".txt.gz");
          })
          .sorted()
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list corpus directory " + path, e);
    }
    int[] next = {0};
    return files.stream().map(f -> {
      try (InputStream in = openMaybeGzip(f)) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read corpus file " + f, e);
      }
    }).filter(text -> !text.isBlank()).map(text -> new Document(next[0]++, text, null));
  }

  private Stream<Document> lineDocuments(boolean jsonl) {
    BufferedReader reader;
    try {
      reader = new BufferedReader(new InputStreamReader(openMaybeGzip(path), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open corpus " + path, e);
    }
    Iterator<Document> it = jsonl ? new JsonlIterator(reader) : new ParagraphIterator(reader);
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED | Spliterator.NONNULL),
        false).onClose(() -> {
          try {
            reader.close();
          } catch (IOException e) {
            throw new UncheckedIOException("cannot close corpus " + path, e);
          }
        });
  }

  private static InputStream openMaybeGzip(Path file) throws IOException {
    InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    in.mark(2);
    int b1 = in.read();
    int b2 = in.read();
    in.reset();
    if (b1 == 0x1f && b2 == 0x8b) {
      return new GZIPInputStream(in, 1 << 16);
    }
    return in;
  }

  /** Reads ahead one document at a time. */
  private abstract class ReadingIterator implements Iterator<Document> {
    final BufferedReader reader;
    long lineNo;
    int nextId;
    Document next;
    boolean done;

    ReadingIterator(BufferedReader reader) {
      this.reader = reader;
    }

    abstract Document read() throws IOException;

    String line() throws IOException {
      String l = reader.readLine();
      if (l != null) {
        lineNo++;
      }
      return l;
    }

    @Override
    public boolean hasNext() {
      if (next == null && !done) {
        try {
          next = read();
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read corpus " + path + " at line " + lineNo, e);
        }
        done = next == null;
      }
      return next != null;
    }

    @Override
    public Document next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Document d = next;
      next = null;
      return d;
    }
  }

  private final class ParagraphIterator extends ReadingIterator {
    ParagraphIterator(BufferedReader reader) {
      super(reader);
    }

    @Override
    Document read() throws IOException {
      List<String> lines = new ArrayList<>();
      String l;
      while ((l = line()) != null) {
        if (l.isBlank()) {
          if (!lines.isEmpty()) {
            break;
          }
        } else {
          lines.add(l);
        }
      }
      return lines.isEmpty() ? null : new Document(nextId++, String.join("\n", lines), null);
    }
  }

  private final class JsonlIterator extends ReadingIterator {
    JsonlIterator(BufferedReader reader) {
      super(reader);
    }

    @Override
    Document read() throws IOException {
      String l;
      while ((l = line()) != null) {
        if (l.isBlank()) {
          continue;
        }
        JsonNode node;
        try {
          node = JSON.readTree(l);
        } catch (JsonProcessingException e) {
          throw new IllegalArgumentException(path + ":" + lineNo + " is not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode text = node == null ? null : node.get(textField);
        if (text == null || !text.isTextual()) {
          throw new IllegalArgumentException(path + ":" + lineNo + " has no string field '" + textField
              + "' (set the corpus text field to the field that holds the text)");
        }
        String label = null;
        if (labelField != null) {
          JsonNode lab = node.get(labelField);
          label = lab == null || lab.isNull() ? null : lab.asText();
        }
        return new Document(nextId++, text.asText(), label);
      }
      return null;
    }
  }
}
