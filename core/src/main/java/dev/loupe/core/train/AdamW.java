package dev.loupe.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.io.Safetensors;
import dev.loupe.sdk.io.SafetensorsFile;
import dev.loupe.sdk.io.TensorData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam with decoupled weight decay (Loshchilov &amp; Hutter, "Decoupled Weight Decay
 * Regularization", ICLR 2019), applied in place to a model's weights from the gradients autograd
 * left on them. Weight decay applies only to matrices (rank &gt;= 2), as in GPT-2 style recipes;
 * biases and LayerNorm gains are not decayed. The moment estimates live in their own manager and
 * can be saved and restored, so a resumed run continues exactly.
 */
public final class AdamW implements AutoCloseable {
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final NDManager manager;
  private final Map<String, NDArray> m = new LinkedHashMap<>();
  private final Map<String, NDArray> v = new LinkedHashMap<>();
  private long t;

  public AdamW(double beta1, double beta2, double eps, double weightDecay, NDManager parent) {
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
      throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
    }
    if (!(eps > 0) || !(weightDecay >= 0)) {
      throw new IllegalArgumentException("Adam eps must be > 0 and weight decay >= 0, got " + eps + ", " + weightDecay);
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.manager = parent.newSubManager();
  }

  /** Number of updates applied so far. */
  public long steps() {
    return t;
  }

  /**
   * The global L2 norm of the gradients, and, when it exceeds {@code maxNorm} (&gt; 0), scales them
   * down in place to that norm (Pascanu et al. 2013). Returns the norm before clipping.
   */
  public static double clipGradients(Map<String, NDArray> weights, double maxNorm) {
    double sq = 0;
    for (NDArray w : weights.values()) {
      // Every intermediate is closed here: the gradient handle belongs to the weight's long-lived
      // manager, so anything computed from it would otherwise stay allocated for the whole run.
      try (NDArray g = w.getGradient(); NDArray g2 = g.square(); NDArray s = g2.sum()) {
        sq += s.getFloat();
      }
    }
    double norm = Math.sqrt(sq);
    if (maxNorm > 0 && norm > maxNorm) {
      float scale = (float) (maxNorm / (norm + 1e-6));
      for (NDArray w : weights.values()) {
        try (NDArray g = w.getGradient()) {
          g.muli(scale);
        }
      }
    }
    return norm;
  }

  /**
   * One update of every weight from its gradient at learning rate {@code lr}, then zeroes the
   * gradients. Must run outside a gradient collector (no autograd recording).
   */
  public void step(Map<String, NDArray> weights, double lr) {
    t++;
    double bc1 = 1 - Math.pow(beta1, t);
    double bc2 = 1 - Math.pow(beta2, t);
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      NDArray w = e.getValue();
      try (NDManager tmp = manager.newSubManager()) {
        NDArray g = w.getGradient();
        g.attach(tmp);
        NDArray mi = m.computeIfAbsent(e.getKey(), k -> manager.zeros(w.getShape()));
        NDArray vi = v.computeIfAbsent(e.getKey(), k -> manager.zeros(w.getShape()));
        mi.muli((float) beta1).addi(g.mul((float) (1 - beta1)));
        vi.muli((float) beta2).addi(g.square().muli((float) (1 - beta2)));
        NDArray scaled = vi.div((float) bc2);
        scaled.attach(tmp);
        NDArray denom = scaled.sqrt().addi((float) eps);
        denom.attach(tmp);
        NDArray update = mi.div(denom).muli((float) (lr / bc1));
        update.attach(tmp);
        if (weightDecay > 0 && w.getShape().dimension() >= 2) {
          w.muli((float) (1 - lr * weightDecay));
        }
        w.subi(update);
        g.muli(0f);
      }
    }
  }

  /** Writes the step count and moment estimates to a safetensors file (atomically). */
  public void save(Path file) throws IOException {
    Map<String, TensorData> out = new LinkedHashMap<>();
    for (String k : m.keySet()) {
      out.put("m." + k, TensorData.f32(m.get(k).toFloatArray(), m.get(k).getShape().getShape()));
      out.put("v." + k, TensorData.f32(v.get(k).toFloatArray(), v.get(k).getShape().getShape()));
    }
    Safetensors.write(file, out, Map.of("adamw_step", Long.toString(t)));
  }

  /**
   * Restores the state written by {@link #save}.
   *
   * @throws IllegalArgumentException naming the file when it does not fit {@code weights}
   */
  public void load(Path file, Map<String, NDArray> weights) throws IOException {
    try (SafetensorsFile f = Safetensors.open(file)) {
      String step = f.metadata().get("adamw_step");
      if (step == null) {
        throw new IllegalArgumentException(file + " is not an AdamW state file (no adamw_step metadata)");
      }
      m.values().forEach(NDArray::close);
      v.values().forEach(NDArray::close);
      m.clear();
      v.clear();
      for (Map.Entry<String, NDArray> e : weights.entrySet()) {
        for (String kind : new String[] {"m.", "v."}) {
          String name = kind + e.getKey();
          if (!f.names().contains(name)) {
            throw new IllegalArgumentException(file + " has no optimizer state '" + name + "' for this model");
          }
          float[] vals = f.readFloats(name);
          if (vals.length != e.getValue().size()) {
            throw new IllegalArgumentException(file + ": optimizer state '" + name + "' has " + vals.length
                + " values, the weight has " + e.getValue().size());
          }
          NDArray a = manager.create(vals, e.getValue().getShape());
          (kind.equals("m.") ? m : v).put(e.getKey(), a);
        }
      }
      t = Long.parseLong(step);
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
