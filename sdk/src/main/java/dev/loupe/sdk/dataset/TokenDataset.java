package dev.loupe.sdk.dataset;

import dev.loupe.sdk.model.ModelSession;
import java.util.List;

/**
 * A labelled token dataset: a way to give rows of an activation stream (one row per token, with
 * its token id, document and position) a class, or leave them out. Datasets are defined by the
 * host from YAML files; a job gets them with {@link dev.loupe.sdk.method.JobContext#dataset}.
 *
 * <p>Implementations are immutable and thread-safe; the {@link Labeller}s they make are not.
 */
public interface TokenDataset {

  /** The dataset's name, e.g. {@code language} or {@code word:Parlement}. */
  String name();

  /** One line saying what the classes are. */
  String description();

  /** The class names; a row's label is an index into this list. At least two. */
  List<String> classes();

  /**
   * A labeller for one stream of rows, bound to the tokenizer of the model the rows come from
   * (datasets about token text decode token ids with it).
   *
   * @param tokenizer the model session whose tokens the rows carry
   * @throws IllegalArgumentException when the dataset cannot be used with that model, saying why
   */
  Labeller labeller(ModelSession tokenizer);
}
