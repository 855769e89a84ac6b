package dev.loupe.core.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.sdk.model.EncodedPair;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * A tokenizer read from a Hugging Face {@code tokenizer.json}, run by the Rust {@code tokenizers}
 * library through DJL. Encodes without special tokens, as a causal model is fed, unless built with
 * them for an encoder (BERT's [CLS] ... [SEP] from the post-processor). Thread-safe;
 * {@link #close()} frees the native tokenizer.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  // Characters the ByteLevel alphabet uses for each byte, inverted: token text -> raw bytes.
  private static final int[] BYTE_OF_SYMBOL = new int[512];

  static {
    java.util.Arrays.fill(BYTE_OF_SYMBOL, -1);
    for (int b = 0; b < 256; b++) {
      BYTE_OF_SYMBOL[ByteTokenizer.byteLevelSymbol(b).charAt(0)] = b;
    }
  }

  private final String source;
  private final String json;
  private final HuggingFaceTokenizer tokenizer;
  private final String[] tokens;
  private final boolean byteLevel;
  private final boolean addSpecialTokens;

  private HfTokenizer(String source, String json, HuggingFaceTokenizer tokenizer, String[] tokens, boolean byteLevel,
      boolean addSpecialTokens) {
    this.addSpecialTokens = addSpecialTokens;
    this.source = source;
    this.json = json;
    this.tokenizer = tokenizer;
    this.tokens = tokens;
    this.byteLevel = byteLevel;
  }

  /**
   * Loads a {@code tokenizer.json} file.
   *
   * @throws IllegalArgumentException naming the file when it is missing or not a tokenizer the
   *     library accepts
   * @throws UncheckedIOException when it exists but cannot be read
   */
  public static HfTokenizer load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + " does not exist; expected a Hugging Face tokenizer.json");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return fromJson(text, file.toString());
  }

  /**
   * Builds a tokenizer from the text of a {@code tokenizer.json}.
   *
   * @param source names the document in error messages (a file path, "ByteTokenizer", ...)
   * @throws IllegalArgumentException naming {@code source} and the field when the document is not
   *     a tokenizer the library accepts
   */
  public static HfTokenizer fromJson(String json, String source) {
    return fromJson(json, source, false);
  }

  /**
   * Builds a tokenizer from the text of a {@code tokenizer.json}, adding the special tokens its
   * post-processor defines when {@code addSpecialTokens} (as encoders such as BERT are fed).
   *
   * @throws IllegalArgumentException as {@link #fromJson(String, String)}
   */
  public static HfTokenizer fromJson(String json, String source, boolean addSpecialTokens) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException(source + " is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(source + " must be a JSON object (a Hugging Face tokenizer.json)");
    }
    String[] tokens = vocabulary(root, source);
    boolean byteLevel = usesByteLevel(root.get("decoder"));
    HuggingFaceTokenizer hf;
    try {
      // No truncation or padding: the model sees exactly the text's tokens (plus [CLS]/[SEP] for encoders).
      hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
          Map.of("addSpecialTokens", Boolean.toString(addSpecialTokens), "truncation", "false", "padding", "false"));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(source + " is not a tokenizer the Hugging Face tokenizers library accepts: "
          + e.getMessage(), e);
    }
    return new HfTokenizer(source, json, hf, tokens, byteLevel, addSpecialTokens);
  }

  /** Token text by id from model.vocab (an object for BPE/WordPiece, [token, score] pairs for Unigram) and added_tokens. */
  private static String[] vocabulary(JsonNode root, String source) {
    JsonNode model = root.get("model");
    if (model == null || !model.isObject()) {
      throw new IllegalArgumentException(source + ": field model is missing; expected an object with a vocab");
    }
    JsonNode vocab = model.get("vocab");
    Map<Integer, String> byId = new java.util.HashMap<>();
    if (vocab != null && vocab.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().canConvertToInt() || e.getValue().intValue() < 0) {
          throw new IllegalArgumentException(source + ": model.vocab[\"" + e.getKey()
              + "\"] must be a non-negative integer id, got " + e.getValue());
        }
        byId.put(e.getValue().intValue(), e.getKey());
      }
    } else if (vocab != null && vocab.isArray()) {
      for (int i = 0; i < vocab.size(); i++) {
        byId.put(i, vocab.get(i).path(0).asText());
      }
    } else {
      throw new IllegalArgumentException(source + ": field model.vocab is missing; expected an object or array");
    }
    JsonNode added = root.get("added_tokens");
    if (added != null && added.isArray()) {
      for (int i = 0; i < added.size(); i++) {
        JsonNode t = added.get(i);
        if (!t.path("id").canConvertToInt() || t.path("id").intValue() < 0 || !t.path("content").isTextual()) {
          throw new IllegalArgumentException(source + ": added_tokens[" + i + "] needs an integer id and a content string");
        }
        byId.put(t.get("id").intValue(), t.get("content").textValue());
      }
    }
    int size = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    if (size == 0) {
      throw new IllegalArgumentException(source + ": model.vocab is empty");
    }
    String[] tokens = new String[size];
    byId.forEach((id, text) -> tokens[id] = text);
    return tokens;
  }

  private static boolean usesByteLevel(JsonNode decoder) {
    if (decoder == null || !decoder.isObject()) {
      return false;
    }
    if ("ByteLevel".equals(decoder.path("type").asText())) {
      return true;
    }
    for (JsonNode d : decoder.path("decoders")) {
      if (usesByteLevel(d)) {
        return true;
      }
    }
    return false;
  }

  /** One more than the largest id in the vocabulary and the added tokens. */
  @Override
  public int vocabSize() {
    return tokens.length;
  }

  @Override
  public int[] encode(String text) {
    if (text == null) {
      throw new IllegalArgumentException("text to encode is null");
    }
    long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  /**
   * Encodes a pair through the tokenizer's post-processor; special tokens are added as this
   * tokenizer was built (with them for encoders), and the type ids come from the library.
   *
   * @throws IllegalArgumentException when either text is null
   */
  @Override
  public EncodedPair encodePair(String first, String second) {
    if (first == null || second == null) {
      throw new IllegalArgumentException("text pair to encode has a null " + (first == null ? "first" : "second")
          + " text");
    }
    Encoding e = tokenizer.encode(first, second, addSpecialTokens, false);
    return new EncodedPair(toInts(e.getIds()), toInts(e.getTypeIds()));
  }

  private static int[] toInts(long[] v) {
    int[] out = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = Math.toIntExact(v[i]);
    }
    return out;
  }

  /** Decodes with the tokenizer's decoder, special tokens kept; bytes that are not valid UTF-8 become U+FFFD. */
  @Override
  public String decode(int[] tokenIds) {
    long[] ids = new long[tokenIds.length];
    for (int i = 0; i < tokenIds.length; i++) {
      check(tokenIds[i], "tokenIds[" + i + "]");
      ids[i] = tokenIds[i];
    }
    return tokenizer.decode(ids, false);
  }

  /**
   * The token as printable text: for byte-level vocabularies its bytes, with each byte that is not
   * part of a printable UTF-8 character shown as {@code \xNN} (so single-byte tokens read as
   * {@link ByteTokenizer} shows them); otherwise its decoded text with control characters escaped.
   */
  @Override
  public String tokenText(int tokenId) {
    check(tokenId, "token id");
    String token = tokens[tokenId];
    if (token == null) {
      return "<unused " + tokenId + ">";
    }
    if (byteLevel) {
      byte[] bytes = byteLevelBytes(token);
      if (bytes != null) {
        return printable(bytes);
      }
    }
    return printable(tokenizer.decode(new long[] {tokenId}, false).getBytes(StandardCharsets.UTF_8));
  }

  /** The raw bytes of a ByteLevel token, or null when it holds a character outside that alphabet. */
  private static byte[] byteLevelBytes(String token) {
    byte[] out = new byte[token.length()];
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      int b = c < BYTE_OF_SYMBOL.length ? BYTE_OF_SYMBOL[c] : -1;
      if (b < 0) {
        return null;
      }
      out[i] = (byte) b;
    }
    return out;
  }

  private static String printable(byte[] bytes) {
    StringBuilder sb = new StringBuilder();
    int i = 0;
    while (i < bytes.length) {
      int len = utf8Length(bytes[i]);
      String ch = len > 0 && i + len <= bytes.length ? decodeStrict(bytes, i, len) : null;
      if (ch != null && !Character.isISOControl(ch.codePointAt(0))) {
        sb.append(ch);
        i += len;
      } else {
        sb.append(String.format("\\x%02x", bytes[i] & 0xff));
        i++;
      }
    }
    return sb.toString();
  }

  private static int utf8Length(byte lead) {
    int b = lead & 0xff;
    if (b < 0x80) {
      return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      return 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      return 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      return 4;
    }
    return 0;
  }

  private static String decodeStrict(byte[] bytes, int off, int len) {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, off, len)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private void check(int id, String what) {
    if (id < 0 || id >= tokens.length) {
      throw new IllegalArgumentException(what + " = " + id + " is outside the vocabulary [0, " + tokens.length
          + ") of " + source);
    }
  }

  /** The {@code tokenizer.json} text this was built from, unchanged. */
  @Override
  public String toTokenizerJson() {
    return json;
  }

  /** Frees the native tokenizer; encoding or decoding afterwards fails. */
  @Override
  public void close() {
    tokenizer.close();
  }

  @Override
  public String toString() {
    return "HfTokenizer[" + source + ", " + tokens.length + " ids]";
  }
}
