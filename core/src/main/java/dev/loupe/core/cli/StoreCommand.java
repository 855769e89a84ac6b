package dev.loupe.core.cli;

import dev.loupe.core.store.ActivationStore;
import dev.loupe.core.store.StoreVerification;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code loupe store verify DIR}: checks every shard of an activation store against its manifest. */
@Command(name = "store", mixinStandardHelpOptions = true, description = "Inspect activation stores.",
    subcommands = {StoreCommand.Verify.class})
final class StoreCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Override
  public Integer call() {
    parent.spec.commandLine().getSubcommands().get("store").usage(parent.spec.commandLine().getErr());
    return LoupeCli.USAGE;
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Check sizes and checksums of every shard; list corrupt shards and stray files. Exit 1 when any is bad.")
  static final class Verify implements Callable<Integer> {
    @ParentCommand
    StoreCommand store;

    @Parameters(index = "0", paramLabel = "DIR", description = "activation store directory (with manifest.json)")
    Path dir;

    @Override
    public Integer call() throws Exception {
      PrintWriter o = store.parent.spec.commandLine().getOut();
      ActivationStore s = ActivationStore.open(dir);
      StoreVerification v = s.verify();
      o.printf("%s: model %s, hook %s, width %d, %s, %,d rows in %d shards%n", dir, s.modelId(), s.hookName(), s.width(),
          s.dtype(), s.totalRows(), s.shards().size());
      for (StoreVerification.ShardProblem p : v.badShards()) {
        o.println("  BAD   " + p.file() + ": " + p.problem());
      }
      for (String f : v.strayFiles()) {
        o.println("  stray " + f + " (not in the manifest; ignored by readers)");
      }
      o.println(v.ok() ? "ok: " + v.checkedShards() + " shards verified" : "corrupt: " + v.badShards().size() + " bad shards");
      o.flush();
      return v.ok() ? LoupeCli.OK : LoupeCli.JOB_FAILED;
    }
  }
}
