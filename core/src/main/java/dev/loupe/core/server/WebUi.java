package dev.loupe.core.server;

import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The web UI: static files (plain HTML, CSS and JavaScript modules, no build step) from the
 * classpath folder {@value #ROOT}, served at {@code /} next to the JSON API under {@code /api}.
 * Everything the pages load comes from this server (the Content-Security-Policy forbids any
 * other origin), so the UI works offline.
 */
public final class WebUi {
  /** Classpath folder of the UI's files ({@code core/src/main/resources/webroot}). */
  public static final String ROOT = "webroot";

  /**
   * Same-origin only: scripts, styles, images, fetches and event streams. Inline styles are
   * allowed because the pages colour tokens with style attributes; inline scripts are not.
   */
  static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
      + "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

  private WebUi() {
  }

  /**
   * Adds the UI's routes to {@code router}: {@code /} and every path outside {@code /api/} that
   * names a file of the UI. Other paths fall through to the router's next routes.
   */
  public static void mount(Router router) {
    StaticHandler files = StaticHandler.create(ROOT).setIndexPage("index.html").setCachingEnabled(false)
        .setDirectoryListing(false).setIncludeHidden(false);
    router.routeWithRegex("^/(?!api(/|$)).*").handler(ctx -> {
      // The files change with every build; let the browser revalidate rather than keep old modules.
      ctx.response().putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
          .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
          .putHeader("X-Content-Type-Options", "nosniff");
      ctx.next();
    }).handler(files);
  }
}
