package dev.loupe.it.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.loupe.core.dataset.DatasetRegistry;
import dev.loupe.core.node.LoupeNode;
import dev.loupe.core.plugin.PluginHost;
import dev.loupe.core.server.HttpApi;
import dev.loupe.core.server.ServerOptions;
import dev.loupe.it.plugin.PluginFixtures;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web UI in a real browser (headless Debian chromium) against a real node with the built
 * plugins: start an SAE job on the demo model from the Jobs page and watch it finish with its
 * curves and results; open a demo session from the home page, run a prompt over the WebSocket and
 * see its tokens coloured by the SAE's most active latent (checked position by position against the
 * API's own answer), the top next tokens and the logit lens, a server error as the HTTP error reads,
 * and the same run over HTTP where no WebSocket opens; open that latent's feature page with its top
 * examples, histogram and logits, and search features by token. A probes job's and a neuron-families
 * job's pages: accuracy by layer, F1 against k, best neuron per family and a neuron's dashboard, each
 * checked against the job's results JSON. Screenshots of every page go to
 * {@code core/it/target/screenshots/}.
 */
class WebUiBrowserTest {
  /** ASCII, so the demo's byte tokenizer gives one token per character. */
  private static final String PROMPT = "Mr President, I would like to thank the Commission for its report.";
  private static final String JOB = "sae-ui";
  private static final String CROSSCODER = "cc-ui";
  private static final String LONG_JOB = "sae-long";
  private static final String PROBES = "probes-ui";
  private static final String NEURONS = "neurons-ui";

  @TempDir
  Path tmp;

  private LoupeNode node;
  private String base;
  private ChromeDriver browser;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final Path screenshots = Path.of(System.getProperty("loupe.it.screenshots", "target/screenshots"));

  @BeforeEach
  void start() throws IOException {
    browser = Chromium.start(1400, 1000); // first: without a browser the test stops before starting a node
    PluginHost plugins = PluginHost.builder().pluginDir(PluginFixtures.builtPluginsDir())
        .extractDir(tmp.resolve("plugins")).build();
    node = LoupeNode.start("webui", null, plugins, tmp.resolve("runs"), 2);
    // the shipped Europarl dataset definitions, as a node started from the repository reads them (probes, neurons)
    node.jobs().useDatasets(DatasetRegistry.load(List.of(PluginFixtures.repoRoot().resolve("config/datasets"))));
    int port = HttpApi.listen(node, "127.0.0.1", 0).toCompletionStage().toCompletableFuture().join().actualPort();
    base = "http://127.0.0.1:" + port;
    Files.createDirectories(screenshots);
  }

  @AfterEach
  void stop() {
    try {
      if (browser != null) {
        browser.quit();
      }
    } finally {
      if (node != null) {
        node.close();
      }
    }
  }

  @Test
  @Timeout(180)
  void trainCodersThenBrowseSessionsFeaturesAndTheModelDiff() throws Exception {
    try {
      story();
    } catch (Throwable t) {
      // what the browser showed when it failed, and the page as it was
      shot("failure");
      Files.writeString(screenshots.resolve("failure.html"), browser.getPageSource());
      browser.manage().logs().get(LogType.BROWSER).getAll().forEach(e -> System.out.println("browser console: " + e));
      throw t;
    }
  }

