package dev.loupe.core.plugin;

import java.util.List;

/** Where the job manager and the CLI look analysis methods up by id. */
public interface MethodCatalog {

  /** Every method, sorted by id. */
  List<MethodEntry> methods();

  /**
   * The method with that id.
   *
   * @throws UnknownMethodException naming the id and listing the known ones
   */
  MethodEntry method(String id);

  /** A catalog of fixed methods (tests, embedding without plugins). */
  static MethodCatalog of(List<MethodEntry> entries) {
    List<MethodEntry> sorted = entries.stream().sorted(java.util.Comparator.comparing(MethodEntry::id)).toList();
    return new MethodCatalog() {
      @Override
      public List<MethodEntry> methods() {
        return sorted;
      }

      @Override
      public MethodEntry method(String id) {
        return sorted.stream().filter(e -> e.id().equals(id)).findFirst()
            .orElseThrow(() -> new UnknownMethodException(id, sorted.stream().map(MethodEntry::id).toList()));
      }
    };
  }
}
