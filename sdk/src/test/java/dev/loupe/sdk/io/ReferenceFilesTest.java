package dev.loupe.sdk.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files written by Python's safetensors and NumPy (fixtures made by make_fixtures.py next to them)
 * are read correctly, and writing the same tensors from Java gives the same bytes.
 */
class ReferenceFilesTest {
  @TempDir
  Path dir;

  private Path fixture(String name) throws IOException {
    Path p = dir.resolve(name);
    try (InputStream in = getClass().getResourceAsStream(name)) {
      assertThat(in).as("fixture %s", name).isNotNull();
      Files.copy(in, p);
    }
    return p;
  }

  @Test
  void readsAndRewritesAPythonSafetensorsFileByteForByte() throws IOException {
    Path py = fixture("python-written.safetensors");
    Path java = dir.resolve("java.safetensors");
    try (SafetensorsFile f = Safetensors.open(py)) {
      assertThat(f.metadata()).containsExactly(Map.entry("model_id", "gpt2"));
      assertThat(f.readFloats("values")).containsExactly(0f, .5f, 1f, 1.5f, 2f, 2.5f, 3f, 3.5f, 4f, 4.5f, 5f, 5.5f);
      assertThat(f.shape("values")).containsExactly(3, 4);
      assertThat(f.readInts("token_ids")).containsExactly(1, 2, 3);
      assertThat(f.readFloats("half")).containsExactly(1.5f, -2.25f);
      assertThat(f.readLongs("long")).containsExactly(7L, -8L, 1L << 40);
      assertThat(f.readFloats("dbl")).containsExactly(0.1f);

      Map<String, TensorData> t = new LinkedHashMap<>();
      t.put("values", TensorData.f32(f.readFloats("values"), 3, 4));
      t.put("token_ids", TensorData.i32(f.readInts("token_ids"), 3));
      t.put("half", TensorData.f16(f.readFloats("half"), 2));
      t.put("long", TensorData.i64(f.readLongs("long"), 3));
      t.put("dbl", TensorData.of(DType.F64, new long[] {1}, f.raw("dbl")));
      Safetensors.write(java, t, f.metadata());
    }
    assertThat(Files.readAllBytes(java)).isEqualTo(Files.readAllBytes(py));
  }

  @Test
  void readsAndRewritesANumpyFileByteForByte() throws IOException {
    Path py = fixture("numpy-written.npy");
    Npy.Array a = Npy.read(py);
    assertThat(a.shape()).containsExactly(2, 3);
    assertThat(a.values()).containsExactly(0, 1, 2, 3, 4, 5);
    Path java = dir.resolve("java.npy");
    Npy.writeFloats(java, a.values(), a.shape());
    assertThat(Files.readAllBytes(java)).isEqualTo(Files.readAllBytes(py));
    assertThat(Npy.read(fixture("numpy-written-f2.npy")).values()).containsExactly(1.5f, 2f);
  }
}
