package dev.loupe.plugins.neurons;

import dev.loupe.sdk.hook.HookPoint;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where each neuron sits in the rows the finder reads: the inputs side by side (one per layer,
 * usually), so column {@code c} is neuron {@code c - offset} of the input whose range holds it.
 * Neurons are named {@code L2.N417} when every input is a distinct layer, else by input name
 * ({@code pre.N417}).
 */
final class NeuronColumns {
  /** One input: its name, hook, layer (-1 when the hook names none), first column and width. */
  record Input(String name, String hook, int layer, int offset, int width) {
  }

  private final List<Input> inputs;
  private final int width;
  private final boolean byLayer;

  NeuronColumns(List<Input> inputs) {
    if (inputs.isEmpty()) {
      throw new IllegalArgumentException("no inputs");
    }
    this.inputs = List.copyOf(inputs);
    Input last = inputs.get(inputs.size() - 1);
    this.width = last.offset() + last.width();
    Set<Integer> layers = new HashSet<>();
    boolean distinct = true;
    for (Input in : inputs) {
      distinct &= in.layer() >= 0 && layers.add(in.layer());
    }
    this.byLayer = distinct;
  }

  /** Lays out inputs of the given names, hooks and widths in that order. */
  static NeuronColumns of(List<String> names, List<String> hooks, List<Integer> widths) {
    List<Input> out = new ArrayList<>();
    int offset = 0;
    for (int i = 0; i < names.size(); i++) {
      out.add(new Input(names.get(i), hooks.get(i), layerOf(hooks.get(i)), offset, widths.get(i)));
      offset = Math.addExact(offset, widths.get(i));
    }
    return new NeuronColumns(out);
  }

  /** The block a hook name belongs to, or -1 when it is not a block hook of the TransformerLens scheme. */
  static int layerOf(String hook) {
    try {
      return HookPoint.parse(hook).layer();
    } catch (IllegalArgumentException e) {
      return -1;
    }
  }

  List<Input> inputs() {
    return inputs;
  }

  /** Columns in all: the sum of the inputs' widths. */
  int width() {
    return width;
  }

  Input inputOf(int column) {
    for (Input in : inputs) {
      if (column < in.offset() + in.width()) {
        return in;
      }
    }
    throw new IndexOutOfBoundsException("column " + column + " of " + width);
  }

  /** The neuron's index within its input. */
  int neuron(int column) {
    return column - inputOf(column).offset();
  }

  /** A short name: {@code L2.N417}, or {@code INPUT.N417} when layers do not tell the inputs apart. */
  String label(int column) {
    Input in = inputOf(column);
    return (byLayer ? "L" + in.layer() : in.name()) + ".N" + (column - in.offset());
  }
}
