package dev.loupe.core.cli;

import dev.loupe.core.model.TokenSampler;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.RunResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe trace}: one forward pass over a text or token ids, showing the tokens and the most
 * likely next tokens, and saving the output and the chosen activations to a safetensors file for
 * analysis elsewhere (numpy, torch).
 */
@Command(name = "trace", mixinStandardHelpOptions = true,
    description = "Run one forward pass, show the tokens and top next tokens, save logits and activations.")
final class TraceCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Option(names = "--model", required = true, paramLabel = "MODEL",
      description = "model reference: tiny, random-gpt2:<layers>x<d_model> or a Hugging Face model directory")
  String model;

  @Option(names = "--text", paramLabel = "TEXT", description = "input text (tokenized by the model's tokenizer)")
  String text;

  @Option(names = "--tokens", paramLabel = "ID,...", description = "input token ids, e.g. 1,2,3")
  String tokens;

  @Option(names = "--hooks", split = ",", paramLabel = "HOOK,...",
      description = "hooks to capture, e.g. blocks.0.hook_resid_post (see `loupe model info MODEL`)")
  List<String> hooks = new ArrayList<>();

  @Option(names = "--top", paramLabel = "K", description = "next tokens to show at the last position (default: ${DEFAULT-VALUE})")
  int top = 10;

  @Option(names = "--out", paramLabel = "FILE.safetensors",
      description = "write logits (or last_hidden_state), tokens and every captured hook here")
  Path out;

  @Option(names = "--json", description = "print one JSON document")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if ((text == null) == (tokens == null)) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "give exactly one of --text or --tokens");
    }
    if (top < 0) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--top must be >= 0, got " + top);
    }
    if (out != null && java.nio.file.Files.isDirectory(out)) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--out: " + out + " is a directory; give a file name such as "
          + out.resolve("trace.safetensors"));
    }
    PrintWriter o = parent.spec.commandLine().getOut();
    try (LocalModelSession session = LocalModelSession.open(model)) {
      ModelInfo info = session.info();
      Set<String> capture = new LinkedHashSet<>();
      for (String h : hooks) {
        if (!info.hasHook(h)) {
          throw new LoupeCli.CliException(LoupeCli.USAGE, "--hooks: model '" + info.id() + "' has no hook '" + h
              + "'; run `loupe model info " + info.id() + "` for the list");
        }
        capture.add(h);
      }
      int[] ids = text != null ? session.encode(text) : parseTokens(tokens, info.vocabSize());
      if (ids.length == 0) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--text encodes to no tokens; give a non-empty text");
      }
      if (ids.length > info.maxContext()) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "input has " + ids.length + " tokens, more than the context of "
            + info.maxContext() + " of model '" + info.id() + "'");
      }
      try (RunResult r = session.run(new int[][] {ids}, capture)) {
        NDArray output = r.output();
        long[] shape = output.getShape().getShape();
        float[] values = floats(output);
        List<Map<String, Object>> topNext = info.causal() ? topNext(session, values, ids.length, (int) shape[2]) : List.of();
        Path written = out == null ? null : write(info, ids, r, capture, values, shape);
        if (json) {
          Map<String, Object> doc = new LinkedHashMap<>();
          doc.put("model", info.id());
          doc.put("tokens", tokenList(session, ids));
          if (info.causal()) {
            doc.put("top", topNext);
          }
          Map<String, Object> captured = new LinkedHashMap<>();
          for (String h : capture) {
            captured.put(h, r.activation(h).getShape().getShape());
          }
          doc.put("captured", captured);
          doc.put("out", written == null ? null : written.toString());
          o.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
        } else {
          printText(o, session, info, ids, topNext, r, capture, written);
        }
      }
    }
    o.flush();
    return LoupeCli.OK;
  }

  /**
   * Parses {@code 1,2,3}.
   *
   * @throws LoupeCli.CliException naming the index of an entry that is not an integer or lies outside the vocabulary
   */
  static int[] parseTokens(String list, int vocab) {
    String[] parts = list.split(",", -1);
    int[] ids = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      String p = parts[i].trim();
      try {
        ids[i] = Integer.parseInt(p);
      } catch (NumberFormatException e) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--tokens[" + i + "] = '" + p + "' is not a token id (an integer)");
      }
      if (ids[i] < 0 || ids[i] >= vocab) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--tokens[" + i + "] = " + ids[i]
            + " is outside the vocabulary [0, " + vocab + ")");
      }
    }
    return ids;
  }

  private static float[] floats(NDArray a) {
    return a.getDataType() == DataType.FLOAT32 ? a.toFloatArray() : a.toType(DataType.FLOAT32, false).toFloatArray();
  }

  /** The top next tokens at the last position, by probability (softmax in double over the whole vocabulary). */
  private List<Map<String, Object>> topNext(LocalModelSession session, float[] logits, int len, int vocab) {
    int offset = (len - 1) * vocab;
    double[] probs = TokenSampler.softmax(logits, offset, vocab);
    int[] order = TokenSampler.byDescendingLogit(logits, offset, vocab);
    List<Map<String, Object>> out = new ArrayList<>();
    for (int r = 0; r < Math.min(top, vocab); r++) {
      int id = order[r];
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", id);
      m.put("text", session.tokenText(id));
      m.put("prob", probs[id]);
      m.put("logit", logits[offset + id]);
      out.add(m);
    }
    return out;
  }

  private static List<Map<String, Object>> tokenList(LocalModelSession session, int[] ids) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (int id : ids) {
      out.add(Map.of("id", id, "text", session.tokenText(id)));
    }
    return out;
  }

  private Path write(ModelInfo info, int[] ids, RunResult r, Set<String> capture, float[] output, long[] shape)
      throws java.io.IOException {
    Map<String, TensorData> tensors = new LinkedHashMap<>();
    tensors.put(info.causal() ? "logits" : "last_hidden_state", TensorData.f32(output, shape));
    tensors.put("tokens", TensorData.i32(ids, 1, ids.length));
    for (String h : capture) {
      NDArray a = r.activation(h);
      tensors.put(h, TensorData.f32(floats(a), a.getShape().getShape()));
    }
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("model", info.id());
    meta.put("architecture", info.architecture());
    if (text != null) {
      meta.put("text", text);
    }
    Path target = out.toAbsolutePath();
    Safetensors.write(target, tensors, meta);
    return target;
  }

  private void printText(PrintWriter o, LocalModelSession session, ModelInfo info, int[] ids,
      List<Map<String, Object>> topNext, RunResult r, Set<String> capture, Path written) {
    o.printf("%s: %d tokens%n", info.id(), ids.length);
    for (int i = 0; i < ids.length; i++) {
      o.printf("  %4d  %7d  %s%n", i, ids[i], quoted(session.tokenText(ids[i])));
    }
    if (info.causal() && !topNext.isEmpty()) {
      o.printf("top %d next tokens after position %d:%n", topNext.size(), ids.length - 1);
      for (Map<String, Object> t : topNext) {
        o.printf("  %7d  %-20s p=%.6f  logit=%.4f%n", t.get("id"), quoted((String) t.get("text")), t.get("prob"),
            t.get("logit"));
      }
    }
    for (String h : capture) {
      o.printf("captured %-36s %s%n", h, Arrays.toString(r.activation(h).getShape().getShape()));
    }
    if (written != null) {
      o.println("wrote " + written);
    }
  }

  private static String quoted(String s) {
    return "'" + s.replace("\n", "\\n").replace("\t", "\\t") + "'";
  }
}
