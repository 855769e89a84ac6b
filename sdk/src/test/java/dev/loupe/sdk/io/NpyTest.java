package dev.loupe.sdk.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
  @TempDir
  Path dir;

  @Test
  void float32RoundTripsWithShape() throws IOException {
    Path f = dir.resolve("a.npy");
    float[] v = {1, 2, 3, 4, 5, 6};
    Npy.writeFloats(f, v, 2, 3);
    Npy.Array a = Npy.read(f);
    assertThat(a.shape()).containsExactly(2, 3);
    assertThat(a.values()).containsExactly(v);
  }

  @Test
  void writesTheHeaderNumpyWrites() throws IOException {
    Path f = dir.resolve("h.npy");
    Npy.writeFloats(f, new float[] {1, 2, 3}, 3);
    byte[] bytes = Files.readAllBytes(f);
    String header = new String(bytes, 10, 118, StandardCharsets.ISO_8859_1);
    assertThat(bytes).startsWith((byte) 0x93, (byte) 'N', (byte) 'U', (byte) 'M', (byte) 'P', (byte) 'Y', (byte) 1, (byte) 0, (byte) 118, (byte) 0);
    assertThat(header).startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }").endsWith("\n");
    assertThat(bytes).hasSize(128 + 12);
  }

  @Test
  void readsHalfDoubleAndInt64ArraysAsFloats() throws IOException {
    ByteBuffer f2 = le(4).putShort((short) 0x3c00).putShort((short) 0xc000);
    assertThat(Npy.read(npy("f2", 1, "<f2", "(2,)", f2)).values()).containsExactly(1f, -2f);
    ByteBuffer f8 = le(16).putDouble(0.1).putDouble(-3);
    assertThat(Npy.read(npy("f8", 2, "<f8", "(1, 2)", f8)).values()).containsExactly(0.1f, -3f);
    ByteBuffer i8 = le(8).putLong(42);
    assertThat(Npy.read(npy("i8", 3, "<i8", "(1,)", i8)).values()).containsExactly(42f);
    ByteBuffer i4 = le(4).putInt(-7);
    assertThat(Npy.read(npy("i4", 1, "<i4", "(1, 1)", i4)).shape()).containsExactly(1, 1);
  }

  @Test
  void rejectsFortranOrder() throws IOException {
    Path f = npy("fortran", 1, "<f4", "(1,)", le(4).putFloat(1), true);
    assertThatThrownBy(() -> Npy.read(f)).isInstanceOf(TensorFileException.class)
        .hasMessageContaining(f.toString()).hasMessageContaining("fortran_order is True");
  }

  @Test
  void rejectsBigEndianAndUnknownTypes() throws IOException {
    Path f = npy("big", 1, ">f4", "(1,)", le(4).putFloat(1));
    assertThatThrownBy(() -> Npy.read(f)).hasMessageContaining(f.toString()).hasMessageContaining("'descr' is '>f4'");
  }

  @Test
  void rejectsDataShorterThanTheShape() throws IOException {
    Path f = npy("trunc", 1, "<f4", "(3,)", le(8).putFloat(1).putFloat(2));
    assertThatThrownBy(() -> Npy.read(f)).hasMessageContaining(f.toString()).hasMessageContaining("data is 8 bytes")
        .hasMessageContaining("needs 12");
  }

  @Test
  void rejectsFilesThatAreNotNpy() throws IOException {
    Path f = dir.resolve("junk.npy");
    Files.write(f, "hello, this is not numpy".getBytes(StandardCharsets.US_ASCII));
    assertThatThrownBy(() -> Npy.read(f)).hasMessageContaining(f.toString()).hasMessageContaining("magic");
    Path g = npy("nodescr", 1, null, "(1,)", le(4).putFloat(1));
    assertThatThrownBy(() -> Npy.read(g)).hasMessageContaining("no 'descr' field");
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }

  private Path npy(String name, int version, String descr, String shape, ByteBuffer data) throws IOException {
    return npy(name, version, descr, shape, data, false);
  }

  private Path npy(String name, int version, String descr, String shape, ByteBuffer data, boolean fortran) throws IOException {
    String dict = "{" + (descr == null ? "" : "'descr': '" + descr + "', ") + "'fortran_order': "
        + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
    int pre = version == 1 ? 10 : 12;
    int total = (pre + dict.length() + 1 + 63) / 64 * 64;
    StringBuilder h = new StringBuilder(dict);
    while (pre + h.length() + 1 < total) {
      h.append(' ');
    }
    h.append('\n');
    byte[] hb = h.toString().getBytes(StandardCharsets.ISO_8859_1);
    ByteBuffer b = le(pre + hb.length + data.capacity());
    b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) version).put((byte) 0);
    if (version == 1) {
      b.putShort((short) hb.length);
    } else {
      b.putInt(hb.length);
    }
    b.put(hb).put(data.array());
    Path f = dir.resolve(name + ".npy");
    Files.write(f, b.array());
    return f;
  }
}
