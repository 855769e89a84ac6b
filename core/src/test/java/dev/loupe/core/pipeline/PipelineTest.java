package dev.loupe.core.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.loupe.core.node.NodeTestMethods;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading and checking pipeline files: every error names the file, the line and the field. */
class PipelineTest {
  private static final List<String> INPUT_KINDS = List.of("model", "store", "file", "stream");

  @TempDir
  Path tmp;

  private Path file(String yaml) throws Exception {
    return Files.writeString(tmp.resolve("p.yaml"), yaml);
  }

  private Pipeline check(String yaml, Map<String, Object> vars) throws Exception {
    Pipeline p = Pipeline.read(file(yaml), vars);
    p.validate(NodeTestMethods.catalog(), INPUT_KINDS);
    return p;
  }

  private static final String GOOD = """
      name: small
      vars:
        model: demo
        tokens: 2000
      steps:
        - id: acts
          harvest: {model: "${model}", hooks: [blocks.0.hook_resid_post], tokens: "${tokens}"}
        - id: count
          job:
            method: rows
            config: {scale: 2}
            inputs:
              main: {store: {path: "${steps.acts.dir}/blocks.0.hook_resid_post"}}
        - id: report
          report: {title: "rows of ${model}"}
      """;

  @Test
  void aGoodPipelineReadsAndSubstitutesVariablesWithTheirTypes() throws Exception {
    Pipeline p = check(GOOD, Map.of("tokens", 5000));
    assertThat(p.name()).isEqualTo("small");
    assertThat(p.stepCount()).isEqualTo(3);
    Map<String, Object> harvest = Pipeline.substitute(p.steps.get(0).body(), "steps[0]", p.vars, Map.of(), false);
    // "${tokens}" alone keeps the override's type; a reference inside text is pasted as text
    assertThat(harvest.get("tokens")).isEqualTo(5000);
    assertThat(Pipeline.substitute(p.steps.get(2).body(), "steps[2]", p.vars, Map.of(), false).get("title"))
        .isEqualTo("rows of demo");
    Map<String, Object> job = Pipeline.substitute(p.steps.get(1).body(), "steps[1]", p.vars,
        Map.of("acts", Map.of("dir", "/x/acts")), false);
    assertThat(job.get("inputs").toString()).contains("/x/acts/blocks.0.hook_resid_post");
  }

  @Test
  void anOverrideOfAnUndefinedVariableIsNamed() {
    assertThatThrownBy(() -> check(GOOD, Map.of("tokenz", 1)))
        .isInstanceOf(PipelineException.class)
        .hasMessageContaining("--set tokenz").hasMessageContaining("[model, tokens]");
  }

  @Test
  void anchorsAndAliasesShareAMappingBetweenSteps() throws Exception {
    Pipeline p = check("""
        steps:
          - id: a
            job:
              method: rows
              config: &cfg {scale: 3}
              inputs: {main: {store: {path: /x}}}
          - id: b
            job:
              method: rows
              config: *cfg
              inputs: {main: {store: {path: /y}}}
        """, Map.of());
    Map<String, Object> b = Pipeline.substitute(p.steps.get(1).body(), "steps[1]", p.vars, Map.of(), false);
    assertThat(b.get("config")).isEqualTo(Map.of("scale", 3));
    assertThatThrownBy(() -> check("steps:\n  - id: a\n    report: *nothing\n", Map.of()))
        .isInstanceOf(PipelineException.class).hasMessageContaining("*nothing").hasMessageContaining("line 3");
  }

  @Test
  void aMissingFileAndBrokenYamlAreNamed() throws Exception {
    assertThatThrownBy(() -> Pipeline.read(tmp.resolve("nope.yaml"), Map.of()))
        .hasMessageContaining("nope.yaml: no such pipeline file");
    assertThatThrownBy(() -> check("steps: [ {id: a\n", Map.of()))
        .isInstanceOf(PipelineException.class).hasMessageContaining("not valid YAML");
    assertThatThrownBy(() -> check("- a\n- b\n", Map.of()))
        .hasMessageContaining("a pipeline is a mapping with 'steps'");
  }

  @Test
  void structuralErrorsNameTheLineAndField() {
    assertThatThrownBy(() -> check("name: x\nstep:\n  - id: a\n", Map.of()))
        .hasMessageContaining("line 2: step: unknown key");
    assertThatThrownBy(() -> check("steps: []\n", Map.of()))
        .hasMessageContaining("line 1: steps: expected a non-empty list of steps");
    assertThatThrownBy(() -> check("""
        steps:
          - id: a
            report: {}
          - id: a
            report: {}
        """, Map.of())).hasMessageContaining("line 4: steps[1].id: 'a' is the id of an earlier step too");
    assertThatThrownBy(() -> check("""
        steps:
          - id: a
            report: {}
            harvest: {model: demo, hooks: [x]}
        """, Map.of())).hasMessageContaining("steps[0]: expected exactly one step kind");
    assertThatThrownBy(() -> check("""
        steps:
          - id: a
            train: {}
        """, Map.of())).hasMessageContaining("found [train]");
    assertThatThrownBy(() -> check("""
        steps:
          - id: Big Step
            report: {}
        """, Map.of())).hasMessageContaining("line 2: steps[0].id: each step needs an id");
  }

