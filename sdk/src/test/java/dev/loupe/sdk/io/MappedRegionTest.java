package dev.loupe.sdk.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chunked mapping is what lets files over 2 GB be read; small chunks exercise the same paths. */
class MappedRegionTest {
  @TempDir
  Path dir;

  @Test
  void readsThatStraddleChunksReturnTheRightBytes() throws Exception {
    byte[] bytes = new byte[1000];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (i * 31);
    }
    Path f = dir.resolve("data.bin");
    Files.write(f, bytes);
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
      MappedRegion region = new MappedRegion(f, ch, 100, 900, 64);
      for (int[] r : new int[][] {{0, 10}, {60, 8}, {60, 200}, {830, 70}, {0, 900}, {63, 1}}) {
        ByteBuffer b = region.slice(r[0], r[1]);
        assertThat(b.remaining()).isEqualTo(r[1]);
        for (int i = 0; i < r[1]; i++) {
          assertThat(b.get(i)).as("byte %d of slice %d+%d", i, r[0], r[1]).isEqualTo(bytes[100 + r[0] + i]);
        }
      }
      assertThatThrownBy(() -> region.slice(850, 51)).isInstanceOf(IndexOutOfBoundsException.class)
          .hasMessageContaining("data.bin");
    }
  }
}
