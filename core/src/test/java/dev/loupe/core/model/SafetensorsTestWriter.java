package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/** Writes float32 arrays as a safetensors file, so tests can hand weights to other tools. */
final class SafetensorsTestWriter {
  private SafetensorsTestWriter() {
  }

  static void write(Map<String, NDArray> tensors, Path file) throws IOException {
    ObjectNode header = new ObjectMapper().createObjectNode();
    long offset = 0;
    for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
      long bytes = 4 * e.getValue().getShape().size();
      ObjectNode meta = header.putObject(e.getKey());
      meta.put("dtype", "F32");
      var shape = meta.putArray("shape");
      for (long d : e.getValue().getShape().getShape()) {
        shape.add(d);
      }
      meta.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = new ObjectMapper().writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
      out.write(json);
      out.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
      for (NDArray a : tensors.values()) {
        float[] v = a.toFloatArray();
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        out.write(b.array());
      }
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
