package dev.loupe.plugins.neurons;

import dev.loupe.sdk.activation.ActivationBatch;
import dev.loupe.sdk.activation.ActivationSource;
import dev.loupe.sdk.activation.ActivationSources;
import dev.loupe.sdk.dataset.Labeller;
import dev.loupe.sdk.dataset.TokenDataset;
import dev.loupe.sdk.model.ModelSession;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;

/**
 * Synthetic "MLP neurons" of two layers (24 each) with planted features, on rows whose token id is
 * the row's index (so a fake dataset can label a row by looking its truth up):
 * <ul>
 *   <li>{@code single} (a quarter of the rows): neuron L1.N3 fires +3 on it (dedicated), and L0.N5
 *       and L0.N9 fire +1.5 with extra noise: co-activating with L1.N3, but not dedicated;
 *   <li>{@code spread} (a quarter of the rows, independent): exactly one of L0.N12, L0.N13, L1.N14,
 *       L1.N15, chosen at random, fires +3, so one neuron catches a quarter of the rows, two half,
 *       and only all four tell the feature.
 * </ul>
 * Every neuron carries Gaussian noise (sd 0.5); documents are 50 rows long.
 */
final class Planted {
  static final int WIDTH = 24;
  static final int ROWS = 12_000;
  static final int DOC_ROWS = 50;
  static final int BATCH = 500;
  static final int DEDICATED = WIDTH + 3;
  static final int[] COACTIVE = {5, 9};
  static final int[] SPREAD = {12, 13, WIDTH + 14, WIDTH + 15};

  final boolean[] single = new boolean[ROWS];
  final boolean[] spread = new boolean[ROWS];
  final List<ActivationBatch> layer0 = new ArrayList<>();
  final List<ActivationBatch> layer1 = new ArrayList<>();

  Planted(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[][] x = new float[ROWS][2 * WIDTH];
    for (int i = 0; i < ROWS; i++) {
      for (int j = 0; j < 2 * WIDTH; j++) {
        x[i][j] = (float) (0.5 * gaussian(r));
      }
      single[i] = r.nextDouble() < 0.25;
      spread[i] = r.nextDouble() < 0.25;
      if (single[i]) {
        x[i][DEDICATED] += 3;
        for (int j : COACTIVE) {
          x[i][j] += (float) (1.5 + 0.5 * gaussian(r));
        }
      }
      if (spread[i]) {
        x[i][SPREAD[r.nextInt(SPREAD.length)]] += 3;
      }
    }
    for (int start = 0; start < ROWS; start += BATCH) {
      int n = Math.min(BATCH, ROWS - start);
      float[] a = new float[n * WIDTH];
      float[] b = new float[n * WIDTH];
      int[] tok = new int[n];
      int[] doc = new int[n];
      int[] pos = new int[n];
      for (int i = 0; i < n; i++) {
        int row = start + i;
        System.arraycopy(x[row], 0, a, i * WIDTH, WIDTH);
        System.arraycopy(x[row], WIDTH, b, i * WIDTH, WIDTH);
        tok[i] = row;
        doc[i] = row / DOC_ROWS;
        pos[i] = row % DOC_ROWS;
      }
      layer0.add(new ActivationBatch("planted", "blocks.0.mlp.hook_post", layer0.size(), n, WIDTH, a, tok, doc, pos,
          null));
      layer1.add(new ActivationBatch("planted", "blocks.1.mlp.hook_post", layer1.size(), n, WIDTH, b, tok.clone(),
          doc.clone(), pos.clone(), null));
    }
  }

  private static double gaussian(SplittableRandom r) {
    return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
  }

  ActivationSource layer0() {
    return ActivationSources.fromBatches(layer0);
  }

  ActivationSource layer1() {
    return ActivationSources.fromBatches(layer1);
  }

  /** A two-class dataset: class 1 where {@code truth} holds. */
  TokenDataset binary(String name, boolean[] truth) {
    return new Fake(name, List.of("absent", "present"), row -> truth[row] ? 1 : 0);
  }

  /** Three classes: neither feature, only single, only spread (rows with both are left out). */
  TokenDataset kinds(String name) {
    return new Fake(name, List.of("neither", "single", "spread"), row -> single[row] && spread[row] ? Labeller.NONE
        : single[row] ? 1 : spread[row] ? 2 : 0);
  }

  /** A dataset labelling rows by their token id (the row index) with {@code label}. */
  record Fake(String name, List<String> classes, IntUnaryOperator label) implements TokenDataset {
    @Override
    public String description() {
      return "planted " + name;
    }

    @Override
    public Labeller labeller(ModelSession tokenizer) {
      return batch -> {
        int[] out = new int[batch.rows()];
        for (int r = 0; r < out.length; r++) {
          out[r] = label.applyAsInt(batch.tokenIds()[r]);
        }
        return out;
      };
    }
  }
}
