package dev.loupe.core.cli;

import dev.loupe.core.model.TokenSampler;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.session.LocalModelSession;
import dev.loupe.sdk.model.ModelInfo;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.RunResult;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.IntConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe generate}: autoregressive text generation from a prompt, greedy or sampled. There
 * is no KV cache yet: each new token reruns the model over the whole sequence, so a step costs a
 * full forward pass of the current length.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = {"Continue a prompt, one token at a time (greedy, or sampled with temperature, top-k, top-p).",
        "No KV cache: every step reruns the whole sequence. A prompt longer than the context is cut from the left;",
        "generation stops after --max-new-tokens or once the sequence has filled the model's context."})
final class GenerateCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Option(names = "--model", required = true, paramLabel = "MODEL",
      description = "model reference: tiny, random-gpt2:<layers>x<d_model> or a Hugging Face model directory")
  String model;

  @Option(names = "--text", required = true, paramLabel = "TEXT", description = "the prompt")
  String text;

  @Option(names = "--max-new-tokens", paramLabel = "N", description = "tokens to generate at most (default: ${DEFAULT-VALUE})")
  int maxNewTokens = 64;

  @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy (default: ${DEFAULT-VALUE})")
  double temperature = 0;

  @Option(names = "--top-k", paramLabel = "K", description = "sample only among the K most likely tokens (default: no limit)")
  int topK = 0;

  @Option(names = "--top-p", paramLabel = "P",
      description = "nucleus sampling: only the smallest set of most likely tokens with total probability >= P (default: 1)")
  double topP = 1;

  @Option(names = "--seed", paramLabel = "S", description = "random seed for sampling (default: random; printed with --json)")
  Long seed;

  @Option(names = "--json", description = "print one JSON document instead of streaming the text")
  boolean json;

  /** Why generation ended. */
  enum Stop { MAX_NEW_TOKENS, CONTEXT }

  /** The outcome of one generation: the prompt as fed (after any truncation) and the new tokens. */
  record Generated(int[] prompt, int truncated, int[] tokens, Stop stop, long nanos) {
    double tokensPerSecond() {
      return nanos == 0 ? 0 : tokens.length / (nanos / 1e9);
    }
  }

  @Override
  public Integer call() throws Exception {
    if (maxNewTokens < 0) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "--max-new-tokens must be >= 0, got " + maxNewTokens);
    }
    long s = seed != null ? seed : System.nanoTime();
    TokenSampler sampler;
    try {
      sampler = new TokenSampler(temperature, topK, topP, s);
    } catch (IllegalArgumentException e) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, e.getMessage());
    }
    PrintWriter o = parent.spec.commandLine().getOut();
    PrintWriter err = parent.spec.commandLine().getErr();
    try (LocalModelSession session = LocalModelSession.open(model)) {
      requireCausal(session.info());
      int[] prompt = session.encode(text);
      if (prompt.length == 0) {
        throw new LoupeCli.CliException(LoupeCli.USAGE, "--text encodes to no tokens; give a non-empty prompt");
      }
      int ctx = session.info().maxContext();
      if (prompt.length > ctx) {
        err.printf("note: the prompt has %d tokens; keeping the last %d (the model's context)%n", prompt.length, ctx);
        err.flush();
      }
      StreamingText stream = json ? null : new StreamingText(session, o);
      if (stream != null) {
        o.print(text);
        o.flush();
      }
      Generated g = generate(session, prompt, maxNewTokens, sampler, stream == null ? id -> { } : stream::accept);
      if (json) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("model", session.info().id());
        doc.put("prompt", text);
        doc.put("promptTokens", g.prompt());
        doc.put("truncatedPromptTokens", g.truncated());
        doc.put("tokens", g.tokens());
        doc.put("text", session.decode(g.tokens()));
        doc.put("stop", g.stop().name().toLowerCase(java.util.Locale.ROOT));
        doc.put("temperature", temperature);
        doc.put("topK", topK);
        doc.put("topP", topP);
        doc.put("seed", sampler.greedy() ? null : s);
        doc.put("tokensPerSecond", g.tokensPerSecond());
        o.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
      } else {
        stream.finish();
        o.println();
      }
      err.printf("generated %d tokens in %.2f s (%.1f tokens/s, no KV cache), stopped at %s%s%n", g.tokens().length,
          g.nanos() / 1e9, g.tokensPerSecond(), g.stop() == Stop.CONTEXT ? "the context length" : "--max-new-tokens",
          sampler.greedy() ? "" : ", seed " + s);
    }
    o.flush();
    err.flush();
    return LoupeCli.OK;
  }

  static void requireCausal(ModelInfo info) {
    if (!info.causal()) {
      throw new LoupeCli.CliException(LoupeCli.USAGE, "model '" + info.id() + "' (" + info.architecture()
          + ") is not a causal language model: it has no next-token logits to generate from");
    }
  }

  /**
   * Generates up to {@code maxNew} tokens after {@code prompt}, calling {@code onToken} with each
   * as it comes. A prompt longer than the context keeps its last tokens; generation stops after
   * {@code maxNew} tokens or once the sequence reaches the context (the last token is predicted from
   * a full context, and the next step would not fit).
   */
  static Generated generate(ModelSession session, int[] prompt, int maxNew, TokenSampler sampler, IntConsumer onToken) {
    ModelInfo info = session.info();
    requireCausal(info);
    int ctx = info.maxContext();
    int truncated = Math.max(0, prompt.length - ctx);
    int[] fed = Arrays.copyOfRange(prompt, truncated, prompt.length);
    int[] seq = Arrays.copyOf(fed, Math.min(ctx, fed.length + maxNew));
    int len = fed.length;
    int made = 0;
    long t0 = System.nanoTime();
    while (made < maxNew) {
      int next;
      try (RunResult r = session.run(new int[][] {Arrays.copyOf(seq, len)}, Set.of())) {
        float[] last = r.output().get(0, len - 1).toFloatArray();
        next = sampler.next(last, 0, last.length); // the logits' own width: some checkpoints pad the vocabulary
      }
      made++;
      onToken.accept(next);
      if (len == ctx) {
        // the sequence is full: this token was predicted from the whole context and is kept, but no further step fits
        int[] tokens = Arrays.copyOfRange(seq, fed.length, len);
        int[] all = Arrays.copyOf(tokens, tokens.length + 1);
        all[tokens.length] = next;
        return new Generated(fed, truncated, all, made < maxNew ? Stop.CONTEXT : Stop.MAX_NEW_TOKENS,
            System.nanoTime() - t0);
      }
      seq[len++] = next;
    }
    return new Generated(fed, truncated, Arrays.copyOfRange(seq, fed.length, len), Stop.MAX_NEW_TOKENS,
        System.nanoTime() - t0);
  }

  /**
   * Prints the continuation as it grows: decodes all new tokens each time and prints what was not
   * printed yet, holding back an incomplete UTF-8 character (shown as U+FFFD) until it completes.
   */
  static final class StreamingText {
    private final ModelSession session;
    private final PrintWriter out;
    private int[] tokens = new int[16];
    private int n;
    private int printed;

    StreamingText(ModelSession session, PrintWriter out) {
      this.session = session;
      this.out = out;
    }

    void accept(int id) {
      if (n == tokens.length) {
        tokens = Arrays.copyOf(tokens, n * 2);
      }
      tokens[n++] = id;
      String s = session.decode(Arrays.copyOf(tokens, n));
      if (!s.endsWith("\uFFFD")) {
        flushFrom(s);
      }
    }

    void finish() {
      flushFrom(session.decode(Arrays.copyOf(tokens, n)));
    }

    private void flushFrom(String s) {
      if (s.length() > printed) {
        out.print(s.substring(printed));
        out.flush();
        printed = s.length();
      }
    }
  }
}
