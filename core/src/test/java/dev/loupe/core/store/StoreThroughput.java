package dev.loupe.core.store;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.io.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Measures store write and read throughput; a main, not a test, so the build never depends on
 * timing. Usage: {@code StoreThroughput [dir] [megabytes] [dtype]} (defaults: a temp dir, 256, F32).
 */
public final class StoreThroughput {
  private StoreThroughput() {
  }

  public static void main(String[] args) throws Exception {
    Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("loupe-store-bench");
    int megabytes = args.length > 1 ? Integer.parseInt(args[1]) : 256;
    DType dtype = args.length > 2 ? DType.valueOf(args[2]) : DType.F32;
    int width = 1024;
    int batchRows = 1024;
    long rows = (long) megabytes * 1024 * 1024 / (4L * width);
    float[] values = new float[batchRows * width];
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) rnd.nextGaussian();
    }
    ActivationBatch batch = ActivationBatch.ofValues("bench", "blocks.0.hook_resid_post", 0, batchRows, width, values);
    double f32Mb = rows * width * 4.0 / 1e6;

    long t0 = System.nanoTime();
    try (StoreWriter w = ActivationStore.create(dir.resolve("store"), "bench", "blocks.0.hook_resid_post", width,
        StoreOptions.defaults().shardRows(16384).dtype(dtype))) {
      for (long r = 0; r < rows; r += batchRows) {
        w.accept(batch);
      }
    }
    double write = (System.nanoTime() - t0) / 1e9;
    ActivationStore store = ActivationStore.open(dir.resolve("store"));
    double diskMb = store.manifest().totalBytes() / 1e6;
    System.out.printf("store: %d rows x %d %s, %d shards, %.1f MB on disk (%.1f MB as f32)%n",
        store.totalRows(), width, dtype, store.shards().size(), diskMb, f32Mb);
    System.out.printf("write (narrow + fsync + atomic rename + manifest): %.2f s = %.0f MB/s of f32 rows%n",
        write, f32Mb / write);
    System.out.printf("sequential read, first pass (CRC32C check of each shard + widen): %.0f MB/s%n",
        f32Mb / read(store.reader(4096)));
    System.out.printf("sequential read, second pass (shards already verified): %.0f MB/s%n",
        f32Mb / read(store.reader(4096)));
    System.out.printf("sequential read, fresh store instance (CRC32C again): %.0f MB/s%n",
        f32Mb / read(ActivationStore.open(dir.resolve("store")).reader(4096)));
    System.out.printf("shuffled read (shard order + in-shard rows): %.0f MB/s%n", f32Mb / read(store.reader(true, 7, 4096)));
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static double read(ActivationSource src) throws InterruptedException {
    long t0 = System.nanoTime();
    double sum = 0;
    try (src) {
      for (ActivationBatch b = src.next(); b != null; b = src.next()) {
        sum += b.values()[0];
      }
    }
    if (Double.isNaN(sum)) {
      System.out.println("unexpected NaN");
    }
    return (System.nanoTime() - t0) / 1e9;
  }
}
