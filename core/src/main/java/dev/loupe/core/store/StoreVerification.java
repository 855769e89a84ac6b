package dev.loupe.core.store;

import java.util.List;

/**
 * What {@link ActivationStore#verify()} found: listed shards that are missing or corrupt, and files
 * in the store directory that the manifest does not list (such as temp files left by a crash).
 *
 * @param checkedShards how many listed shards were checked
 */
public record StoreVerification(int checkedShards, List<ShardProblem> badShards, List<String> strayFiles) {

  /** One bad shard: its file name and what is wrong with it. */
  public record ShardProblem(String file, String problem) {
  }

  public StoreVerification {
    badShards = List.copyOf(badShards);
    strayFiles = List.copyOf(strayFiles);
  }

  /** Whether every listed shard is intact (stray files do not make a store unreadable). */
  public boolean ok() {
    return badShards.isEmpty();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("checked " + checkedShards + " shards: "
        + (ok() ? "all intact" : badShards.size() + " bad"));
    for (ShardProblem p : badShards) {
      sb.append("\n  ").append(p.file()).append(": ").append(p.problem());
    }
    if (!strayFiles.isEmpty()) {
      sb.append("\n  not in the manifest (ignored): ").append(strayFiles);
    }
    return sb.toString();
  }
}
