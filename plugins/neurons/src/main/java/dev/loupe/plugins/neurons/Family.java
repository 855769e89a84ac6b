package dev.loupe.plugins.neurons;

import dev.loupe.sdk.dataset.TokenDataset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One binary question the finder asks of every neuron: is the row of class {@code positive} of
 * {@code dataset}, or of another class? A two-class dataset is one family (its class 1 against
 * class 0, named after the dataset); a dataset of more classes is one family per class, that
 * class against the rest ({@code language=fr}).
 *
 * @param name what reports call it: {@code french}, {@code word:Parlement}, {@code language=fr}
 * @param positive the index of the positive class among the dataset's classes
 */
record Family(String name, TokenDataset dataset, int positive) {

  /** The positive class's name. */
  String positiveClass() {
    return dataset.classes().get(positive);
  }

  /** The negative side's name: the other class of a two-class dataset, else "not CLASS". */
  String negativeClass() {
    List<String> classes = dataset.classes();
    return classes.size() == 2 ? classes.get(1 - positive) : "not " + classes.get(positive);
  }

  /**
   * An entry with {@code *} (any run of characters) as every defined name it matches, in the
   * catalogue's order; other entries as they are.
   *
   * @throws IllegalArgumentException when a pattern matches nothing
   */
  static List<String> expand(String entry, List<String> names) {
    if (!entry.contains("*")) {
      return List.of(entry);
    }
    java.util.regex.Pattern p = java.util.regex.Pattern.compile(java.util.Arrays.stream(entry.split("\\*", -1))
        .map(java.util.regex.Pattern::quote).collect(java.util.stream.Collectors.joining(".*")));
    List<String> out = names.stream().filter(n -> p.matcher(n).matches()).toList();
    if (out.isEmpty()) {
      throw new IllegalArgumentException("config datasets: '" + entry + "' matches no dataset; defined: " + names);
    }
    return out;
  }

  /** The datasets to sample, each with the families asked of it (one sample per dataset). */
  record Plan(TokenDataset dataset, List<Family> families) {
  }

  /** Looks datasets up by name; the job context in production. */
  interface Catalogue {
    List<String> names();

    /** @throws IllegalArgumentException naming the dataset and the defined ones when there is none */
    TokenDataset get(String name);
  }

  /**
   * The families named by config {@code datasets}: {@code NAME} (every family of the dataset),
   * {@code NAME=CLASS} (that class against the rest) or a pattern with {@code *} ({@code word:*}:
   * every dataset whose name matches); an empty list means every dataset the host defines. Families of one dataset share its plan, in the order first named.
   *
   * @throws IllegalArgumentException naming the entry when a dataset is unknown, has fewer than two
   *     classes, has no class of that name, or when there is nothing to ask
   */
  static List<Plan> resolve(List<String> entries, Catalogue catalogue) {
    List<String> wanted = entries;
    if (wanted.isEmpty()) {
      wanted = catalogue.names();
      if (wanted.isEmpty()) {
        throw new IllegalArgumentException("config datasets: empty, and this host defines no labelled token datasets;"
            + " name some (e.g. [french, word:Parlement]) or add definitions to config/datasets/*.yaml");
      }
    }
    List<String> expanded = new ArrayList<>();
    for (String entry : wanted) {
      expanded.addAll(expand(entry.trim(), catalogue.names()));
    }
    Map<String, TokenDataset> datasets = new LinkedHashMap<>();
    Map<String, Map<String, Family>> families = new LinkedHashMap<>();
    for (String entry : expanded) {
      String spec = entry.trim();
      // a defined name wins over NAME=CLASS, so a dataset named with '=' stays reachable
      int eq = catalogue.names().contains(spec) ? -1 : spec.lastIndexOf('=');
      String name = eq < 0 ? spec : spec.substring(0, eq);
      String cls = eq < 0 ? null : spec.substring(eq + 1);
      TokenDataset d;
      try {
        d = catalogue.get(name);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("config datasets: '" + entry + "': " + e.getMessage(), e);
      }
      List<String> classes = d.classes();
      if (classes == null || classes.size() < 2) {
        throw new IllegalArgumentException("config datasets: dataset '" + name + "' has "
            + (classes == null ? 0 : classes.size()) + " class(es) " + classes
            + "; a neuron family needs a class and at least one other to tell it from");
      }
      datasets.putIfAbsent(name, d);
      Map<String, Family> own = families.computeIfAbsent(name, k -> new LinkedHashMap<>());
      if (cls != null) {
        int c = classes.indexOf(cls);
        if (c < 0) {
          throw new IllegalArgumentException("config datasets: '" + entry + "': dataset '" + name + "' has no class '"
              + cls + "'; its classes are " + classes);
        }
        own.putIfAbsent(spec, new Family(spec, d, c));
      } else if (classes.size() == 2) {
        own.putIfAbsent(name, new Family(name, d, 1));
      } else {
        for (int c = 0; c < classes.size(); c++) {
          String fam = name + "=" + classes.get(c);
          own.putIfAbsent(fam, new Family(fam, d, c));
        }
      }
    }
    List<Plan> plans = new ArrayList<>();
    datasets.forEach((name, d) -> plans.add(new Plan(d, List.copyOf(families.get(name).values()))));
    return plans;
  }
}
