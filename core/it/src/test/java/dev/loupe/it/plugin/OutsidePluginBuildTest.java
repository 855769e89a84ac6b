package dev.loupe.it.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.core.cli.LoupeCli;
import dev.loupe.core.job.SyntheticSource;
import dev.loupe.sdk.LoupeSdk;
import dev.loupe.sdk.activation.ActivationBatch;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * A plugin author's path from outside the repository: a plugin project that is not part of the
 * Loupe build (src/test/resources/outside-plugin: its own pom, no Loupe parent, depending only on
 * the {@code dev.loupe:loupe-sdk} artifact) is built with {@code mvn -B -q -o package} in a child
 * process, its zip is dropped into a plugins directory and {@code loupe job} runs it. The same
 * project built with {@code plugin.requires} set to an SDK range this Loupe is not in is refused
 * by {@code loupe plugins} and {@code loupe job}, naming the plugin and both versions.
 *
 * <p><b>Where the child build finds the SDK artifact, offline.</b> An author gets it with
 * {@code mvn install} in a Loupe checkout (or, for a release, from a Maven repository). This test
 * must not install into the user's own local repository (other checkouts and builds share it),
 * and in {@code mvn verify} nothing is installed at all. So the child build runs offline
 * ({@code -o}) against a temporary local repository ({@code -Dmaven.repo.local}) made of:
 * <ul>
 *   <li>{@code dev/loupe/loupe-sdk/V/} with this build's {@code sdk/target/loupe-sdk-V.jar} and
 *       {@code sdk/pom.xml}, and {@code dev/loupe/loupe-parent/V/} with the root {@code pom.xml},
 *       which the SDK's pom inherits its dependency versions from: the files {@code mvn install}
 *       would write, at the same places;</li>
 *   <li>a symbolic link to every other directory of this build's local repository (the property
 *       {@code loupe.it.localRepository}, set by core/it's pom to {@code settings.localRepository};
 *       {@code ~/.m2/repository} otherwise), so the libraries and Maven plugins the Loupe build
 *       itself downloaded are found without copying. An offline build that finds everything writes
 *       nothing there; any older {@code dev/loupe} artifacts in it are hidden.</li>
 * </ul>
 * The template pins the versions of PF4J, JUnit and the Maven plugins to today's Loupe; the test
 * passes the root pom's current ones with {@code -D}, so the offline build asks for exactly what
 * the Loupe build has downloaded even after a version bump. Maven 3.9's
 * {@code maven.repo.local.tail} would chain the user's repository without links, but CI and
 * developers may run 3.8. The test is skipped (an assumption) only when {@code mvn} is not on
 * the PATH.
 */
class OutsidePluginBuildTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String METHOD = "mean-norm";
  private static final String FUTURE_SDK = ">=99.0.0";

  @TempDir
  static Path work;

  private static Path project;
  private static Path zip;
  private static Path futureZip;

  @TempDir
  Path home;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeAll
  static void buildThePluginOutsideTheReactor() throws Exception {
    Path mvn = mavenOnPath();
    Assumptions.assumeTrue(mvn != null, "mvn is not on the PATH: the outside-build test needs Maven to build a "
        + "plugin project in a child process");
    Path repo = localRepositoryWithThisSdk(work.resolve("m2"));
    project = copyTemplate(work.resolve(METHOD));
    build(mvn, project, repo, List.of());
    zip = project.resolve("target/" + METHOD + "-1.0.0.zip");

    // The same sources, declaring an SDK this Loupe is not.
    Path future = copyTemplate(work.resolve(METHOD + "-future"));
    build(mvn, future, repo, List.of("-Dplugin.requires=" + FUTURE_SDK, "-DskipTests"));
    futureZip = future.resolve("target/" + METHOD + "-1.0.0.zip");
  }

  /** Removes the links into the user's repository, so the temporary directory's clean-up never meets them. */
  @AfterAll
  static void unlinkTheUsersRepository() throws IOException {
    for (Path dir : List.of(work.resolve("m2"), work.resolve("m2/dev"))) {
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
          for (Path p : s) {
            if (Files.isSymbolicLink(p)) {
              Files.delete(p); // the link, never what it points to
            }
          }
        }
      }
    }
  }

  private int loupe(Path pluginsDir, String... args) {
    List<String> all = new ArrayList<>(List.of("--home", home.toString(), "--plugins-dir", pluginsDir.toString()));
    all.addAll(List.of(args));
    return LoupeCli.run(new PrintWriter(out), new PrintWriter(err), all.toArray(String[]::new));
  }

  private Path pluginsDirWith(Path pluginZip) throws IOException {
    Path dir = Files.createDirectories(home.resolve("plugins"));
    Files.copy(pluginZip, dir.resolve(pluginZip.getFileName()));
    return dir;
  }

  @Test
  void theZipHoldsOnlyThePluginsOwnJarAndTheBuildRanItsTests() throws Exception {
    Map<String, String> entries = zipEntries(zip);
    assertThat(entries.keySet()).containsExactlyInAnyOrder("lib/", "plugin.properties", "lib/mean-norm-1.0.0.jar");
    assertThat(entries.get("plugin.properties")).contains("plugin.id=mean-norm").contains("plugin.version=1.0.0")
        .contains("plugin.requires=^" + LoupeSdk.VERSION);
    // the plugin's own unit test ran against the SDK artifact's TestJobContext
    Path report = project.resolve("target/surefire-reports/TEST-org.example.meannorm.MeanNormMethodTest.xml");
    assertThat(Files.readString(report)).contains("tests=\"1\"").contains("failures=\"0\"").contains("errors=\"0\"");
  }

  @Test
  void loupeJobRunsTheZipFromAPluginsDirectory() throws Exception {
    Path plugins = pluginsDirWith(zip);
    Path job = Files.writeString(home.resolve("job.yaml"), """
        config:
          max_rows: 1500
        inputs:
          main:
            synthetic: {rows: 2000, width: 16, seed: 7, batch_rows: 256, mean: 0.5, std: 2.0}
        """);

    assertThat(loupe(plugins, "plugins", "--json")).as(err.toString()).isZero();
    JsonNode listed = JSON.readTree(out.toString());
    assertThat(listed.get("failures")).isEmpty();
    assertThat(listed.get("methods")).anySatisfy(m -> {
      assertThat(m.get("id").asText()).isEqualTo(METHOD);
      assertThat(m.at("/plugin/version").asText()).isEqualTo("1.0.0");
    });

    int code = loupe(plugins, "job", METHOD, "--config", job.toString(), "--run-dir", home.resolve("runs").toString(),
        "--job-id", "outside-1");

    assertThat(code).as(err.toString()).isZero();
    JsonNode summary = JSON.readTree(home.resolve("runs/outside-1/results/summary.json").toFile());
    assertThat(summary.get("rows").asLong()).isEqualTo(1500);
    // the plugin's own code ran: its number is the mean norm of the same synthetic rows
    assertThat(summary.get("mean_norm").asDouble()).isCloseTo(meanNorm(1500), within(1e-9));
  }

  @Test
  void loupePluginsRefusesAPluginBuiltForAnotherSdkNamingItAndBothVersions() throws Exception {
    assertThat(zipEntries(futureZip).get("plugin.properties")).contains("plugin.requires=" + FUTURE_SDK);

    assertThat(loupe(pluginsDirWith(futureZip), "plugins")).as(err.toString()).isZero();

    assertThat(out.toString()).contains("failed to load (1)").contains(METHOD + " (")
        .contains("requires Loupe SDK " + FUTURE_SDK + " but this Loupe has SDK " + LoupeSdk.VERSION);
  }

  @Test
  void loupeJobRefusesAPluginBuiltForAnotherSdkNamingItAndBothVersions() throws Exception {
    Path job = Files.writeString(home.resolve("job.yaml"), "inputs:\n  main:\n    synthetic: {rows: 10, width: 4}\n");

    int code = loupe(pluginsDirWith(futureZip), "job", METHOD, "--config", job.toString(),
        "--run-dir", home.resolve("runs").toString());

    assertThat(code).isEqualTo(LoupeCli.USAGE);
    assertThat(err.toString()).contains("unknown method '" + METHOD + "'").contains("1 plugin failed to load: " + METHOD)
        .contains("requires Loupe SDK " + FUTURE_SDK + " but this Loupe has SDK " + LoupeSdk.VERSION)
        .doesNotContain("\tat ");
    assertThat(home.resolve("runs")).doesNotExist();
  }

  /** The mean L2 norm of the first {@code rows} rows of the job file's synthetic input, computed here. */
  private static double meanNorm(int rows) throws InterruptedException {
    double sum = 0;
    int seen = 0;
    try (SyntheticSource in = new SyntheticSource("blocks.0.hook_resid_post", 2000, 16, 7, 256, 0.5, 2.0)) {
      for (ActivationBatch b = in.next(); b != null && seen < rows; b = in.next()) {
        for (int r = 0; r < b.rows() && seen < rows; r++, seen++) {
          double ss = 0;
          for (int c = 0; c < b.width(); c++) {
            ss += (double) b.get(r, c) * b.get(r, c);
          }
          sum += Math.sqrt(ss);
        }
      }
    }
    return sum / rows;
  }

  private static Map<String, String> zipEntries(Path zipFile) throws IOException {
    Map<String, String> entries = new LinkedHashMap<>();
    try (InputStream raw = Files.newInputStream(zipFile); ZipInputStream in = new ZipInputStream(raw)) {
      for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
        entries.put(e.getName(), e.getName().endsWith(".properties")
            ? new String(in.readAllBytes(), StandardCharsets.UTF_8) : "");
      }
    }
    return entries;
  }

  // ---- the child build ----

  /** The {@code mvn} executable on the PATH, or null. */
  private static Path mavenOnPath() {
    boolean windows = System.getProperty("os.name", "").toLowerCase().startsWith("windows");
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (dir.isBlank()) {
        continue;
      }
      for (String name : windows ? List.of("mvn.cmd", "mvn.bat") : List.of("mvn")) {
        Path p = Path.of(dir, name);
        if (Files.isRegularFile(p) && Files.isExecutable(p)) {
          return p;
        }
      }
    }
    return null;
  }

  /** A copy of the outside-plugin project template in {@code target}. */
  private static Path copyTemplate(Path target) throws IOException, URISyntaxException {
    Path template = Path.of(OutsidePluginBuildTest.class.getResource("/outside-plugin/pom.xml").toURI()).getParent();
    try (Stream<Path> walk = Files.walk(template)) {
      for (Path p : walk.toList()) {
        Path to = target.resolve(template.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(to);
        } else {
          Files.copy(p, to);
        }
      }
    }
    return target;
  }

  /**
   * Runs {@code mvn -B -q -o package} in {@code project} against {@code repo}, with the versions of
   * this Loupe build, and fails with the end of Maven's output if it does not succeed.
   */
  private static void build(Path mvn, Path project, Path repo, List<String> extra) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(mvn.toString(), "-B", "-q", "-o", "-Dmaven.repo.local=" + repo));
    versions().forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.addAll(extra);
    cmd.add("package");
    Path log = project.resolve("build.log");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(project.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    // the JDK running this test, whatever JAVA_HOME says
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process p = pb.start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("mvn package of " + project + " took over 5 minutes; output:\n" + tail(log));
    }
    assertThat(p.exitValue()).as("%s exited with %d; output:%n%s", String.join(" ", cmd), p.exitValue(), tail(log))
        .isZero();
  }

  private static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }

  /**
   * What the template's pom takes from the Loupe release it builds against, read from this
   * build's root pom: the Loupe and SDK versions, PF4J's and JUnit's, and the Maven plugins'.
   */
  private static Map<String, String> versions() throws Exception {
    Document pom = DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(PluginFixtures.repoRoot().resolve("pom.xml").toFile());
    Element root = pom.getDocumentElement();
    Map<String, String> props = new LinkedHashMap<>();
    for (Element e : children(child(root, "properties"))) {
      props.put(e.getTagName(), e.getTextContent().trim());
    }
    Map<String, String> out = new LinkedHashMap<>();
    out.put("loupe.version", child(root, "version").getTextContent().trim());
    out.put("loupe.sdk.version", LoupeSdk.VERSION);
    out.put("pf4j.version", props.get("pf4j.version"));
    out.put("junit.version", props.get("junit.version"));
    Element managed = child(child(child(root, "build"), "pluginManagement"), "plugins");
    for (Element plugin : children(managed)) {
      String artifact = child(plugin, "artifactId").getTextContent().trim();
      if (List.of("maven-resources-plugin", "maven-compiler-plugin", "maven-surefire-plugin", "maven-jar-plugin",
          "maven-assembly-plugin").contains(artifact)) {
        out.put(artifact + ".version", child(plugin, "version").getTextContent().trim());
      }
    }
    assertThat(out).as("versions read from the root pom").hasSize(9).doesNotContainValue(null);
    return out;
  }

  private static Element child(Element parent, String name) {
    for (Element e : children(parent)) {
      if (e.getTagName().equals(name)) {
        return e;
      }
    }
    throw new IllegalStateException("the root pom has no <" + name + "> in <" + parent.getTagName() + ">");
  }

  private static List<Element> children(Element parent) {
    List<Element> out = new ArrayList<>();
    NodeList nodes = parent.getChildNodes();
    for (int i = 0; i < nodes.getLength(); i++) {
      if (nodes.item(i).getNodeType() == Node.ELEMENT_NODE) {
        out.add((Element) nodes.item(i));
      }
    }
    return out;
  }

  /**
   * A local repository holding this build's SDK and parent pom as {@code mvn install} lays them
   * out, and links to everything else in the user's local repository (see the class comment).
   */
  private static Path localRepositoryWithThisSdk(Path repo) throws Exception {
    Path user = Path.of(System.getProperty("loupe.it.localRepository",
        Path.of(System.getProperty("user.home"), ".m2", "repository").toString()));
    Assumptions.assumeTrue(Files.isDirectory(user), "no local Maven repository at " + user
        + " to build the outside plugin from");
    Path root = PluginFixtures.repoRoot();
    String version = versions().get("loupe.version");
    Path sdkJar = root.resolve("sdk/target/loupe-sdk-" + version + ".jar");
    if (!Files.isRegularFile(sdkJar)) {
      throw new IllegalStateException("no " + sdkJar + "; build the SDK first: mvn -B -o package -pl sdk");
    }
    Path loupe = Files.createDirectories(repo.resolve("dev/loupe"));
    Path parentDir = Files.createDirectories(loupe.resolve("loupe-parent/" + version));
    Files.copy(root.resolve("pom.xml"), parentDir.resolve("loupe-parent-" + version + ".pom"));
    Path sdkDir = Files.createDirectories(loupe.resolve("loupe-sdk/" + version));
    Files.copy(root.resolve("sdk/pom.xml"), sdkDir.resolve("loupe-sdk-" + version + ".pom"));
    Files.copy(sdkJar, sdkDir.resolve("loupe-sdk-" + version + ".jar"));
    try {
      linkAllBut(user, repo, "dev");
      if (Files.isDirectory(user.resolve("dev"))) {
        linkAllBut(user.resolve("dev"), repo.resolve("dev"), "loupe");
      }
    } catch (UnsupportedOperationException | IOException e) {
      Assumptions.abort("cannot make symbolic links here (" + e + "), which the outside-build test uses to reach "
          + user + " offline");
    }
    return repo;
  }

  /** Links every entry of {@code from} except {@code except} into {@code to}. */
  private static void linkAllBut(Path from, Path to, String except) throws IOException {
    try (DirectoryStream<Path> s = Files.newDirectoryStream(from)) {
      for (Path p : s) {
        String name = p.getFileName().toString();
        if (!name.equals(except)) {
          Files.createSymbolicLink(to.resolve(name), p.toAbsolutePath());
        }
      }
    }
  }
}
