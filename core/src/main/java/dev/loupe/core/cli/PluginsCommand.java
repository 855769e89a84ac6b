package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.config.LoupeConfig;
import dev.loupe.core.plugin.LoadedPlugin;
import dev.loupe.core.plugin.MethodEntry;
import dev.loupe.core.plugin.PluginFailure;
import dev.loupe.core.plugin.PluginHost;
import dev.loupe.sdk.config.ConfigOption;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe plugins}: every analysis method with its plugin, inputs and config options, then
 * every plugin that failed to load and why. Exits 0 even when some plugins failed.
 */
@Command(name = "plugins", mixinStandardHelpOptions = true,
    description = "List analysis methods, their config options, and plugins that failed to load.")
final class PluginsCommand implements Callable<Integer> {
  @ParentCommand
  LoupeCli parent;

  @Option(names = "--json", description = "print one JSON document")
  boolean json;

  @Override
  public Integer call() throws Exception {
    LoupeConfig cfg = parent.config();
    PrintWriter out = parent.spec.commandLine().getOut();
    try (PluginHost host = parent.pluginHost(cfg)) {
      if (json) {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        out.println(m.writeValueAsString(document(host)));
      } else {
        printText(host, cfg, out);
      }
    }
    return LoupeCli.OK;
  }

  static Map<String, Object> document(PluginHost host) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("sdkVersion", host.systemVersion());
    List<Object> methods = new ArrayList<>();
    for (MethodEntry e : host.methods()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", e.id());
      m.put("plugin", Map.of("id", e.pluginId(), "version", e.pluginVersion()));
      m.put("description", e.info().description());
      m.put("inputs", e.info().inputs());
      List<Object> options = new ArrayList<>();
      for (ConfigOption o : e.info().config().options()) {
        Map<String, Object> om = new LinkedHashMap<>();
        om.put("name", o.name());
        om.put("type", o.type().name().toLowerCase());
        om.put("default", o.defaultValue());
        om.put("required", o.required());
        om.put("min", o.min());
        om.put("max", o.max());
        om.put("choices", o.choices());
        om.put("description", o.description());
        om.put("summary", o.summary());
        options.add(om);
      }
      m.put("options", options);
      methods.add(m);
    }
    doc.put("methods", methods);
    List<Object> plugins = new ArrayList<>();
    for (LoadedPlugin p : host.plugins()) {
      Map<String, Object> pm = new LinkedHashMap<>();
      pm.put("id", p.id());
      pm.put("version", p.version());
      pm.put("provider", p.provider());
      pm.put("requires", p.requires());
      pm.put("path", p.path().toString());
      pm.put("methods", p.methodIds());
      plugins.add(pm);
    }
    doc.put("plugins", plugins);
    List<Object> failures = new ArrayList<>();
    for (PluginFailure f : host.failures()) {
      Map<String, Object> fm = new LinkedHashMap<>();
      fm.put("path", f.path() == null ? null : f.path().toString());
      fm.put("pluginId", f.pluginId());
      fm.put("reason", f.reason());
      failures.add(fm);
    }
    doc.put("failures", failures);
    return doc;
  }

  private static void printText(PluginHost host, LoupeConfig cfg, PrintWriter out) {
    if (host.methods().isEmpty()) {
      out.println("No analysis methods. Plugin directories searched: " + cfg.pluginDirs());
    } else {
      out.println("Analysis methods (" + host.methods().size() + "):");
    }
    for (MethodEntry e : host.methods()) {
      out.println();
      out.println("  " + e.id() + "  [plugin " + e.pluginId() + " " + e.pluginVersion() + "]");
      if (!e.info().description().isEmpty()) {
        out.println("    " + e.info().description());
      }
      out.println("    inputs: " + (e.info().inputs().isEmpty() ? "(none)" : String.join(", ", e.info().inputs())));
      if (!e.info().config().options().isEmpty()) {
        out.println("    options:");
        for (ConfigOption o : e.info().config().options()) {
          out.println("      " + o.summary());
        }
      }
    }
    if (!host.failures().isEmpty()) {
      out.println();
      out.println("Plugins that failed to load (" + host.failures().size() + "):");
      for (PluginFailure f : host.failures()) {
        out.println("  " + (f.pluginId() == null ? "" : f.pluginId() + " ") + "(" + f.path() + ")");
        out.println("    " + f.reason());
      }
    }
  }
}
