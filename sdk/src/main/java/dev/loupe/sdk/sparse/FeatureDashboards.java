package dev.loupe.sdk.sparse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a feature page shows for every latent (the Neuronpedia / SAEDashboard layout): its density
 * and mean activation, its top activating examples each as a window of tokens before and after the
 * example token with the latent's activation on every token of the window, and the histogram of
 * its non-zero activations. Built by {@link SparseCoderRun.HeldOut#dashboards} from the held-out
 * rows: one pass finds the top examples, a second fills the windows and histograms.
 */
public final class FeatureDashboards {

  /**
   * The tokens around one example, oldest first, the example token at {@code focus}, and the
   * latent's activation on each of them.
   */
  public record Window(int[] tokens, float[] activations, int focus) {
  }

  /** Counts of a latent's non-zero activations in {@code counts.length} equal bins of (0, max]. */
  public record Histogram(double max, long[] counts) {
  }

  private final FeatureExamples examples;
  private final Histogram[] histograms;
  private final Map<Integer, List<Window>> windows;

  FeatureDashboards(FeatureExamples examples, Histogram[] histograms, Map<Integer, List<Window>> windows) {
    this.examples = examples;
    this.histograms = histograms;
    this.windows = new HashMap<>(windows);
  }

  /** Densities, mean activations and the top examples. */
  public FeatureExamples examples() {
    return examples;
  }

  /** Latent {@code j}'s activation histogram (all zero counts when it never fired). */
  public Histogram histogram(int j) {
    return histograms[j];
  }

  /** The windows of latent {@code j}'s top examples, in the order of {@link FeatureExamples#top}. */
  public List<Window> windows(int j) {
    return windows.getOrDefault(j, List.of());
  }

  /** Builds the per-latent histograms from their maxima; filled by {@link #count}. */
  static long[][] emptyHistograms(int dSae, int bins) {
    return new long[dSae][bins];
  }

  /** Adds one activation to latent j's histogram over (0, max]. */
  static void count(long[] counts, double max, float a) {
    int bins = counts.length;
    int b = max > 0 ? (int) Math.ceil(a / max * bins) - 1 : 0;
    counts[Math.max(0, Math.min(bins - 1, b))]++;
  }

  /** A window's slots, to be filled with activations in the second pass. */
  static final class PendingWindow {
    final int[] rows;
    final int[] tokens;
    final float[] activations;
    final int focus;

    PendingWindow(int[] rows, int[] tokens, int focus) {
      this.rows = rows;
      this.tokens = tokens;
      this.activations = new float[rows.length];
      this.focus = focus;
    }

    Window done() {
      return new Window(tokens, activations, focus);
    }
  }

  static Map<Integer, List<Window>> finish(Map<Integer, List<PendingWindow>> pending) {
    Map<Integer, List<Window>> out = new HashMap<>();
    pending.forEach((j, list) -> {
      List<Window> w = new ArrayList<>(list.size());
      list.forEach(p -> w.add(p.done()));
      out.put(j, w);
    });
    return out;
  }
}
