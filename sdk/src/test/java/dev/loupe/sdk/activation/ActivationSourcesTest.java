package dev.loupe.sdk.activation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.sdk.io.Npy;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.TensorData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ActivationSourcesTest {
  private static final String HOOK = "blocks.0.hook_resid_post";
  private static final int WIDTH = 3;

  @TempDir
  Path dir;

  /** Batches whose row r (global) has values [r, r+0.5, -r] and token id r. */
  private static List<ActivationBatch> rows(int total, int perBatch, boolean labelled) {
    List<ActivationBatch> out = new ArrayList<>();
    for (int start = 0; start < total; start += perBatch) {
      int n = Math.min(perBatch, total - start);
      float[] v = new float[n * WIDTH];
      int[] tok = new int[n];
      int[] doc = new int[n];
      int[] pos = new int[n];
      int[] lab = labelled ? new int[n] : null;
      for (int i = 0; i < n; i++) {
        int r = start + i;
        v[i * WIDTH] = r;
        v[i * WIDTH + 1] = r + 0.5f;
        v[i * WIDTH + 2] = -r;
        tok[i] = r;
        doc[i] = r / 10;
        pos[i] = r % 10;
        if (lab != null) {
          lab[i] = r * 7;
        }
      }
      out.add(new ActivationBatch("m", HOOK, out.size(), n, WIDTH, v, tok, doc, pos, lab));
    }
    return out;
  }

  private static List<ActivationBatch> drain(ActivationSource s) throws InterruptedException {
    List<ActivationBatch> out = new ArrayList<>();
    try (s) {
      for (ActivationBatch b = s.next(); b != null; b = s.next()) {
        out.add(b);
      }
    }
    return out;
  }

  /** Every row's token id, in delivery order, after checking the row's values and metadata agree. */
  private static List<Integer> rowIds(List<ActivationBatch> batches) {
    List<Integer> ids = new ArrayList<>();
    for (ActivationBatch b : batches) {
      for (int i = 0; i < b.rows(); i++) {
        int r = b.tokenIds()[i];
        assertThat(b.row(i)).containsExactly(r, r + 0.5f, -r);
        assertThat(b.docIds()[i]).isEqualTo(r / 10);
        assertThat(b.positions()[i]).isEqualTo(r % 10);
        if (b.hasLabels()) {
          assertThat(b.labels()[i]).isEqualTo(r * 7);
        }
        ids.add(r);
      }
    }
    return ids;
  }

  private static List<Integer> range(int n) {
    List<Integer> l = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      l.add(i);
    }
    return l;
  }

  @Test
  void fromBatchesDeliversInOrderAndRenumbers() throws Exception {
    List<ActivationBatch> out = drain(ActivationSources.fromBatches(rows(25, 10, false)));
    assertThat(rowIds(out)).isEqualTo(range(25));
    assertThat(out).extracting(ActivationBatch::sequence).containsExactly(0L, 1L, 2L);
  }

  @Test
  void prefetchingDeliversEverythingInOrder() throws Exception {
    ActivationSource src = ActivationSources.prefetching(ActivationSources.fromBatches(rows(100, 7, false)), 3);
    assertThat(src.totalRows()).isEqualTo(100);
    assertThat(rowIds(drain(src))).isEqualTo(range(100));
  }

  @Test
  void prefetchingPassesAFailureToTheReaderAfterTheGoodBatches() throws Exception {
    ActivationSource failing = new CountingSource(2, new ActivationSourceException("disk on fire"));
    ActivationSource src = ActivationSources.prefetching(failing, 4);
    assertThat(src.next()).isNotNull();
    assertThat(src.next()).isNotNull();
    assertThatThrownBy(src::next).isInstanceOf(ActivationSourceException.class).hasMessageContaining("disk on fire");
    assertThatThrownBy(src::next).as("a failure is not mistaken for the end on retry")
        .isInstanceOf(ActivationSourceException.class).hasMessageContaining("disk on fire");
    src.close();
  }

  @Test
  void closingPrefetchingStopsTheThreadAndClosesTheSource() throws Exception {
    CountingSource endless = new CountingSource(Integer.MAX_VALUE, null);
    ActivationSource src = ActivationSources.prefetching(endless, 2);
    assertThat(src.next()).isNotNull();
    src.close();
    assertThat(endless.closed.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(src.next()).isNull();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals("loupe-prefetch-" + HOOK)) {
        t.join(5000);
        assertThat(t.isAlive()).as("prefetch thread still running after close").isFalse();
      }
    }
  }

  @Test
  void closingPrefetchingWakesABlockedReader() throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    ActivationSource stuck = new ActivationSource() {
      @Override
      public ActivationBatch next() throws InterruptedException {
        never.await();
        return null;
      }

      @Override
      public String hookName() {
        return HOOK;
      }

      @Override
      public int width() {
        return WIDTH;
      }

      @Override
      public void close() {
      }
    };
    ActivationSource src = ActivationSources.prefetching(stuck, 1);
    AtomicBoolean gotNull = new AtomicBoolean();
    Thread reader = new Thread(() -> {
      try {
        gotNull.set(src.next() == null);
      } catch (InterruptedException ignored) {
        // fails the assertion below
      }
    });
    reader.start();
    while (reader.getState() != Thread.State.WAITING && reader.isAlive()) {
      Thread.onSpinWait(); // until the reader is parked in next(), so close() really has to wake it
    }
    src.close();
    reader.join(5000);
    assertThat(reader.isAlive()).isFalse();
    assertThat(gotNull).isTrue();
  }

  @Test
  void shuffledDeliversEveryRowExactlyOnceWithItsMetadata() throws Exception {
    List<ActivationBatch> out = drain(ActivationSources.shuffled(
        ActivationSources.fromBatches(rows(1000, 33, true)), 128, 42, 16));
    List<Integer> ids = rowIds(out);
    assertThat(ids).hasSize(1000).containsExactlyInAnyOrderElementsOf(range(1000));
    assertThat(ids).isNotEqualTo(range(1000));
    assertThat(out.subList(0, out.size() - 1)).allMatch(b -> b.rows() == 16);
  }

  @Test
  void shuffledIsDeterministicForASeed() throws Exception {
    List<Integer> a = rowIds(drain(ActivationSources.shuffled(ActivationSources.fromBatches(rows(300, 10, false)), 64, 7, 8)));
    List<Integer> b = rowIds(drain(ActivationSources.shuffled(ActivationSources.fromBatches(rows(300, 10, false)), 64, 7, 8)));
    List<Integer> c = rowIds(drain(ActivationSources.shuffled(ActivationSources.fromBatches(rows(300, 10, false)), 64, 8, 8)));
    assertThat(a).isEqualTo(b).isNotEqualTo(c);
  }

  @Test
  void shuffledMixesRowsFromDifferentInputBatches() throws Exception {
    List<ActivationBatch> out = drain(ActivationSources.shuffled(ActivationSources.fromBatches(rows(400, 20, false)), 200, 1, 20));
    ActivationBatch first = out.get(0);
    long distinctInputBatches = java.util.Arrays.stream(first.tokenIds()).map(r -> r / 20).distinct().count();
    assertThat(distinctInputBatches).isGreaterThan(3);
  }

  @Test
  void shuffledRejectsOutputLargerThanHalfTheBuffer() {
    assertThatThrownBy(() -> ActivationSources.shuffled(ActivationSources.fromBatches(rows(10, 10, false)), 16, 0, 9))
        .hasMessageContaining("outputRows must be in [1, bufferRows/2 = 8]");
  }

  @Test
  void concatAndLimitChainSources() throws Exception {
    ActivationSource both = ActivationSources.concat(
        ActivationSources.fromBatches(rows(20, 6, false)),
        ActivationSources.fromBatches(rows(20, 6, false)));
    assertThat(both.totalRows()).isEqualTo(40);
    ActivationSource limited = ActivationSources.limit(both, 23);
    assertThat(limited.totalRows()).isEqualTo(23);
    List<ActivationBatch> out = drain(limited);
    List<Integer> expected = new ArrayList<>(range(20));
    expected.addAll(range(3));
    assertThat(rowIds(out)).isEqualTo(expected);
    assertThat(out).extracting(ActivationBatch::sequence).containsExactly(0L, 1L, 2L, 3L, 4L);
  }

  @Test
  void concatRejectsSourcesOfDifferentWidth() {
    ActivationBatch wide = ActivationBatch.ofValues("m", HOOK, 0, 1, 4, new float[4]);
    assertThatThrownBy(() -> ActivationSources.concat(ActivationSources.fromBatches(rows(2, 2, false)),
        ActivationSources.fromBatches(List.of(wide)))).hasMessageContaining("sources[1]").hasMessageContaining("width 4");
  }

  @Test
  void fromFileReadsASafetensorsMatrixWithItsCompanionTensors() throws Exception {
    int n = 25;
    float[] v = new float[n * WIDTH];
    int[] tok = new int[n];
    long[] doc = new long[n];
    int[] pos = new int[n];
    int[] lab = new int[n];
    for (int r = 0; r < n; r++) {
      v[r * WIDTH] = r;
      v[r * WIDTH + 1] = r + 0.5f;
      v[r * WIDTH + 2] = -r;
      tok[r] = r;
      doc[r] = r / 10;
      pos[r] = r % 10;
      lab[r] = r * 7;
    }
    Map<String, TensorData> t = new LinkedHashMap<>();
    t.put("acts", TensorData.f32(v, n, WIDTH));
    t.put("token_ids", TensorData.i32(tok, n));
    t.put("doc_ids", TensorData.i64(doc, n));
    t.put("positions", TensorData.i32(pos, n));
    t.put("labels", TensorData.i32(lab, n));
    Path f = dir.resolve("acts.safetensors");
    Safetensors.write(f, t, Map.of("model_id", "gpt2", "hook_name", HOOK));

    ActivationSource src = ActivationSources.fromFile(f, "acts", 10);
    assertThat(src.hookName()).isEqualTo(HOOK);
    assertThat(src.width()).isEqualTo(WIDTH);
    assertThat(src.totalRows()).isEqualTo(n);
    List<ActivationBatch> out = drain(src);
    assertThat(out).extracting(ActivationBatch::rows).containsExactly(10, 10, 5);
    assertThat(out.get(0).modelId()).isEqualTo("gpt2");
    assertThat(out).allMatch(ActivationBatch::hasLabels);
    assertThat(rowIds(out)).isEqualTo(range(n));
  }

  @Test
  void fromFileRejectsACompanionOfTheWrongLength() throws Exception {
    Path f = dir.resolve("bad.safetensors");
    Safetensors.write(f, Map.of("acts", TensorData.f32(new float[6], 2, 3), "token_ids", TensorData.i32(new int[3], 3)), null);
    assertThatThrownBy(() -> ActivationSources.fromFile(f, "acts", 10))
        .hasMessageContaining(f.toString()).hasMessageContaining("\"token_ids\"").hasMessageContaining("2 rows");
  }

  @Test
  void fromFileReadsANpyMatrixInBatches() throws Exception {
    Path f = dir.resolve("acts.npy");
    float[] v = new float[7 * WIDTH];
    for (int i = 0; i < v.length; i++) {
      v[i] = i;
    }
    Npy.writeFloats(f, v, 7, WIDTH);
    List<ActivationBatch> out = drain(ActivationSources.fromFile(f, HOOK, 3));
    assertThat(out).extracting(ActivationBatch::rows).containsExactly(3, 3, 1);
    assertThat(out.get(2).values()).containsExactly(18, 19, 20);
    assertThat(out.get(2).positions()).containsExactly(6);
  }

  @Test
  void fromFileRejectsA1dArray() throws IOException {
    Path f = dir.resolve("flat.npy");
    Npy.writeFloats(f, new float[3], 3);
    assertThatThrownBy(() -> ActivationSources.fromFile(f, HOOK, 3)).hasMessageContaining("expected 2-D");
  }

  /** Produces {@code count} single-row batches, then fails with {@code error} (or ends if null). */
  private static final class CountingSource implements ActivationSource {
    final int count;
    final RuntimeException error;
    final AtomicInteger produced = new AtomicInteger();
    final CountDownLatch closed = new CountDownLatch(1);

    CountingSource(int count, RuntimeException error) {
      this.count = count;
      this.error = error;
    }

    @Override
    public ActivationBatch next() {
      if (closed.getCount() == 0) {
        return null;
      }
      int i = produced.getAndIncrement();
      if (i >= count) {
        if (error != null) {
          throw error;
        }
        return null;
      }
      return ActivationBatch.ofValues("m", HOOK, i, 1, WIDTH, new float[WIDTH]);
    }

    @Override
    public String hookName() {
      return HOOK;
    }

    @Override
    public int width() {
      return WIDTH;
    }

    @Override
    public void close() {
      closed.countDown();
    }
  }

  @Test
  void alignedPutsRowsOfSeveralSourcesSideBySideWhateverTheirBatchSizes() throws Exception {
    ActivationSource a = ActivationSources.fromBatches(rows(50, 7, true));
    ActivationSource b = ActivationSources.fromBatches(rows(50, 16, false));
    ActivationSource both = ActivationSources.aligned(true, a, b);
    assertThat(both.width()).isEqualTo(2 * WIDTH);
    assertThat(both.totalRows()).isEqualTo(50);
    assertThat(both.hookName()).isEqualTo(HOOK + " + " + HOOK);
    List<ActivationBatch> out = drain(both);
    int row = 0;
    for (ActivationBatch batch : out) {
      for (int i = 0; i < batch.rows(); i++, row++) {
        assertThat(batch.row(i)).containsExactly(row, row + 0.5f, -row, row, row + 0.5f, -row);
        assertThat(batch.tokenIds()[i]).isEqualTo(row);
        assertThat(batch.labels()[i]).isEqualTo(row * 7);
      }
    }
    assertThat(row).isEqualTo(50);
  }

  @Test
  void alignedRefusesRowsOfDifferentTokensNamingTheRow() {
    List<ActivationBatch> shifted = new ArrayList<>(rows(30, 10, false));
    shifted.remove(0);
    ActivationSource both = ActivationSources.aligned(true, ActivationSources.fromBatches(rows(20, 10, false)),
        ActivationSources.fromBatches(shifted));
    assertThatThrownBy(() -> drain(both)).isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining("disagree at row 0").hasMessageContaining("document 1 where");
  }

  @Test
  void alignedRefusesSourcesOfDifferentKnownLengthsAtOnce() {
    assertThatThrownBy(() -> ActivationSources.aligned(true, ActivationSources.fromBatches(rows(20, 10, false)),
        ActivationSources.fromBatches(rows(25, 10, false))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has 20 rows").hasMessageContaining("25");
  }

  @Test
  void alignedRefusesSourcesThatTurnOutToDifferInLength() {
    // a source of unknown length (a live stream) is only found out when it ends
    ActivationSource unknown = ActivationSources.prefetching(ActivationSources.fromBatches(rows(25, 10, false)), 2);
    ActivationSource lengthless = new ActivationSource() {
      @Override
      public ActivationBatch next() throws InterruptedException {
        return unknown.next();
      }

      @Override
      public String hookName() {
        return unknown.hookName();
      }

      @Override
      public int width() {
        return unknown.width();
      }

      @Override
      public void close() {
        unknown.close();
      }
    };
    ActivationSource both = ActivationSources.aligned(true, ActivationSources.fromBatches(rows(20, 10, false)),
        lengthless);
    assertThatThrownBy(() -> drain(both)).isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining("differ in length").hasMessageContaining("ended after 20 rows");
  }
}
