package dev.loupe.it.web;

import static org.assertj.core.api.Assertions.assertThat;

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
 * curves and results; open a demo session from the home page, run a prompt and see its tokens
 * coloured by the SAE's most active latent (checked position by position against the API's own
 * answer), the top next tokens and the logit lens; open that latent's feature page with its top
 * examples, histogram and logits, and search features by token. Screenshots of every page go to
 * {@code core/it/target/screenshots/}.
 */
class WebUiBrowserTest {
  /** ASCII, so the demo's byte tokenizer gives one token per character. */
  private static final String PROMPT = "Mr President, I would like to thank the Commission for its report.";
  private static final String JOB = "sae-ui";
  private static final String CROSSCODER = "cc-ui";
  private static final String LONG_JOB = "sae-long";

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

    // A bad request shows the server's own message.
    neuron.clear();
    neuron.sendKeys("99999");
    browser.findElement(By.id("run")).click();
    WebElement error = wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#run-output [data-error]")));
    assertThat(error.getText()).contains("neurons[0]").contains("99999").contains("outside");

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
