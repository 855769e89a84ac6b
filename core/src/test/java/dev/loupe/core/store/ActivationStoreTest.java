package dev.loupe.core.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSourceException;
import dev.loupe.sdk.io.DType;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ActivationStoreTest {
  private static final String MODEL = "gpt2";
  private static final String HOOK = "blocks.5.hook_resid_post";
  private static final int WIDTH = 8;

  @TempDir
  Path dir;

  /** Rows [first, first+n) of a deterministic data set: row r has token id r, doc r/100, position r%100. */
  private static ActivationBatch batch(int first, int n, boolean labelled) {
    float[] v = new float[n * WIDTH];
    int[] tok = new int[n];
    int[] doc = new int[n];
    int[] pos = new int[n];
    int[] lab = labelled ? new int[n] : null;
    for (int i = 0; i < n; i++) {
      int r = first + i;
      SplittableRandom rnd = new SplittableRandom(r);
      for (int c = 0; c < WIDTH; c++) {
        v[i * WIDTH + c] = (float) rnd.nextGaussian();
      }
      tok[i] = r;
      doc[i] = r / 100;
      pos[i] = r % 100;
      if (lab != null) {
        lab[i] = r % 3;
      }
    }
    return new ActivationBatch(MODEL, HOOK, 0, n, WIDTH, v, tok, doc, pos, lab);
  }

  private static void assertRowIsOriginal(ActivationBatch b, int i, float tolerance) {
    int r = b.tokenIds()[i];
    ActivationBatch expected = batch(r, 1, false);
    if (tolerance == 0) {
      for (int c = 0; c < WIDTH; c++) {
        assertThat(Float.floatToRawIntBits(b.get(i, c))).isEqualTo(Float.floatToRawIntBits(expected.get(0, c)));
      }
    } else {
      for (int c = 0; c < WIDTH; c++) {
        assertThat(b.get(i, c)).isCloseTo(expected.get(0, c), within(tolerance * Math.max(1f, Math.abs(expected.get(0, c)))));
      }
    }
    assertThat(b.docIds()[i]).isEqualTo(r / 100);
    assertThat(b.positions()[i]).isEqualTo(r % 100);
    if (b.hasLabels()) {
      assertThat(b.labels()[i]).isEqualTo(r % 3);
    }
  }

  private Path writeStore(int rows, int shardRows, DType dtype, boolean labelled) throws Exception {
    try (StoreWriter w = ActivationStore.create(dir, MODEL, HOOK, WIDTH,
        StoreOptions.defaults().shardRows(shardRows).dtype(dtype))) {
      for (int r = 0; r < rows; r += 37) {
        w.accept(batch(r, Math.min(37, rows - r), labelled));
      }
    }
    return dir;
  }

  private static List<Integer> readIds(ActivationSource src, float tolerance) throws InterruptedException {
    List<Integer> ids = new ArrayList<>();
    try (src) {
      for (ActivationBatch b = src.next(); b != null; b = src.next()) {
        for (int i = 0; i < b.rows(); i++) {
          assertRowIsOriginal(b, i, tolerance);
          ids.add(b.tokenIds()[i]);
        }
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
  void roundTripIsBitExactAcrossShards() throws Exception {
    writeStore(1000, 300, DType.F32, true);
    ActivationStore store = ActivationStore.open(dir);
    assertThat(store.totalRows()).isEqualTo(1000);
    assertThat(store.shards()).extracting(StoreManifest.Shard::rows).containsExactly(300L, 300L, 300L, 100L);
    assertThat(store.shards()).extracting(StoreManifest.Shard::file)
        .containsExactly("shard-000000.safetensors", "shard-000001.safetensors", "shard-000002.safetensors",
            "shard-000003.safetensors");
    assertThat(store.modelId()).isEqualTo(MODEL);
    assertThat(store.hookName()).isEqualTo(HOOK);
    assertThat(readIds(store.reader(64), 0)).isEqualTo(range(1000));
    assertThat(store.verify().ok()).isTrue();
  }

  @Test
  void shuffledReadDeliversEveryRowExactlyOnceInANewOrder() throws Exception {
    writeStore(1000, 128, DType.F32, false);
    ActivationStore store = ActivationStore.open(dir);
    List<Integer> a = readIds(store.reader(true, 1, 50), 0);
    List<Integer> b = readIds(store.reader(true, 2, 50), 0);
    assertThat(a).hasSize(1000).containsExactlyInAnyOrderElementsOf(range(1000)).isNotEqualTo(range(1000));
    assertThat(b).containsExactlyInAnyOrderElementsOf(range(1000)).isNotEqualTo(a);
    assertThat(readIds(store.reader(true, 1, 50), 0)).isEqualTo(a);
  }

  @Test
  void readRowsSpansShardBoundaries() throws Exception {
    writeStore(500, 100, DType.F32, false);
    ActivationBatch b = ActivationStore.open(dir).readRows(95, 110);
    assertThat(b.tokenIds()).startsWith(95).endsWith(204);
    for (int i = 0; i < b.rows(); i++) {
      assertRowIsOriginal(b, i, 0);
    }
    assertThatThrownBy(() -> ActivationStore.open(dir).readRows(450, 51)).hasMessageContaining("outside store");
  }

  @Test
  void appendAddsShardsToAnExistingStore() throws Exception {
    writeStore(250, 100, DType.F32, false);
    try (StoreWriter w = ActivationStore.create(dir, MODEL, HOOK, WIDTH, StoreOptions.defaults().shardRows(100).append(true))) {
      w.accept(batch(250, 150, false));
    }
    ActivationStore store = ActivationStore.open(dir);
    assertThat(store.totalRows()).isEqualTo(400);
    assertThat(store.shards()).extracting(StoreManifest.Shard::index).containsExactly(0, 1, 2, 3, 4);
    assertThat(readIds(store.reader(1000), 0)).isEqualTo(range(400));
  }

  @Test
  void createRefusesAnExistingStoreWithoutAppendAndAMismatchedOneWithIt() throws Exception {
    writeStore(10, 100, DType.F32, false);
    assertThatThrownBy(() -> ActivationStore.create(dir, MODEL, HOOK, WIDTH, StoreOptions.defaults()))
        .hasMessageContaining("already exists");
    assertThatThrownBy(() -> ActivationStore.create(dir, MODEL, HOOK, WIDTH + 1, StoreOptions.defaults().append(true)))
        .hasMessageContaining("its width is 8, not 9");
  }

  @Test
  void f16AndBf16StoresWidenOnReadWithinTolerance() throws Exception {
    writeStore(200, 64, DType.F16, false);
    ActivationStore f16 = ActivationStore.open(dir);
    assertThat(f16.dtype()).isEqualTo(DType.F16);
    assertThat(readIds(f16.reader(32), 1e-3f)).isEqualTo(range(200));
    long f16Bytes = f16.manifest().totalBytes();

    Path bdir = dir.resolve("bf16");
    try (StoreWriter w = ActivationStore.create(bdir, MODEL, HOOK, WIDTH, StoreOptions.defaults().shardRows(64).dtype(DType.BF16))) {
      w.accept(batch(0, 200, false));
    }
    ActivationStore bf16 = ActivationStore.open(bdir);
    assertThat(readIds(bf16.reader(32), 8e-3f)).isEqualTo(range(200));
    assertThat(bf16.manifest().totalBytes()).isEqualTo(f16Bytes);
  }

  @Test
  void writerRejectsABatchOfAnotherWidthOrHook() throws Exception {
    try (StoreWriter w = ActivationStore.create(dir, MODEL, HOOK, WIDTH, StoreOptions.defaults())) {
      assertThatThrownBy(() -> w.accept(ActivationBatch.ofValues(MODEL, HOOK, 0, 1, 4, new float[4])))
          .isInstanceOf(ActivationSourceException.class).hasMessageContaining("width 8");
      assertThatThrownBy(() -> w.accept(ActivationBatch.ofValues(MODEL, "hook_embed", 0, 1, WIDTH, new float[WIDTH])))
          .hasMessageContaining("hook_embed");
      assertThatThrownBy(() -> w.accept(ActivationBatch.ofValues("llama", HOOK, 0, 1, WIDTH, new float[WIDTH])))
          .hasMessageContaining("model llama");
    }
  }

  @Test
  void aShardWrittenButNotYetInTheManifestIsNeverRead() throws Exception {
    writeStore(200, 100, DType.F32, false);
    // Simulates a crash after the third shard was renamed into place but before the manifest
    // was rewritten: a complete shard file the manifest does not list, plus a leftover temp file.
    Files.copy(dir.resolve("shard-000001.safetensors"), dir.resolve("shard-000002.safetensors"));
    Files.write(dir.resolve(".shard-000003.safetensors.12345.tmp"), new byte[] {1, 2, 3});
    ActivationStore store = ActivationStore.open(dir);
    assertThat(readIds(store.reader(1000), 0)).isEqualTo(range(200));
    StoreVerification v = store.verify();
    assertThat(v.ok()).isTrue();
    assertThat(v.strayFiles()).containsExactly(".shard-000003.safetensors.12345.tmp", "shard-000002.safetensors");
  }

  @Test
  void appendAfterACrashReplacesTheUnlistedShardFile() throws Exception {
    writeStore(100, 100, DType.F32, false);
    // A crash left a complete but unlisted shard-000001 holding rows that were never committed.
    Files.copy(dir.resolve("shard-000000.safetensors"), dir.resolve("shard-000001.safetensors"));
    try (StoreWriter w = ActivationStore.create(dir, MODEL, HOOK, WIDTH, StoreOptions.defaults().shardRows(100).append(true))) {
      w.accept(batch(100, 50, false));
    }
    ActivationStore store = ActivationStore.open(dir);
    assertThat(readIds(store.reader(1000), 0)).isEqualTo(range(150));
    assertThat(store.verify().strayFiles()).isEmpty();
  }

  @Test
  void writerThatNeverClosesLeavesOnlyCompleteShardsListed() throws Exception {
    StoreWriter w = ActivationStore.create(dir, MODEL, HOOK, WIDTH, StoreOptions.defaults().shardRows(100));
    w.accept(batch(0, 250, false));
    // No close(): as if the process died with 50 rows buffered.
    ActivationStore store = ActivationStore.open(dir);
    assertThat(store.totalRows()).isEqualTo(200);
    assertThat(readIds(store.reader(1000), 0)).isEqualTo(range(200));
  }

  @Test
  void aTruncatedShardFailsNamingTheShard() throws Exception {
    writeStore(300, 100, DType.F32, false);
    try (FileChannel ch = FileChannel.open(dir.resolve("shard-000001.safetensors"), StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 10);
    }
    ActivationSource src = ActivationStore.open(dir).reader(100);
    assertThat(src.next()).isNotNull();
    assertThatThrownBy(src::next).isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining("shard-000001.safetensors").hasMessageContaining("truncated");
    assertThatThrownBy(src::next).as("the reader does not skip the bad shard on retry")
        .hasMessageContaining("shard-000001.safetensors");
    src.close();
  }

  @Test
  void aFlippedBitFailsTheChecksum() throws Exception {
    writeStore(300, 100, DType.F32, false);
    flipBit(dir.resolve("shard-000002.safetensors"), 500);
    ActivationStore store = ActivationStore.open(dir);
    assertThatThrownBy(() -> readIds(store.reader(100), 0)).isInstanceOf(ActivationSourceException.class)
        .hasMessageContaining("shard-000002.safetensors").hasMessageContaining("checksum");
    assertThatThrownBy(() -> store.readRows(250, 1)).hasMessageContaining("shard-000002.safetensors");
  }

  @Test
  void verifyListsEveryBadShard() throws Exception {
    writeStore(400, 100, DType.F32, false);
    flipBit(dir.resolve("shard-000000.safetensors"), 200);
    Files.delete(dir.resolve("shard-000002.safetensors"));
    try (FileChannel ch = FileChannel.open(dir.resolve("shard-000003.safetensors"), StandardOpenOption.WRITE)) {
      ch.truncate(100);
    }
    StoreVerification v = ActivationStore.open(dir).verify();
    assertThat(v.ok()).isFalse();
    assertThat(v.checkedShards()).isEqualTo(4);
    assertThat(v.badShards()).extracting(StoreVerification.ShardProblem::file)
        .containsExactly("shard-000000.safetensors", "shard-000002.safetensors", "shard-000003.safetensors");
    assertThat(v.badShards()).extracting(StoreVerification.ShardProblem::problem)
        .anyMatch(p -> p.contains("checksum")).anyMatch(p -> p.contains("missing")).anyMatch(p -> p.contains("truncated"));
  }

  @Test
  void openRejectsAnInvalidManifestNamingTheField() throws Exception {
    writeStore(100, 100, DType.F32, false);
    Path m = dir.resolve("manifest.json");
    String good = Files.readString(m);
    Files.writeString(m, good.replace("\"total_rows\" : 100", "\"total_rows\" : 101"));
    assertThatThrownBy(() -> ActivationStore.open(dir)).isInstanceOf(StoreFormatException.class)
        .hasMessageContaining("manifest.json").hasMessageContaining("total_rows is 101 but the shards hold 100");
    Files.writeString(m, good.replace("\"format_version\" : 1", "\"format_version\" : 9"));
    assertThatThrownBy(() -> ActivationStore.open(dir)).hasMessageContaining("format_version 9 is not supported");
    Files.writeString(m, good.replace("shard-000000.safetensors", "../escape.safetensors"));
    assertThatThrownBy(() -> ActivationStore.open(dir)).hasMessageContaining("shards[0].file");
    Files.writeString(m, "{ not json");
    assertThatThrownBy(() -> ActivationStore.open(dir)).hasMessageContaining("not valid JSON");
    assertThatThrownBy(() -> ActivationStore.open(dir.resolve("nowhere"))).hasMessageContaining("not an activation store");
  }

  @Test
  void anEmptyStoreIsValidFromTheStart() throws Exception {
    StoreWriter w = ActivationStore.create(dir, MODEL, HOOK, WIDTH, StoreOptions.defaults());
    ActivationStore store = ActivationStore.open(dir);
    assertThat(store.totalRows()).isZero();
    try (ActivationSource src = store.reader(10)) {
      assertThat(src.next()).isNull();
    }
    w.close();
  }

  private static void flipBit(Path file, long offset) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      int b = f.read();
      f.seek(offset);
      f.write(b ^ 0x10);
    }
  }
}
