package dev.loupe.core.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The byte-level tokenizer of Loupe's small models: one token per UTF-8 byte, ids 0..255. Needs
 * no vocabulary file, never fails on any text, and decodes exactly what was encoded.
 */
public final class ByteTokenizer implements Tokenizer {
  /** Number of ids: one per byte value. */
  public static final int VOCAB_SIZE = 256;

  private static final ByteTokenizer INSTANCE = new ByteTokenizer();

  private ByteTokenizer() {
  }

  /** The (stateless) tokenizer. */
  public static ByteTokenizer instance() {
    return INSTANCE;
  }

  @Override
  public int vocabSize() {
    return VOCAB_SIZE;
  }

  @Override
  public int[] encode(String text) {
    if (text == null) {
      throw new IllegalArgumentException("text to encode is null");
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = bytes[i] & 0xff;
    }
    return ids;
  }

  /** Decodes the bytes as UTF-8; an incomplete or invalid sequence becomes U+FFFD. */
  @Override
  public String decode(int[] tokenIds) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(tokenIds.length);
    for (int i = 0; i < tokenIds.length; i++) {
      check(tokenIds[i], "tokenIds[" + i + "]");
      out.write(tokenIds[i]);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** Printable ASCII (and space) as itself, every other byte as {@code \xNN}. */
  @Override
  public String tokenText(int tokenId) {
    check(tokenId, "token id");
    if (tokenId >= 0x20 && tokenId < 0x7f) {
      return String.valueOf((char) tokenId);
    }
    return String.format("\\x%02x", tokenId);
  }

  private static void check(int id, String what) {
    if (id < 0 || id >= VOCAB_SIZE) {
      throw new IllegalArgumentException(what + " = " + id + " is outside the byte vocabulary [0, 256)");
    }
  }

  /**
   * A Hugging Face {@code tokenizer.json} that tokenizes the same way: a BPE model with no merges
   * over the 256 byte symbols of the ByteLevel pre-tokenizer's alphabet, so id i is byte i.
   */
  @Override
  public String toTokenizerJson() {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    root.putArray("added_tokens");
    root.putNull("normalizer");
    ObjectNode pre = root.putObject("pre_tokenizer");
    pre.put("type", "ByteLevel");
    pre.put("add_prefix_space", false);
    pre.put("trim_offsets", false);
    pre.put("use_regex", false);
    root.putNull("post_processor");
    ObjectNode dec = root.putObject("decoder");
    dec.put("type", "ByteLevel");
    dec.put("add_prefix_space", false);
    dec.put("trim_offsets", false);
    dec.put("use_regex", false);
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.putNull("unk_token");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    ObjectNode vocab = model.putObject("vocab");
    for (int b = 0; b < VOCAB_SIZE; b++) {
      vocab.put(byteLevelSymbol(b), b);
    }
    model.putArray("merges");
    try {
      return json.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write tokenizer JSON", e);
    }
  }

  /**
   * The ByteLevel alphabet's character for byte {@code b}: printable Latin-1 bytes map to
   * themselves, the rest to U+0100 upwards in byte order (GPT-2's bytes_to_unicode table).
   */
  static String byteLevelSymbol(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
      return String.valueOf((char) b);
    }
    int n = 0;
    for (int i = 0; i < b; i++) {
      if (!((i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF))) {
        n++;
      }
    }
    return String.valueOf((char) (256 + n));
  }
}
