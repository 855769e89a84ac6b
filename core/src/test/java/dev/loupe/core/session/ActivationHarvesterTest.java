package dev.loupe.core.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.core.corpus.Document;
import dev.loupe.core.corpus.TokenWindow;
import dev.loupe.core.corpus.TokenWindows;
import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSink;
import dev.loupe.sdk.model.RunResult;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ActivationHarvesterTest {
  private static final String RESID = "blocks.1.hook_resid_post";
  private LocalModelSession session;

  @BeforeAll
  void open() {
    session = LocalModelSession.open("random-gpt2:2x64");
  }

  @AfterAll
  void close() {
    session.close();
  }

  /** Keeps every batch it is given. */
  static final class CollectingSink implements ActivationSink {
    final List<ActivationBatch> batches = new ArrayList<>();
    boolean closed;

    @Override
    public void accept(ActivationBatch batch) {
      batches.add(batch);
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  private List<TokenWindow> windows(int ctx, String... texts) {
    List<Document> docs = new ArrayList<>();
    for (int i = 0; i < texts.length; i++) {
      docs.add(new Document(i, texts[i], null));
    }
    try (Stream<TokenWindow> w = TokenWindows.of(docs.stream(), session::encode, ctx)) {
      return w.collect(Collectors.toList());
    }
  }

  @Test
  void everyRealTokenBecomesOneRowWithItsProvenance() throws InterruptedException {
    List<TokenWindow> windows = windows(8, "The quick brown fox", "jumps", "over the lazy dog");
    int total = windows.stream().mapToInt(TokenWindow::length).sum();
    CollectingSink sink = new CollectingSink();
    ActivationHarvester.Summary s = new ActivationHarvester(session, 3, 10)
        .harvest(windows.iterator(), Map.of(RESID, sink), Long.MAX_VALUE, null);
    assertThat(s.tokens()).isEqualTo(total);
    assertThat(sink.batches).extracting(ActivationBatch::sequence).containsExactly(0L, 1L, 2L, 3L, 4L);
    assertThat(sink.batches.subList(0, 4)).allMatch(b -> b.rows() == 10 && b.width() == 64);
    assertThat(sink.batches.get(4).rows()).isEqualTo(total - 40);
    assertThat(sink.closed).as("the caller closes the sinks").isFalse();

    // "The quick brown fox" gives 8 + 8 + 3 rows, so "jumps" (doc 1) starts at row 19: batch 1, row 9
    ActivationBatch b = sink.batches.get(1);
    int row = 9;
    assertThat(b.docIds()[row]).isEqualTo(1);
    assertThat(b.docIds()[row - 1]).isEqualTo(0);
    assertThat(b.positions()[row]).isZero();
    assertThat(b.tokenIds()[row]).isEqualTo('j');
    try (RunResult alone = session.run(new int[][] {session.encode("jumps")}, Set.of(RESID))) {
      float[] expected = alone.activation(RESID).get("0, 0").toFloatArray();
      float[] got = b.row(row);
      for (int i = 0; i < expected.length; i++) {
        assertThat(got[i]).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-5f));
      }
    }
  }

  @Test
  void theTokenLimitIsExactAndProgressReachesIt() throws InterruptedException {
    List<TokenWindow> windows = windows(8, "abcdefghijklmnopqrstuvwxyz".repeat(3));
    CollectingSink sink = new CollectingSink();
    List<long[]> progress = new ArrayList<>();
    ActivationHarvester.Summary s = new ActivationHarvester(session, 2, 100)
        .harvest(windows.iterator(), Map.of(RESID, sink, "blocks.0.attn.hook_z", new CollectingSink()), 21,
            (done, total) -> progress.add(new long[] {done, total}));
    assertThat(s.tokens()).isEqualTo(21);
    assertThat(sink.batches).hasSize(1);
    assertThat(sink.batches.get(0).rows()).isEqualTo(21);
    assertThat(sink.batches.get(0).positions()[20]).isEqualTo(20);
    assertThat(progress).extracting(p -> p[0]).containsExactly(16L, 21L);
    assertThat(s.batchesPerHook()).containsEntry("blocks.0.attn.hook_z", 1L);
  }

  @Test
  void headHooksAreFlattenedIntoOneRowPerToken() throws InterruptedException {
    CollectingSink sink = new CollectingSink();
    new ActivationHarvester(session, 4, 1000)
        .harvest(windows(16, "heads").iterator(), Map.of("blocks.0.attn.hook_z", sink), Long.MAX_VALUE, null);
    assertThat(sink.batches.get(0).width()).isEqualTo(64);
    assertThat(sink.batches.get(0).rows()).isEqualTo(5);
  }

  @Test
  void everyCapturedHookKindReachesItsRowsWithTheForwardPassValues() throws InterruptedException {
    // hook_q/k/v/z come out of head reshapes and permutes: rows must be read in logical order.
    java.util.List<String> hooks = java.util.List.of("blocks.0.attn.hook_q", "blocks.0.attn.hook_z",
        "blocks.1.mlp.hook_post", RESID);
    Map<String, ActivationSink> sinks = new java.util.LinkedHashMap<>();
    Map<String, CollectingSink> got = new java.util.LinkedHashMap<>();
    for (String h : hooks) {
      CollectingSink c = new CollectingSink();
      got.put(h, c);
      sinks.put(h, c);
    }
    java.util.List<TokenWindow> ws = windows(16, "heads and more heads");
    new ActivationHarvester(session, 4, 1000).harvest(ws.iterator(), sinks, Long.MAX_VALUE, null);

    int[] first = ws.get(0).tokens();
    try (dev.loupe.sdk.model.RunResult direct = session.run(new int[][] {first}, java.util.Set.copyOf(hooks))) {
      for (String h : hooks) {
        float[] expected = direct.activation(h).toFloatArray();
        ActivationBatch b = got.get(h).batches.get(0);
        float[] rows = java.util.Arrays.copyOf(b.values(), first.length * b.width());
        assertThat(rows).as(h).containsExactly(expected, org.assertj.core.data.Offset.offset(1e-5f));
      }
    }
  }

  @Test
  void anInterruptStopsTheHarvestBetweenPasses() {
    Iterator<TokenWindow> windows = windows(4, "a long enough document to need several passes").iterator();
    ActivationSink interrupting = new ActivationSink() {
      @Override
      public void accept(ActivationBatch batch) {
        Thread.currentThread().interrupt();
      }

      @Override
      public void close() {
      }
    };
    assertThatThrownBy(() -> new ActivationHarvester(session, 1, 4)
        .harvest(windows, Map.of(RESID, interrupting), Long.MAX_VALUE, null))
        .isInstanceOf(InterruptedException.class).hasMessageContaining("after 4 tokens");
    assertThat(Thread.interrupted()).as("interrupt flag consumed").isFalse();
  }

  @Test
  void attentionPatternHooksCannotBeHarvestedAsRows() {
    assertThatThrownBy(() -> new ActivationHarvester(session, 1, 4).harvest(windows(4, "x").iterator(),
        Map.of("blocks.0.attn.hook_pattern", new CollectingSink()), 10, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("blocks.0.attn.hook_pattern").hasMessageContaining("not one row per token");
  }
}
