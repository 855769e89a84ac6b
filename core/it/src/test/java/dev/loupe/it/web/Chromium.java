package dev.loupe.it.web;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * Headless Debian chromium driven by Debian's chromedriver, both named explicitly so Selenium
 * Manager never looks for (or downloads) a browser or driver. Without them the calling test is
 * skipped with the install command, except on CI ({@code CI=true}), where it fails: CI installs
 * them (.ci/run).
 */
final class Chromium {
  private Chromium() {
  }

  private static final List<String> BROWSERS = List.of("/usr/bin/chromium", "/usr/bin/chromium-browser");
  private static final String DRIVER = "/usr/bin/chromedriver";

  /** A headless chromium, window {@code width x height}; the browser's console is kept for the test to read. */
  static ChromeDriver start(int width, int height) {
    String browser = System.getProperty("loupe.it.chromium",
        BROWSERS.stream().filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null));
    String driver = System.getProperty("loupe.it.chromedriver", DRIVER);
    if (browser == null || !Files.isExecutable(Path.of(browser)) || !Files.isExecutable(Path.of(driver))) {
      String why = "the browser test needs Debian's chromium and chromium-driver (" + String.join(" or ", BROWSERS)
          + ", " + driver + "); install them with: sudo apt-get install -y chromium chromium-driver";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        Assertions.fail(why + " (CI=true: .ci/run installs them, so their absence is a failure here)");
      }
      Assumptions.abort(why);
    }
    System.setProperty("webdriver.chrome.driver", driver);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(browser);
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-extensions", "--no-first-run", "--disable-background-networking", "--disable-sync",
        "--disable-component-update", "--window-size=" + width + "," + height, "--lang=en-US");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    options.setExperimentalOption("prefs", Map.of("intl.accept_languages", "en-US"));
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(driver))
        .usingAnyFreePort().withTimeout(Duration.ofSeconds(30)).build();
    ChromeDriver d = new ChromeDriver(service, options);
    d.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
    return d;
  }
}
