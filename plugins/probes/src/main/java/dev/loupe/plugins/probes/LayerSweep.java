package dev.loupe.plugins.probes;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where along the inputs (layers, in sweep order) a dataset's information appears: the first input
 * whose probe closes 90% of the gap between chance (1 / classes on the balanced test rows) and the
 * best input's accuracy ("introduced"), and how much later inputs add on top of it ("boosted").
 */
final class LayerSweep {
  /** Below this accuracy over chance at the best input, no input is said to carry the information. */
  static final double MIN_GAIN = 0.02;
  static final double SHARE = 0.9;
  /** A later input is "boosted" when it beats every earlier one by at least this much accuracy. */
  static final double MIN_BOOST = 0.005;

  private LayerSweep() {
  }

  static Map<String, Object> of(List<ProbeInput> inputs, double[] accuracy, double[] f1, int classes) {
    double chance = 1.0 / classes;
    int best = 0;
    for (int i = 1; i < accuracy.length; i++) {
      if (accuracy[i] > accuracy[best]) {
        best = i;
      }
    }
    double gain = accuracy[best] - chance;
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("chance_accuracy", chance);
    out.put("best_input", inputs.get(best).name());
    out.put("best_accuracy", accuracy[best]);
    int introduced = -1;
    if (gain >= MIN_GAIN) {
      for (int i = 0; i < accuracy.length; i++) {
        if (accuracy[i] - chance >= SHARE * gain) {
          introduced = i;
          break;
        }
      }
    }
    out.put("rule", "introduced: the first input whose test accuracy closes " + (int) (SHARE * 100) + "% of the gap"
        + " from chance to the best input's; boosted: later inputs that beat every earlier one by " + MIN_BOOST
        + " or more");
    List<Object> per = new ArrayList<>();
    List<String> boosted = new ArrayList<>();
    double bestSoFar = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < accuracy.length; i++) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("input", inputs.get(i).name());
      row.put("hook", inputs.get(i).hook());
      row.put("layer", inputs.get(i).layer() < 0 ? null : inputs.get(i).layer());
      row.put("test_accuracy", accuracy[i]);
      row.put("test_f1", f1[i]);
      row.put("change_from_previous", i == 0 ? null : accuracy[i] - accuracy[i - 1]);
      String role = introduced < 0 ? "no signal" : i < introduced ? "before" : i == introduced ? "introduced"
          : accuracy[i] >= bestSoFar + MIN_BOOST ? "boosted" : "no gain";
      bestSoFar = Math.max(bestSoFar, accuracy[i]);
      row.put("role", role);
      if (role.equals("boosted")) {
        boosted.add(inputs.get(i).name());
      }
      per.add(row);
    }
    out.put("inputs", per);
    if (introduced < 0) {
      out.put("introduced", null);
      out.put("note", "no input's probe beats chance by " + MIN_GAIN + " or more");
    } else {
      out.put("introduced", inputs.get(introduced).name());
      out.put("introduced_accuracy", accuracy[introduced]);
      out.put("boosted", boosted);
      out.put("boost_after_introduced", accuracy[best] - accuracy[introduced]);
    }
    return out;
  }
}