  @Test
  void referencesMustNameVariablesOrOutputsOfEarlierSteps() {
    assertThatThrownBy(() -> check("""
        vars: {model: demo}
        steps:
          - id: acts
            harvest: {model: "${modle}", hooks: [x]}
        """, Map.of())).hasMessageContaining("line 4: steps[0].harvest.model: ${modle} names no variable")
        .hasMessageContaining("[model]");
    assertThatThrownBy(() -> check("""
        steps:
          - id: check
            eval: {coder: "${steps.train.dir}/sae", model: demo}
          - id: train
            job: {method: rows, inputs: {main: {store: {path: /x}}}}
        """, Map.of())).hasMessageContaining("line 3: steps[0].eval.coder")
        .hasMessageContaining("names step 'train', which runs later");
    assertThatThrownBy(() -> check("""
        steps:
          - id: acts
            harvest: {model: demo, hooks: [x]}
          - id: check
            eval: {coder: "${steps.acts.file}", model: demo}
        """, Map.of())).hasMessageContaining("step 'acts' leaves").hasMessageContaining("not 'file'");
    assertThatThrownBy(() -> check("""
        steps:
          - id: check
            eval: {coder: "${steps.nothing.dir}", model: demo}
        """, Map.of())).hasMessageContaining("no step 'nothing'");
  }

  @Test
  void stepFieldsAreCheckedAgainstTheirKind() {
    assertThatThrownBy(() -> check("""
        steps:
          - id: acts
            harvest: {model: demo, hooks: [x], tokens: -5}
        """, Map.of())).hasMessageContaining("line 3: steps[0].harvest.tokens");
    assertThatThrownBy(() -> check("""
        steps:
          - id: acts
            harvest: {model: demo, hooks: [x], layers: 3}
        """, Map.of())).hasMessageContaining("steps[0].harvest.layers");
  }

  @Test
  void jobStepsAreCheckedAgainstTheMethod() {
    assertThatThrownBy(() -> check("""
        steps:
          - id: j
            job: {method: nope, inputs: {main: {store: {path: /x}}}}
        """, Map.of())).hasMessageContaining("line 3: steps[0].job.method").hasMessageContaining("nope")
        .hasMessageContaining("rows");
    assertThatThrownBy(() -> check("""
        steps:
          - id: j
            job:
              method: rows
              config: {scale: 1000}
              inputs: {main: {store: {path: /x}}}
        """, Map.of())).hasMessageContaining("steps[0].job.config.scale");
    assertThatThrownBy(() -> check("""
        steps:
          - id: j
            job: {method: rows, inputs: {other: {store: {path: /x}}}}
        """, Map.of())).hasMessageContaining("'main' is missing");
    assertThatThrownBy(() -> check("""
        steps:
          - id: j
            job: {method: rows, inputs: {main: {disk: {path: /x}}}}
        """, Map.of())).hasMessageContaining("steps[0].job.inputs.main: expected a mapping with one input kind");
    assertThatThrownBy(() -> check("""
        steps:
          - id: a
            harvest: {model: demo, hooks: [x]}
          - id: j
            job:
              method: rows
              config: {scale: "${steps.a.tokens}"}
              inputs: {main: {store: {path: /x}}}
        """, Map.of())).hasMessageContaining("a job's config may use variables but not step outputs");
    // an input's own fields are typed too, after variables are put in
    assertThatThrownBy(() -> check("""
        vars: {tokens: 1000}
        steps:
          - id: j
            job:
              method: rows
              inputs:
                main: {model: {model: demo, hook: blocks.0.hook_resid_post, tokens: "${tokens}"}}
        """, Map.of("tokens", "abc"))).isInstanceOf(PipelineException.class)
        .hasMessageContaining("line 7: steps[0].job.inputs.main.model.tokens").hasMessageContaining("integer");
    assertThatThrownBy(() -> check("""
        steps:
          - id: j
            job: {method: rows, inputs: {main: {store: {path: /x, shufle: true}}}}
        """, Map.of())).hasMessageContaining("steps[0].job.inputs.main.store.shufle");
  }

  @Test
  void theShippedPipelinesAreValidInStructure() throws Exception {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("config/pipelines"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("config/pipelines above the working directory").isNotNull();
    try (var files = Files.list(dir.resolve("config/pipelines"))) {
      List<Path> all = files.filter(f -> f.toString().endsWith(".yaml")).toList();
      assertThat(all).hasSizeGreaterThanOrEqualTo(4);
      for (Path f : all) {
        // the methods live in plugins, checked end to end in the it module; here: structure and references
        assertThat(Pipeline.read(f, Map.of()).stepCount()).as(f.toString()).isPositive();
      }
    }
  }
}