  @Test
  @Timeout(120)
  void withAnAccessTokenThePagesWorkFromTheTokenLinkOnly() throws Exception {
    String token = "browser-token-0123456789abcdef";
    int port = HttpApi.listen(node, new ServerOptions().setHost("127.0.0.1").setPort(0).setToken(token))
        .toCompletionStage().toCompletableFuture().join().actualPort();
    String guarded = "http://127.0.0.1:" + port;
    WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
    String job = "sae-token";
    try {
      // Without the token the page loads (its files are public) and shows why its data does not.
      browser.get(guarded + "/#/jobs");
      WebElement error = wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("[data-error]")));
      assertThat(error.getText()).contains("access token");
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.tagName("body"), "open the link"));
      shot("11-token-missing");

      // From the token link every call carries it, the WebSocket that follows a running job too.
      post("/api/jobs", new JsonObject().put("id", job).put("method", "sae")
          .put("config", new JsonObject().put("k", 8).put("expansion", 2).put("batch_size", 256).put("eval_rows", 512)
              .put("eval_every", 0).put("metrics_every", 1).put("splice_sequences", 0))
          .put("inputs", new JsonObject().put("main", modelInput("demo").copy().put("model",
              modelInput("demo").getJsonObject("model").copy().put("tokens", 5_000_000)))), 201);
      browser.get(guarded + "/?token=" + token + "#/jobs");
      String card = "[data-job='" + job + "'] ";
      wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(card + "[data-metric='loss'] path.series")));
      HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(guarded + "/api/health"))
          .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(new JsonObject(health.body()).getInteger("websockets")).as("the page's WebSocket").isPositive();
      wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector(card + "button[data-action='cancel']"))).click();
      wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(card + "[data-state='CANCELLED']")));
      shot("12-token-jobs");
    } catch (Throwable t) {
      shot("token-failure");
      browser.manage().logs().get(LogType.BROWSER).getAll().forEach(e -> System.out.println("browser console: " + e));
      throw t;
    }
  }

  @Test
  @Timeout(150)
  void probesAndNeuronFamiliesShowTheirChartsTablesAndDashboards() throws Exception {
    try {
      probesAndNeurons();
    } catch (Throwable t) {
      shot("probes-neurons-failure");
      Files.writeString(screenshots.resolve("probes-neurons-failure.html"), browser.getPageSource());
      browser.manage().logs().get(LogType.BROWSER).getAll().forEach(e -> System.out.println("browser console: " + e));
      throw t;
    }
  }

  /**
   * A probes job (the document's language, on two layers' residual streams) and a neuron-families
   * job (French, and the space token, which the byte-level demo model gives dedicated neurons), both
   * small, through the API; then their pages: every point of the accuracy-by-layer and F1-vs-k
   * charts is the number in the job's summary, the families table names each family's best neuron,
   * and a neuron's dashboard shows its top contexts and its activation histogram by class.
   */
  private void probesAndNeurons() throws Exception {
    WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
    JsonObject probeInputs = new JsonObject();
    for (int layer : new int[] {1, 3}) {
      probeInputs.put("l" + layer, new JsonObject().put("model", new JsonObject().put("model", "demo")
          .put("corpus", "europarl:shuffled").put("hook", "blocks." + layer + ".hook_resid_post").put("tokens", 20000)));
    }
    post("/api/jobs", new JsonObject().put("id", PROBES).put("method", "probes")
        .put("config", new JsonObject().put("datasets", new JsonArray().add("french")).put("max_per_class", 200)
            .put("ks", new JsonArray().add(1).add(4).add(16)))
        .put("inputs", probeInputs), 201);
    JsonObject neuronInputs = new JsonObject();
    for (int layer : new int[] {0, 1}) {
      neuronInputs.put("l" + layer, new JsonObject().put("model", new JsonObject().put("model", "demo")
          .put("corpus", "europarl:shuffled").put("hook", "blocks." + layer + ".mlp.hook_post").put("tokens", 20000)));
    }
    post("/api/jobs", new JsonObject().put("id", NEURONS).put("method", "neurons")
        .put("config", new JsonObject().put("datasets", new JsonArray().add("french").add("token-class=space"))
            .put("max_per_class", 300).put("top_examples", 3).put("context_tokens", 8))
        .put("inputs", neuronInputs), 201);
    awaitJob(PROBES, Duration.ofSeconds(90));
    awaitJob(NEURONS, Duration.ofSeconds(90));

    // Probes: test accuracy by layer, one point per input, each the summary's number.
    JsonObject probes = new JsonObject(get("/api/jobs/" + PROBES + "/results/summary"));
    JsonArray french = probes.getJsonObject("results").getJsonArray("french");
    assertThat(french).hasSize(2);
    browser.get(base + "/#/jobs/" + PROBES);
    String acc = "[data-result='summary'] [data-chart='accuracy-vs-layer'] ";
    List<WebElement> accPoints = wait.until(ExpectedConditions.numberOfElementsToBe(
        By.cssSelector(acc + "circle[data-series='french']"), 2));
    assertThat(browser.findElements(By.cssSelector(acc + "path.series[data-series='french']"))).hasSize(1);
    for (int i = 0; i < french.size(); i++) {
      JsonObject row = french.getJsonObject(i);
      WebElement p = accPoints.get(i);
      int layer = row.getString("input").equals("l1") ? 1 : 3;
      assertThat(p.getAttribute("data-x")).as("input of point %d", i).isEqualTo(row.getString("input") + " · layer " + layer);
      assertThat(Double.parseDouble(p.getAttribute("data-y"))).as("test accuracy on %s", row.getString("input"))
          .isEqualTo(row.getDouble("test_accuracy"));
    }
    // the table under it shows the same accuracy, rounded as the page rounds
    assertThat(browser.findElement(By.cssSelector("[data-result='summary'] [data-table='probes-french']")).getText())
        .contains(shown(french.getJsonObject(1).getDouble("test_accuracy")));

    // F1 against k: one line per input for the chosen feature ranking, each point the summary's F1.
    String f1 = "[data-result='summary'] [data-chart='f1-vs-k'][data-dataset='french'] ";
    for (String ranking : List.of("mean_diff", "l1")) {
      new Select(browser.findElement(By.cssSelector("[data-result='summary'] select[data-control='ranking']"))).selectByValue(ranking);
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector(f1 + "h4"), "(" + ranking + ")"));
      for (int i = 0; i < french.size(); i++) {
        String input = french.getJsonObject(i).getString("input");
        JsonObject curve = french.getJsonObject(i).getJsonObject("k_sparse_test_f1").getJsonObject(ranking);
        List<WebElement> points = browser.findElements(By.cssSelector(f1 + "circle[data-series='" + input + "']"));
        assertThat(points).as("%s points of %s", ranking, input).hasSize(3);
        List<String> ks = List.of("1", "4", "16");
        for (int j = 0; j < ks.size(); j++) {
          assertThat(points.get(j).getAttribute("data-x")).isEqualTo(ks.get(j));
          assertThat(Double.parseDouble(points.get(j).getAttribute("data-y"))).as("%s F1 at k=%s on %s", ranking, ks.get(j), input)
              .isEqualTo(curve.getDouble(ks.get(j)));
        }
      }
    }
    shot("13-job-probes");

    // Neurons: the dedicated neuron of the space family and the F1 of k neurons for French.
    JsonObject neurons = new JsonObject(get("/api/jobs/" + NEURONS + "/results/summary"));
    JsonArray families = new JsonArray(get("/api/jobs/" + NEURONS + "/results/families"));
    JsonArray dashboards = new JsonArray(get("/api/jobs/" + NEURONS + "/results/neurons"));
    assertThat(neurons.getInteger("families_scored")).isEqualTo(2);
    browser.get(base + "/#/jobs/" + NEURONS);
    JsonObject space = neurons.getJsonArray("dedicated").getJsonObject(0);
    assertThat(space.getString("family")).isEqualTo("token-class=space");
    WebElement dedicated = wait.until(ExpectedConditions.presenceOfElementLocated(
        By.cssSelector("[data-result='summary'] [data-table='dedicated'] tbody tr")));
    assertThat(dedicated.getText()).contains("token-class=space").contains(space.getString("neuron"))
        .contains(shown(space.getDouble("f1")));
    JsonObject needsK = neurons.getJsonArray("needs_k").getJsonObject(0);
    assertThat(needsK.getString("family")).isEqualTo("french");
    List<WebElement> needPoints = browser.findElements(By.cssSelector(
        "[data-result='summary'] [data-chart='f1-vs-k-neurons'] circle[data-series='french']"));
    assertThat(needPoints).hasSize(needsK.getJsonObject("f1_by_k").size());
    for (WebElement p : needPoints) {
      assertThat(Double.parseDouble(p.getAttribute("data-y"))).as("French F1 with k=%s neurons", p.getAttribute("data-x"))
          .isEqualTo(needsK.getJsonObject("f1_by_k").getDouble(p.getAttribute("data-x")));
    }

    // The families table: one row per family with its best neuron and that neuron's test F1.
    List<WebElement> familyRows = wait.until(ExpectedConditions.numberOfElementsToBe(
        By.cssSelector("[data-result='families'] [data-table='families'] tbody tr"), families.size()));
    for (int i = 0; i < families.size(); i++) {
      JsonObject f = families.getJsonObject(i);
      WebElement row = familyRows.get(i);
      assertThat(row.getAttribute("data-family")).isEqualTo(f.getString("family"));
      assertThat(row.findElement(By.cssSelector("[data-cell='best']")).getText()).contains(f.getJsonObject("best").getString("neuron"));
      assertThat(row.findElement(By.cssSelector("[data-cell='f1']")).getText())
          .isEqualTo(shown(f.getJsonObject("best").getDouble("f1")));
    }

    // The dashboard of the space family's best neuron: its top contexts and its activations by class.
    JsonObject dash = null;
    for (int i = 0; i < dashboards.size(); i++) {
      if (dashboards.getJsonObject(i).getString("neuron").equals(space.getString("neuron"))) {
        dash = dashboards.getJsonObject(i);
      }
    }
    assertThat(dash).as("dashboard of %s", space.getString("neuron")).isNotNull();
    String card = "[data-result='neurons'] [data-neuron='" + space.getString("neuron") + "'] ";
    // opened from the families table's link next to the family's best neuron
    WebElement open = browser.findElement(By.cssSelector(
        "[data-table='families'] tr[data-family='token-class=space'] a[data-open-neuron]"));
    assertThat(open.getAttribute("data-open-neuron")).isEqualTo(space.getString("neuron"));
    open.click();
    List<WebElement> examples = wait.until(ExpectedConditions.presenceOfAllElementsLocatedBy(By.cssSelector(card + ".example")));
    JsonArray top = dash.getJsonArray("top_examples");
    assertThat(examples).hasSize(top.size());
    for (int i = 0; i < top.size(); i++) {
      JsonObject e = top.getJsonObject(i);
      assertThat(examples.get(i).findElement(By.cssSelector("[data-context]")).getAttribute("textContent")).as("top context %d", i)
          .isEqualTo(e.getString("context").replace("\n", "↵"));
      assertThat(examples.get(i).findElement(By.cssSelector(".act")).getText()).isEqualTo(shown(e.getDouble("activation")));
      assertThat(examples.get(i).findElement(By.cssSelector(".tok.focus")).getText())
          .isEqualTo(e.getString("token").equals(" ") ? "␣" : e.getString("token"));
    }
    JsonObject hist = dash.getJsonArray("families").getJsonObject(0).getJsonObject("histogram");
    for (String cls : List.of("space", "not space")) {
      JsonArray counts = hist.getJsonObject("counts").getJsonArray(cls);
      long nonZero = counts.stream().filter(c -> ((Number) c).longValue() > 0).count();
      assertThat(browser.findElements(By.cssSelector(card + "rect.pairbar[data-class='" + cls + "']")))
          .as("bars of class %s", cls).hasSize((int) nonZero);
    }
    shot("14-job-neurons");
  }

  /** A number as the page shows it (dom.js fmt): integers whole, others to three significant digits. */
  private static String shown(double v) {
    if (v == Math.rint(v)) {
      return String.valueOf((long) v);
    }
    return new java.math.BigDecimal(v).round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString();
  }

  private void story() throws Exception {
    WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
    // A crosscoder of demo against its French fine-tune, through the API, meanwhile: the diff view's input.
    post("/api/jobs", new JsonObject().put("id", CROSSCODER).put("method", "crosscoder")
        .put("config", new JsonObject().put("activation", "relu").put("l1", 2.0).put("expansion", 4).put("batch_size", 512)
            .put("epochs", 2).put("eval_rows", 1024).put("eval_every", 0).put("top_examples", 5))
        .put("inputs", new JsonObject()
            .put("base", modelInput("demo"))
            .put("finetuned", modelInput("demo-ft"))), 201);

    // Jobs page: start a small TopK SAE on demo's layer-2 residual stream from the form.
    browser.get(base + "/#/jobs");
    WebElement form = wait.until(ExpectedConditions.presenceOfElementLocated(By.id("job-method")));
    browser.findElement(By.cssSelector("details.card > summary")).click();
    new Select(form).selectByValue("sae");
    setValue(browser.findElement(By.id("job-config")), new JsonObject().put("activation", "topk").put("k", 8)
        .put("expansion", 4).put("batch_size", 512).put("epochs", 3).put("eval_rows", 1024).put("eval_every", 10)
        .put("metrics_every", 2).put("top_examples", 5).encodePrettily());
    setValue(browser.findElement(By.id("job-inputs")), new JsonObject().put("main", new JsonObject().put("model",
        new JsonObject().put("model", "demo").put("corpus", "europarl").put("hook", "blocks.2.hook_resid_post")
            .put("tokens", 8000))).encodePrettily());
    browser.findElement(By.id("job-id")).sendKeys(JOB);
    browser.findElement(By.id("job-start")).click();
    wait.until(ExpectedConditions.urlContains("#/jobs/" + JOB));
    new WebDriverWait(browser, Duration.ofSeconds(120)).until(ExpectedConditions.presenceOfElementLocated(
        By.cssSelector("h1 [data-state='SUCCEEDED'], h1 [data-state='FAILED']")));
    assertThat(browser.findElement(By.cssSelector("h1 .state")).getText()).as(textOf("job-message")).isEqualTo("SUCCEEDED");
    for (String metric : List.of("loss", "l0", "fve", "dead_fraction")) {
      wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("[data-metric='" + metric + "'] path.series")));
    }
    WebElement summary = wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("[data-result='summary'] .stats")));
    assertThat(summary.getText()).contains("held-out FVE").contains("sae");
    shot("01-job-sae");

    // Home: open a session on demo.
    browser.get(base + "/#/");
    wait.until(ExpectedConditions.elementToBeClickable(By.id("open-session"))).click();
    wait.until(ExpectedConditions.urlMatches("#/sessions/[^/]+$"));
    String sessionId = browser.getCurrentUrl().replaceAll(".*#/sessions/", "");

    // Session: run the prompt coloured by the SAE's latent most active on it.
    WebElement prompt = wait.until(ExpectedConditions.presenceOfElementLocated(By.id("prompt")));
    assertThat(new Select(browser.findElement(By.id("colour-by"))).getFirstSelectedOption().getAttribute("value"))
        .isEqualTo("latent");
    setValue(prompt, PROMPT);
    browser.findElement(By.id("run")).click();
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#tokens .tok.lit")));
    List<WebElement> tokens = browser.findElements(By.cssSelector("#tokens .tok"));
    assertThat(tokens).hasSize(PROMPT.length());
    assertThat(tokens.stream().map(WebElement::getText).collect(Collectors.joining())).isEqualTo(PROMPT);
    int latent = Integer.parseInt(browser.findElement(By.id("colour-latent")).getText());
    assertThat(browser.findElement(By.id("run-output")).getAttribute("data-via")).as("the run's transport").isEqualTo("ws");

    // What the page shows is what the model computes: ask the API for that latent on the same prompt.
    String coderId = coderOf(JOB);
    JsonObject run = post("/api/sessions/" + sessionId + "/run", new JsonObject().put("text", PROMPT).put("top", 10)
        .put("hooks", new JsonArray().add(new JsonObject().put("hook", "blocks.2.hook_resid_post")
            .put("coder", new JsonObject().put("id", coderId)).put("latents", new JsonArray().add(latent)))));
    JsonArray values = run.getJsonArray("activations").getJsonObject(0).getJsonArray("values");
    List<Integer> firing = new ArrayList<>();
    for (int p = 0; p < values.size(); p++) {
      double v = values.getJsonArray(p).getDouble(0);
      double shown = Double.parseDouble(tokens.get(p).getAttribute("data-act"));
      assertThat(shown).as("activation of latent %d at position %d", latent, p).isCloseTo(v, org.assertj.core.data.Offset.offset(1e-4));
      if (v > 0) {
        firing.add(p);
      }
    }
    assertThat(firing).as("positions where latent %d fires", latent).isNotEmpty();
    List<Integer> lit = new ArrayList<>();
    for (int p = 0; p < tokens.size(); p++) {
      if (tokens.get(p).getAttribute("class").contains("lit")) {
        lit.add(p);
      }
    }
    assertThat(firing).containsAll(lit); // a colour only where the latent fires (faint ones may stay white)

    // Hovering a token shows the model's top next tokens there.
    new Actions(browser).moveToElement(tokens.get(12)).perform();
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("token-detail"), "position 12"));
    List<WebElement> next = browser.findElements(By.cssSelector("#top-next tr"));
    assertThat(next).hasSize(10);
    String topText = run.getJsonArray("top").getJsonArray(12).getJsonObject(0).getString("text");
    assertThat(next.get(0).findElement(By.cssSelector("td")).getText()).isEqualTo(topText.equals(" ") ? "␣" : topText);
    shot("02-session-latent");

    // Logit lens: one row per layer plus the model's output.
    browser.findElement(By.id("run-lens")).click();
    wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#lens-table tbody tr"), 5));
    assertThat(browser.findElements(By.cssSelector("#lens-table thead th.tokhead"))).hasSize(PROMPT.length());
    assertThat(browser.findElement(By.id("lens-output")).getAttribute("data-via")).as("the lens's transport").isEqualTo("ws");
    shot("03-session-logit-lens");

    // The same prompt coloured by a neuron.
    new Select(browser.findElement(By.id("colour-by"))).selectByValue("neuron");
    new Select(browser.findElement(By.id("neuron-hook"))).selectByValue("blocks.1.mlp.hook_post");
    WebElement neuron = browser.findElement(By.id("neuron-index"));
    neuron.clear();
    neuron.sendKeys("5");
    browser.findElement(By.id("run")).click();
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("colour-caption"), "neuron 5 of blocks.1.mlp.hook_post"));
    assertThat(browser.findElements(By.cssSelector("#tokens .tok[data-act]"))).hasSize(PROMPT.length());
    shot("04-session-neuron");

    // A bad request shows the server's own message: the WebSocket's error frame reads as the HTTP error does.
    neuron.clear();
    neuron.sendKeys("99999");
    browser.findElement(By.id("run")).click();
    WebElement error = wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#run-output [data-error]")));
    assertThat(error.getText()).contains("neurons[0]").contains("99999").contains("outside");
    assertThat(browser.findElement(By.id("run-output")).getAttribute("data-via")).isEqualTo("ws");
    JsonObject bad = new JsonObject().put("text", PROMPT).put("top", 10).put("hooks", new JsonArray().add(
        new JsonObject().put("hook", "blocks.1.mlp.hook_post").put("neurons", new JsonArray().add(99999))));
    assertThat(error.getText()).isEqualTo("run: " + post("/api/sessions/" + sessionId + "/run", bad, 400).getString("error"));

    // Where no WebSocket opens, the page runs its prompt over HTTP instead (same tokens and colours).
    ((JavascriptExecutor) browser).executeScript("window.realWebSocket = WebSocket;"
        + "window.WebSocket = function () { throw new Error('no WebSocket here'); };"
        + "location.hash = '#/sessions/' + arguments[0] + '?hook=blocks.1.mlp.hook_post&neuron=5&text=' + encodeURIComponent(arguments[1]);",
        sessionId, PROMPT);
    wait.until(ExpectedConditions.attributeToBe(By.id("run-output"), "data-via", "http"));
    ((JavascriptExecutor) browser).executeScript("window.WebSocket = window.realWebSocket;");
    List<WebElement> viaHttp = browser.findElements(By.cssSelector("#tokens .tok[data-act]"));
    assertThat(viaHttp).hasSize(PROMPT.length());
    JsonArray neuron5 = post("/api/sessions/" + sessionId + "/run", new JsonObject().put("text", PROMPT).put("top", 10)
        .put("hooks", new JsonArray().add(new JsonObject().put("hook", "blocks.1.mlp.hook_post").put("neurons", new JsonArray().add(5)))))
        .getJsonArray("activations").getJsonObject(0).getJsonArray("values");
    for (int p = 0; p < viaHttp.size(); p++) {
      assertThat(Double.parseDouble(viaHttp.get(p).getAttribute("data-act"))).as("neuron 5 at position %d", p)
          .isCloseTo(neuron5.getJsonArray(p).getDouble(0), org.assertj.core.data.Offset.offset(1e-4));
    }

    // The feature page of the latent: top examples with highlighted tokens, histogram, density, logits.
    browser.get(base + "/#/coders/" + coderId + "/features/" + latent);
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("latent-title"), "Latent " + latent));
    List<WebElement> examples = wait.until(ExpectedConditions.presenceOfAllElementsLocatedBy(
        By.cssSelector("#top-examples [data-example]")));
    assertThat(examples).isNotEmpty().hasSizeLessThanOrEqualTo(5);
    for (WebElement e : examples) {
      assertThat(e.findElements(By.cssSelector(".tok.lit"))).isNotEmpty();
      assertThat(e.findElements(By.cssSelector(".tok.focus"))).hasSize(1);
    }
    assertThat(browser.findElements(By.cssSelector("#activation-histogram rect.binbar"))).isNotEmpty();
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("svg.chart rect.marker")));
    assertThat(browser.findElements(By.cssSelector("[data-logits='positive'] tr"))).hasSize(10);
    assertThat(browser.findElements(By.cssSelector("[data-logits='negative'] tr"))).hasSize(10);
    shot("05-feature-page");

    // Search by token: latents whose top examples or logits hold "e".
    WebElement search = browser.findElement(By.id("feature-search"));
    search.sendKeys("e");
    browser.findElement(By.id("feature-go")).click();
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#search-results tbody tr")));
    shot("06-feature-search");

    // The crosscoder's diff view: click the tallest bar of relative decoder norms, its latents are listed.
    awaitJob(CROSSCODER, Duration.ofSeconds(120));
    browser.get(base + "/#/jobs/" + CROSSCODER + "/diff");
    List<WebElement> bars = wait.until(ExpectedConditions.presenceOfAllElementsLocatedBy(
        By.cssSelector("#relative-norm-histogram rect.binbar")));
    WebElement tallest = bars.stream().max(java.util.Comparator.comparingInt(b -> Integer.parseInt(b.getAttribute("data-count"))))
        .orElseThrow();
    int count = Integer.parseInt(tallest.getAttribute("data-count"));
    int bin = Integer.parseInt(tallest.getAttribute("data-bin"));
    assertThat(count).isPositive();
    new Actions(browser).moveToElement(tallest).click().perform();
    wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#bin-latents tbody tr"), count));
    for (WebElement relNorm : browser.findElements(By.cssSelector("#bin-latents tbody tr td:nth-child(3)"))) {
      assertThat(Double.parseDouble(relNorm.getText())).isBetween(bin / 20.0 - 1e-3, (bin + 1) / 20.0 + 1e-3);
    }
    shot("07-crosscoder-diff");
    browser.findElement(By.cssSelector("#bin-latents tbody tr td a")).click();
    wait.until(ExpectedConditions.presenceOfAllElementsLocatedBy(By.cssSelector("#top-examples [data-example] .tok.lit")));
    shot("08-crosscoder-feature");

    // Jobs page: a long job's live curve, cancelled, resumed (from its checkpoint) and cancelled again.
    post("/api/jobs", new JsonObject().put("id", LONG_JOB).put("method", "sae")
        .put("config", new JsonObject().put("k", 8).put("expansion", 2).put("batch_size", 256).put("eval_rows", 512)
            .put("eval_every", 0).put("metrics_every", 1).put("checkpoint_every", 5).put("splice_sequences", 0))
        .put("inputs", new JsonObject().put("main", modelInput("demo").copy().put("model",
            modelInput("demo").getJsonObject("model").copy().put("tokens", 5_000_000)))), 201);
    browser.get(base + "/#/jobs");
    String card = "[data-job='" + LONG_JOB + "'] ";
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(card + "[data-metric='loss'] path.series")));
    shot("09-jobs-live");
    // The page follows the running job over the WebSocket (server-sent events are only its fallback).
    assertThat(new JsonObject(get("/api/health")).getInteger("websockets")).as("open WebSockets").isPositive();
    wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector(card + "button[data-action='cancel']"))).click();
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(card + "[data-state='CANCELLED']")));
    wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector(card + "button[data-action='resume']"))).click();
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(card + "[data-state='RUNNING']")));
    wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector(card + "button[data-action='cancel']"))).click();
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(card + "[data-state='CANCELLED']")));
    assertThat(new JsonObject(get("/api/jobs/" + LONG_JOB)).getString("state")).isEqualTo("CANCELLED");
    shot("10-jobs-cancelled");

    // Offline: everything the pages loaded came from the node, and the console holds no error.
    @SuppressWarnings("unchecked")
    List<String> loaded = (List<String>) ((JavascriptExecutor) browser).executeScript(
        "return performance.getEntriesByType('resource').map(e => e.name)");
    assertThat(loaded).isNotEmpty().allMatch(u -> u.startsWith(base + "/"));
    List<LogEntry> errors = browser.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
        // the bad request made on purpose above (the browser logs every 4xx answer)
        .filter(e -> !(e.getMessage().contains("/run ") && e.getMessage().contains("status of 400"))).toList();
    assertThat(errors).as("browser console errors").isEmpty();
  }

  private static JsonObject modelInput(String model) {
    return new JsonObject().put("model", new JsonObject().put("model", model).put("corpus", "europarl")
        .put("hook", "blocks.2.hook_resid_post").put("tokens", 8000));
  }

  /** Waits for a job to succeed (polling the API), failing with its message when it fails. */
  private void awaitJob(String id, Duration timeout) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      JsonObject s = new JsonObject(get("/api/jobs/" + id));
      switch (s.getString("state")) {
        case "SUCCEEDED" -> {
          return;
        }
        case "FAILED", "CANCELLED" -> throw new AssertionError("job " + id + ": " + s.encode());
        default -> Thread.sleep(250);
      }
    }
    throw new AssertionError("job " + id + " did not finish within " + timeout);
  }

  private String textOf(String id) {
    List<WebElement> els = browser.findElements(By.id(id));
    return els.isEmpty() ? "" : els.get(0).getText();
  }

  /** Sets a text field's value as typing would, without typing it key by key. */
  private void setValue(WebElement field, String value) {
    ((JavascriptExecutor) browser).executeScript(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", field, value);
  }

  /** A screenshot of the whole page (the window grows to the page's height for it, up to 5000 px). */
  private void shot(String name) throws IOException {
    ((JavascriptExecutor) browser).executeScript("window.scrollTo(0, 0)"); // the whole page, from its top
    Dimension window = browser.manage().window().getSize();
    long height = (Long) ((JavascriptExecutor) browser).executeScript(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)");
    browser.manage().window().setSize(new Dimension(window.getWidth(), (int) Math.min(5000, Math.max(height + 20, window.getHeight()))));
    Path png = screenshots.resolve(name + ".png");
    try {
      Files.write(png, browser.getScreenshotAs(OutputType.BYTES));
    } finally {
      browser.manage().window().setSize(window);
    }
    System.out.println("screenshot " + png.toAbsolutePath());
  }

  /** The id of the coder a job wrote, as GET /api/coders lists it. */
  private String coderOf(String job) throws Exception {
    JsonArray coders = new JsonArray(get("/api/coders"));
    for (int i = 0; i < coders.size(); i++) {
      JsonObject c = coders.getJsonObject(i);
      if (job.equals(c.getString("job"))) {
        return c.getString("id");
      }
    }
    throw new AssertionError("no coder of job " + job + " in " + coders.encode());
  }

  private String get(String path) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.body();
  }

  private JsonObject post(String path, JsonObject body) throws Exception {
    return post(path, body, 200);
  }

  private JsonObject post(String path, JsonObject body, int status) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    return new JsonObject(r.body());
  }
}
