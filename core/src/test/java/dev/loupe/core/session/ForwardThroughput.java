package dev.loupe.core.session;

import dev.loupe.sdk.hook.HookPoint;
import dev.loupe.sdk.model.RunResult;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

/**
 * Prints forward-pass throughput of a model (default {@code tiny}) on a full batch, without
 * capture and capturing every residual hook. Not a test: run it by hand, e.g.
 * {@code java -cp ... dev.loupe.core.session.ForwardThroughput tiny 8 256}.
 */
public final class ForwardThroughput {
  private ForwardThroughput() {
  }

  public static void main(String[] args) {
    String ref = args.length > 0 ? args[0] : "tiny";
    int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    int seq = args.length > 2 ? Integer.parseInt(args[2]) : 256;
    int iterations = args.length > 3 ? Integer.parseInt(args[3]) : 20;
    try (LocalModelSession session = LocalModelSession.open(ref)) {
      Random r = new Random(0);
      int[][] tokens = new int[batch][seq];
      for (int[] row : tokens) {
        for (int i = 0; i < seq; i++) {
          row[i] = r.nextInt(session.info().vocabSize());
        }
      }
      Set<String> resid = new HashSet<>();
      for (String h : session.info().hookNames()) {
        if (h.startsWith("blocks.") && HookPoint.parse(h).isResidual()) {
          resid.add(h);
        }
      }
      measure(session, tokens, Set.of(), "no capture", iterations);
      measure(session, tokens, resid, "capture " + resid.size() + " resid hooks", iterations);
      measure(session, tokens, resid, "capture " + resid.size() + " resid hooks + copy to heap", iterations, true);
    }
  }

  private static void measure(LocalModelSession s, int[][] tokens, Set<String> hooks, String label, int n) {
    measure(s, tokens, hooks, label, n, false);
  }

  private static void measure(LocalModelSession s, int[][] tokens, Set<String> hooks, String label, int n,
      boolean copy) {
    for (int i = 0; i < 3; i++) {
      s.run(tokens, hooks).close();
    }
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      try (RunResult r = s.run(tokens, hooks)) {
        if (copy) {
          for (String h : hooks) {
            r.activation(h).toFloatArray();
          }
        }
      }
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    long tokensPerPass = (long) tokens.length * tokens[0].length;
    System.out.printf("%s %dx%d, %s: %.1f ms/pass, %.0f tokens/s%n", s.id(), tokens.length, tokens[0].length, label,
        1000 * secs / n, n * tokensPerPass / secs);
  }
}
