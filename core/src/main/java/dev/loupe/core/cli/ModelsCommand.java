package dev.loupe.core.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.loupe.core.model.ModelCatalog;
import dev.loupe.core.model.ModelRegistry;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code loupe models}: the model references this build resolves, and the Hugging Face model
 * directories kept under {@code models/} of the Loupe home, so users can see what they can open.
 */
@Command(name = "models", mixinStandardHelpOptions = true,
    description = "List the model reference forms and the Hugging Face model directories under <home>/models.")
final class ModelsCommand implements Callable<Integer> {
  /** How deep to look under models/: {@code models/NAME} and {@code models/ORG/NAME}, as on the Hub. */
  private static final int SEARCH_DEPTH = 2;

  @ParentCommand
  LoupeCli parent;

  @Option(names = "--json", description = "print one JSON document")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = parent.spec.commandLine().getOut();
    List<String> forms = ModelRegistry.withDefaults().forms();
    Path modelsDir = parent.config().home().resolve("models");
    List<Path> dirs = modelDirectories(modelsDir);
    if (json) {
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("forms", forms);
      doc.put("modelsDir", modelsDir.toString());
      List<Object> ds = new ArrayList<>();
      for (Path d : dirs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", d.toString());
        m.put("modelType", modelType(d));
        ds.add(m);
      }
      doc.put("directories", ds);
      out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
    } else {
      out.println("Model references:");
      forms.forEach(f -> out.println("  " + f));
      if (dirs.isEmpty()) {
        out.println("No Hugging Face model directories under " + modelsDir
            + " (a directory with config.json, model.safetensors, tokenizer.json).");
      } else {
        out.println("Hugging Face model directories under " + modelsDir + " (open by path):");
        dirs.forEach(d -> out.println("  " + d + "  (" + modelType(d) + ")"));
      }
    }
    out.flush();
    return LoupeCli.OK;
  }

  static String modelType(Path dir) {
    return ModelCatalog.modelType(dir);
  }

  static List<Path> modelDirectories(Path root) {
    return ModelCatalog.directories(root);
  }
}
