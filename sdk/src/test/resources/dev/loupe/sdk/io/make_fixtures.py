# Regenerates the fixtures next to this file (safetensors 0.8.0, numpy 2.4.6 made the committed ones).
import numpy as np
from safetensors.numpy import save_file
t = {
  "values": np.arange(12, dtype=np.float32).reshape(3, 4) * 0.5,
  "token_ids": np.array([1, 2, 3], dtype=np.int32),
  "half": np.array([1.5, -2.25], dtype=np.float16),
  "long": np.array([7, -8, 1 << 40], dtype=np.int64),
  "dbl": np.array([0.1], dtype=np.float64),
}
save_file(t, "python-written.safetensors", metadata={"model_id": "gpt2"})
np.save("numpy-written.npy", np.arange(6, dtype=np.float32).reshape(2, 3))
np.save("numpy-written-f2.npy", np.array([[1.5, 2.0]], dtype=np.float16))
