package dev.loupe.sdk.sparse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.loupe.sdk.model.ModelSession;
import dev.loupe.sdk.model.Normalization;
import dev.loupe.sdk.model.RunResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Feature-to-feature attribution between the transcoders of two MLP layers (Dunefsky et al. 2024,
 * "Transcoders Find Interpretable LLM Feature Circuits", section 4). An upstream transcoder
 * replaces the MLP of layer l, a downstream one reads the MLP input of a later layer l'. Feature
 * i of the upstream transcoder writes its decoder vector {@code d_i} into the residual stream;
 * feature j of the downstream one reads the normalised residual stream with its encoder vector
 * {@code e_j}. With the downstream LayerNorm's per-token scale {@code sigma} frozen (see
 * {@link Normalization}) the read is linear, so:
 * <ul>
 *   <li>the input-invariant connection is {@code d_i . e~_j} with {@code e~_j = centre(gain * e_j)}
 *       (gain and centring of the downstream norm, no per-token scale): how strongly i excites or
 *       inhibits j whenever i fires;
 *   <li>the input-dependent attribution on a token is {@code z_i (d_i . e~_j) / sigma}, z_i the
 *       upstream feature's activation there.
 * </ul>
 * On every token the attributions of all active upstream features, plus the upstream
 * transcoder's bias and skip term, plus its error (the real MLP output minus the transcoder's),
 * plus everything else in the residual stream (embeddings, attention, other MLPs), plus the
 * constant {@code e_j . bias + b_enc_j}, sum exactly to feature j's pre-activation on the real
 * forward pass; {@link Result#maxSumError} reports how exactly they did.
 *
 * <p>Static and thread-safe; the model session serialises its own calls.
 */
public final class TranscoderAttribution {
  private static final Pattern LN2 = Pattern.compile("blocks\\.(\\d+)\\.ln2\\.hook_normalized");
  private static final Pattern MLP_OUT = Pattern.compile("blocks\\.(\\d+)\\.hook_mlp_out");

  private TranscoderAttribution() {
  }

  /** A transcoder and the hooks it reads and replaces. */
  public record Transcoder(SparseCoder coder, String inputHook, String outputHook) {
    public Transcoder {
      Objects.requireNonNull(coder, "coder");
      Objects.requireNonNull(inputHook, "inputHook");
      Objects.requireNonNull(outputHook, "outputHook");
      if (coder.layout().autoencoder()) {
        throw new IllegalArgumentException("attribution needs transcoders, got " + coder);
      }
    }

    /** The layer whose MLP it replaces, from {@code blocks.L.hook_mlp_out}. */
    int layer() {
      Matcher m = MLP_OUT.matcher(outputHook);
      if (!m.matches()) {
        throw new IllegalArgumentException("transcoder output hook '" + outputHook
            + "' is not an MLP output (blocks.L.hook_mlp_out)");
      }
      return Integer.parseInt(m.group(1));
    }
  }

  /**
   * Connection strength of one upstream feature to one downstream feature.
   *
   * @param invariant the input-invariant score {@code d_i . e~_j}
   * @param meanAttribution the mean of {@code z_i (d_i . e~_j) / sigma} over the tokens where the
   *     downstream feature fired (0 on those where i did not)
   * @param tokens on how many of those tokens upstream feature i was active
   */
  public record Edge(int upstream, double invariant, double meanAttribution, long tokens) {
  }

  /**
   * For one downstream feature: its firing count and mean pre-activation where it fired, the
   * mean contribution of each non-feature term there, and its strongest upstream edges.
   */
  public record Target(int latent, long fired, double meanPreActivation, double meanFromFeatures,
      double meanFromUpstreamBiasAndSkip, double meanFromUpstreamError, double meanFromRestOfResidual,
      double constant, List<Edge> byAttribution, List<Edge> byInvariant) {
  }

  /**
   * @param targets one entry per requested downstream latent
   * @param tokens tokens the model ran on
   * @param maxSumError the largest |sum of all contributions - pre-activation| over every token
   *     and requested latent, relative to max(1, |pre-activation|)
   */
  public record Result(List<Target> targets, long tokens, double maxSumError) {
  }

  /**
   * The input-invariant scores {@code d_i . e~_j} of every upstream feature i and downstream
   * feature j, row-major [d_sae_up, d_sae_down], in raw units.
   */
  public static float[] invariantScores(Transcoder up, Transcoder down, Normalization norm) {
    float[] d = rawDecoder(up.coder());
    float[] e = normalisedReadVectors(down.coder(), norm);
    int dUp = up.coder().dSae();
    int dDown = down.coder().dSae();
    int w = norm.width();
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray dm = m.create(d, new Shape(dUp, w));
      NDArray em = m.create(e, new Shape(dDown, w));
      return dm.matMul(em.transpose()).toFloatArray();
    }
  }

  /** Upstream decoder rows in raw output units, [d_sae, d_model]. */
  private static float[] rawDecoder(SparseCoder c) {
    float[] w = c.weights(SparseCoder.W_DEC);
    float s = c.outputScale();
    for (int i = 0; i < w.length; i++) {
      w[i] /= s;
    }
    return w;
  }

  /**
   * Downstream read vectors {@code e~_j = centre(gain * e_j)}, [d_sae, d_model], where
   * {@code e_j} is the encoder column in raw input units (times the input scale).
   */
  private static float[] normalisedReadVectors(SparseCoder c, Normalization norm) {
    int dIn = c.dIn();
    int dSae = c.dSae();
    if (dIn != norm.width()) {
      throw new IllegalArgumentException("downstream transcoder reads " + dIn + " values but " + norm.hook()
          + " has " + norm.width());
    }
    float[] wEnc = c.weights(SparseCoder.W_ENC);
    float s = c.inputScale();
    float[] gain = norm.gain();
    float[] out = new float[dSae * dIn];
    for (int j = 0; j < dSae; j++) {
      double mean = 0;
      for (int i = 0; i < dIn; i++) {
        double v = (double) gain[i] * wEnc[i * dSae + j] * s;
        out[j * dIn + i] = (float) v;
        mean += v;
      }
      if (norm.centred()) {
        mean /= dIn;
        for (int i = 0; i < dIn; i++) {
          out[j * dIn + i] = (float) (out[j * dIn + i] - mean);
        }
      }
    }
    return out;
  }

  /**
   * Runs {@code windows} through the model and attributes each requested downstream feature's
   * pre-activation, on the tokens where it fires, to the upstream features and the other terms.
   *
   * @param latents the downstream latents to explain
   * @param topEdges edges kept per latent in each ranking
   * @throws IllegalArgumentException when the hooks are not an MLP input / output pair, the
   *     upstream layer is not before the downstream one, or the model cannot describe its norm
   */
  public static Result attribute(ModelSession session, Transcoder up, Transcoder down, List<int[]> windows,
      int[] latents, int topEdges, int batchSize) {
    Objects.requireNonNull(session, "session");
    int upLayer = up.layer();
    int downLayer = down.layer();
    Matcher in = LN2.matcher(down.inputHook());
    if (!in.matches() || Integer.parseInt(in.group(1)) != downLayer) {
      throw new IllegalArgumentException("downstream transcoder must read blocks." + downLayer
          + ".ln2.hook_normalized (the MLP input of the layer it replaces), got " + down.inputHook());
    }
    if (upLayer >= downLayer) {
      throw new IllegalArgumentException("the upstream transcoder (layer " + upLayer
          + ") must replace an earlier MLP than the downstream one (layer " + downLayer + ")");
    }
    Normalization norm = session.normalization(down.inputHook());
    int dModel = norm.width();
    SparseCoder upCoder = up.coder();
    SparseCoder downCoder = down.coder();
    int dUp = upCoder.dSae();
    float[] invariant = invariantScores(up, down, norm);
    float[] read = normalisedReadVectors(downCoder, norm);
    float[] downBEnc = downCoder.weights(SparseCoder.B_ENC);
    float[] bias = norm.bias();
    float[] wEncDown = downCoder.weights(SparseCoder.W_ENC);
    int dDown = downCoder.dSae();
    float sIn = downCoder.inputScale();
    int n = latents.length;
    double[] constant = new double[n];
    for (int t = 0; t < n; t++) {
      int j = latents[t];
      if (j < 0 || j >= dDown) {
        throw new IllegalArgumentException("downstream latent " + j + " is out of range [0, " + dDown + ")");
      }
      double c = downBEnc[j];
      for (int i = 0; i < dModel; i++) {
        c += (double) wEncDown[i * dDown + j] * sIn * bias[i];
      }
      constant[t] = c;
    }
    long[] fired = new long[n];
    double[] sumPre = new double[n];
    double[] sumFeatures = new double[n];
    double[] sumBiasSkip = new double[n];
    double[] sumError = new double[n];
    double[] sumRest = new double[n];
    double[][] edgeSum = new double[n][dUp];
    long[][] edgeTokens = new long[n][dUp];
    double maxErr = 0;
    long tokens = 0;
    int[] activeIdx = new int[dUp];
    Set<String> capture = Set.of(up.inputHook(), up.outputHook(), norm.inputHook(), down.inputHook());
    for (int from = 0; from < windows.size(); from += batchSize) {
      int[][] batch = windows.subList(from, Math.min(windows.size(), from + batchSize)).toArray(new int[0][]);
      try (RunResult r = session.run(batch, capture); NDManager m = NDManager.newBaseManager()) {
        int seq = (int) r.activation(down.inputHook()).getShape().get(1);
        int rows = batch.length * seq;
        NDArray upIn = r.activation(up.inputHook()).reshape(rows, upCoder.dIn());
        NDArray upOut = r.activation(up.outputHook()).reshape(rows, dModel);
        NDArray resid = r.activation(norm.inputHook()).reshape(rows, dModel);
        NDArray downIn = r.activation(down.inputHook()).reshape(rows, dModel);
        m.tempAttachAll(upIn, upOut, resid, downIn);
        NDArray upCode = upCoder.encode(upIn);
        float[] z = upCode.toType(DataType.FLOAT32, false).toFloatArray();
        NDArray upModel = upCoder.forward(upIn).get(1);
        // the transcoder's output apart from its features: b_dec (and the skip term) in raw units
        NDArray biasSkip = upModel.sub(upCode.matMul(upCoder.wDec()).div(upCoder.outputScale()));
        float[] biasSkipV = biasSkip.toType(DataType.FLOAT32, false).toFloatArray();
        float[] errorV = upOut.sub(upModel).toType(DataType.FLOAT32, false).toFloatArray();
        float[] restV = resid.sub(upOut).toType(DataType.FLOAT32, false).toFloatArray();
        float[] residV = resid.toType(DataType.FLOAT32, false).toFloatArray();
        float[] pre = downCoder.preActivations(downIn).toType(DataType.FLOAT32, false).toFloatArray();
        float[] code = downCoder.encode(downIn).toType(DataType.FLOAT32, false).toFloatArray();
        double[] sigma = norm.scales(residV);
        int[] lengths = r.lengths();
        for (int b = 0; b < batch.length; b++) {
          for (int p = 0; p < lengths[b]; p++) {
            int row = b * seq + p;
            tokens++;
            int active = 0;
            for (int i = 0; i < dUp; i++) {
              if (z[row * dUp + i] != 0) {
                activeIdx[active++] = i;
              }
            }
            double inv = 1 / sigma[row];
            for (int t = 0; t < n; t++) {
              int j = latents[t];
              double fromFeatures = 0;
              boolean fires = code[row * dDown + j] > 0;
              for (int q = 0; q < active; q++) {
                int i = activeIdx[q];
                double a = z[row * dUp + i] * invariant[i * dDown + j] * inv;
                fromFeatures += a;
                if (fires) {
                  edgeSum[t][i] += a;
                  edgeTokens[t][i]++;
                }
              }
              double bs = dot(read, j * dModel, biasSkipV, row * dModel, dModel) * inv;
              double err = dot(read, j * dModel, errorV, row * dModel, dModel) * inv;
              double rest = dot(read, j * dModel, restV, row * dModel, dModel) * inv;
              double total = fromFeatures + bs + err + rest + constant[t];
              double actual = pre[row * dDown + j];
              maxErr = Math.max(maxErr, Math.abs(total - actual) / Math.max(1, Math.abs(actual)));
              if (fires) {
                fired[t]++;
                sumPre[t] += actual;
                sumFeatures[t] += fromFeatures;
                sumBiasSkip[t] += bs;
                sumError[t] += err;
                sumRest[t] += rest;
              }
            }
          }
        }
      }
    }
    List<Target> targets = new ArrayList<>(n);
    for (int t = 0; t < n; t++) {
      int j = latents[t];
      long f = fired[t];
      List<Edge> edges = new ArrayList<>();
      for (int i = 0; i < dUp; i++) {
        edges.add(new Edge(i, invariant[i * dDown + j], f == 0 ? 0 : edgeSum[t][i] / f, edgeTokens[t][i]));
      }
      List<Edge> byAttribution = edges.stream().filter(e -> e.tokens() > 0)
          .sorted((p, q) -> Double.compare(Math.abs(q.meanAttribution()), Math.abs(p.meanAttribution())))
          .limit(topEdges).toList();
      List<Edge> byInvariant = edges.stream()
          .sorted((p, q) -> Double.compare(Math.abs(q.invariant()), Math.abs(p.invariant())))
          .limit(topEdges).toList();
      targets.add(new Target(j, f, mean(sumPre[t], f), mean(sumFeatures[t], f), mean(sumBiasSkip[t], f),
          mean(sumError[t], f), mean(sumRest[t], f), constant[t], byAttribution, byInvariant));
    }
    return new Result(targets, tokens, maxErr);
  }

  private static double mean(double sum, long n) {
    return n == 0 ? Double.NaN : sum / n;
  }

  private static double dot(float[] a, int ao, float[] b, int bo, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += (double) a[ao + i] * b[bo + i];
    }
    return s;
  }

  /** The latents that fired most often in a density array, most frequent first. */
  public static int[] mostFrequent(double[] density, int count) {
    Integer[] idx = new Integer[density.length];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i;
    }
    Arrays.sort(idx, (p, q) -> Double.compare(density[q], density[p]));
    return Arrays.stream(idx).limit(count).filter(i -> density[i] > 0).mapToInt(Integer::intValue).toArray();
  }
}
