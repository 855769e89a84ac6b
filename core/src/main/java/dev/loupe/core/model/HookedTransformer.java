package dev.loupe.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.loupe.sdk.model.Normalization;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A decoder-only transformer with TransformerLens-style hooks, whatever its architecture: what the
 * session, the harvester and the model registry need from a model, so that they run GPT-2 and
 * Llama-family models alike.
 *
 * <p>Implementations hold read-only weights; a forward pass allocates a lot of native memory, so
 * callers run one pass at a time.
 */
public interface HookedTransformer extends AutoCloseable {

  /** The architecture name as in {@code ModelInfo}: {@code gpt2}, {@code llama} or {@code gpt_neox}. */
  String architecture();

  /** True for next-token language models (every implementation so far). */
  boolean causal();

  int nLayers();

  int dModel();

  /** Number of query heads. */
  int nHeads();

  int dHead();

  /** Width of the MLP's hidden layer ({@code mlp.hook_pre}, {@code mlp.hook_post}). */
  int dMlp();

  int vocabSize();

  /** The longest sequence a forward pass accepts. */
  int maxContext();

  /** Number of parameters, tied matrices counted once. */
  long parameterCount();

  /** The weights by Hugging Face name, read-only; the arrays belong to the model. */
  Map<String, NDArray> weights();

  /**
   * One weight by Hugging Face name.
   *
   * @throws IllegalArgumentException naming the weight, and a few names the model does have, when
   *     there is none of that name
   */
  default NDArray weight(String name) {
    NDArray a = weights().get(name);
    if (a == null) {
      throw new IllegalArgumentException(architecture() + " model has no weight '" + name + "'; it has e.g. "
          + weights().keySet().stream().limit(3).toList());
    }
    return a;
  }

  /** Every hook name, in forward order. */
  List<String> hookNames();

  /** Last-axis width of every hook (-1 for attention-pattern hooks, whose last axis is key position). */
  Map<String, Integer> hookWidths();

  /**
   * Checks a batch of token sequences.
   *
   * @throws IllegalArgumentException naming the sequence (and token index) that is empty, too
   *     long or holds an id outside the vocabulary
   */
  void validateTokens(int[][] tokens);

  /**
   * Checks that every hook named in {@code hooks} exists in this model.
   *
   * @throws IllegalArgumentException naming the unknown hook
   */
  void validateHooks(ForwardHooks hooks);

  /**
   * One forward pass over right-padded sequences.
   *
   * @param out the manager that receives the logits and the captured activations
   * @throws IllegalArgumentException for bad tokens or unknown hooks (see the validate methods),
   *     or when a hook function returns an array of the wrong shape
   */
  ForwardResult forward(int[][] tokens, ForwardHooks hooks, NDManager out);

  /**
   * One forward pass with token type (segment) ids, {@code tokenTypes[i][j]} the type of
   * {@code tokens[i][j]}; null means none (as {@link #forward(int[][], ForwardHooks, NDManager)}).
   * The default serves architectures without token type embeddings: it accepts null or all-zero
   * types (as {@code ModelSession.run} promises) and rejects any other.
   *
   * @throws IllegalArgumentException naming the architecture, sequence and position when a type
   *     is non-zero on a model that has no token types; otherwise as
   *     {@link #forward(int[][], ForwardHooks, NDManager)}
   */
  default ForwardResult forward(int[][] tokens, int[][] tokenTypes, ForwardHooks hooks, NDManager out) {
    if (tokenTypes != null) {
      for (int i = 0; i < tokenTypes.length; i++) {
        for (int j = 0; tokenTypes[i] != null && j < tokenTypes[i].length; j++) {
          if (tokenTypes[i][j] != 0) {
            throw new IllegalArgumentException("the " + architecture() + " architecture has no token type "
                + "embeddings, but tokenTypes[" + i + "][" + j + "] = " + tokenTypes[i][j] + "; pass null or zeros");
          }
        }
      }
    }
    return forward(tokens, hooks, out);
  }

  /**
   * Logit lens: the final norm then the unembedding, {@code [..., d_model] -> [..., vocab]}; the
   * result belongs to the residual's manager.
   *
   * @throws IllegalArgumentException when the last axis is not d_model
   */
  NDArray unembed(NDArray residual);

  /**
   * Direct logit effect of residual-stream directions {@code [..., d_model] -> [..., vocab]}: the
   * linear part of the final norm (no per-token scale, no bias) then the unembedding; the result
   * belongs to the directions' manager.
   *
   * @throws IllegalArgumentException when the last axis is not d_model
   * @throws UnsupportedOperationException for encoders without an unembedding
   */
  NDArray unembedDirections(NDArray directions);

  /**
   * How a normalisation hook ({@code blocks.L.ln1.hook_normalized},
   * {@code blocks.L.ln2.hook_normalized}, {@code ln_final.hook_normalized}, where the model has
   * them) is computed from the activation at another hook; see
   * {@link dev.loupe.sdk.model.ModelSession#normalization(String)}. The gain and bias are copies of
   * the weights as they are now.
   *
   * @throws IllegalArgumentException naming the hook and listing the valid ones when the model has
   *     no such hook or it is not a normalisation's output
   */
  Normalization normalization(String normalizedHook);

  /** Checks that {@code a}'s last axis is d_model. */
  static void requireWidth(NDArray a, long dModel) {
    ai.djl.ndarray.types.Shape s = a.getShape();
    if (s.dimension() == 0 || s.get(s.dimension() - 1) != dModel) {
      throw new IllegalArgumentException("expected directions whose last axis is d_model = " + dModel + ", got shape "
          + s);
    }
  }

  /**
   * Writes this model and its tokenizer as a Hugging Face model directory that Loupe and
   * {@code transformers} both load (see {@link HfDirectory#save}).
   *
   * @throws UnsupportedOperationException when the tokenizer has no tokenizer.json form
   * @throws IllegalArgumentException when the architecture cannot be saved
   * @throws IOException from the file system; nothing half-written is left at {@code dir}
   */
  default void saveHfDirectory(Path dir, Tokenizer tokenizer) throws IOException {
    HfDirectory.save(this, tokenizer, dir);
  }

  /** Frees the weights' native memory. */
  @Override
  void close();
}
