import { Hono } from "hono";
import { cors } from "hono/cors";
import { allowedMethodsOf } from "./allowed-methods.ts";
import type { BrowserSessions } from "./browser-sessions.ts";
import type { ApiDeps } from "./deps.ts";
import { errorBody, errorResponse } from "./error-response.ts";
import { bearerToken, tokenMatcher } from "./middleware/auth.ts";
import { requestEdge } from "./middleware/edge.ts";
import { hostCheck } from "./middleware/host-check.ts";
import { RequestMetrics } from "./request-metrics.ts";
import { sessionRoutes } from "./routes/auth-session.ts";
import { conversationRoutes } from "./routes/conversations.ts";
import { healthRoutes } from "./routes/health.ts";
import { providerRoutes } from "./routes/providers.ts";
import { telemetryRoutes } from "./routes/telemetry.ts";
import { workspaceRoutes } from "./routes/workspaces.ts";
import type { SseHub } from "./sse-hub.ts";

/** What the browser-facing core routes need: the sessions, and where `GET /` redirects. */
export interface BrowserDeps {
  sessions: BrowserSessions;
  /** The home contribution's mount path (the dashboard), if one is in service. */
  home: () => string | undefined;
}

/**
 * The core routes, chained so that `hono/client` can type every call from `AppType`; transport-http
 * contributes them at `/` like any other routes. `openApi` builds the document of everything mounted.
 */
export function apiRoutes(
  deps: ApiDeps,
  sse: SseHub,
  openApi: (serverUrl: string) => Record<string, unknown>,
  browser: BrowserDeps,
) {
  return new Hono()
    .get("/", (c) => {
      const home = browser.home();
      if (home === undefined) {
        return c.json(
          errorBody("not_found", "no dashboard is installed; the API is described at /openapi.json"),
          404,
        );
      }
      return c.redirect(home, 302);
    })
    .route(
      "/",
      sessionRoutes({
        token: deps.config.token,
        sessions: browser.sessions,
        matches: tokenMatcher(deps.config.token),
      }),
    )
    .route("/", telemetryRoutes(deps.memory))
    .route("/", healthRoutes(deps.host))
    .get("/metrics", async (c) =>
      c.body(await deps.metrics.metrics(), 200, { "Content-Type": deps.metrics.contentType }),
    )
    .get("/openapi.json", (c) => c.json(openApi(new URL(c.req.url).origin)))
    .route("/", workspaceRoutes(deps))
    .route("/", conversationRoutes(deps, sse))
    .route("/", providerRoutes(deps));
}

/** The route tree's type, for `hc<AppType>(url)` from `hono/client`. */
export type AppType = ReturnType<typeof apiRoutes>;

/** What `createApp`'s token check needs to know of the browser side. */
export interface AppAuth {
  sessions: BrowserSessions;
  /** True for a path under a contribution marked `public` (read once the routes are mounted). */
  isPublic: (path: string) => boolean;
}

/**
 * Builds the HTTP app: middleware in order, and JSON errors for everything else. The routes, the
 * core ones included, are mounted on it from the contributions to `httpRoutesPoint`.
 */
export function createApp(deps: ApiDeps, auth: AppAuth): Hono {
  const app = new Hono();
  app.use(
    requestEdge({
      logger: deps.logger,
      metrics: new RequestMetrics(deps.metrics),
      bodyLimitBytes: deps.config.bodyLimitBytes,
      closeWhenIdle: deps.closeWhenIdle,
    }),
  );
  app.use(
    hostCheck({
      token: deps.config.token,
      allowedHosts: deps.config.allowedHosts,
      corsOrigins: deps.config.corsOrigins,
    }),
  );
  if (deps.config.corsOrigins.length > 0) app.use(cors({ origin: deps.config.corsOrigins }));
  if (deps.config.token !== null) {
    app.use(
      bearerToken({
        token: deps.config.token,
        // `/` only redirects to the dashboard; `/auth/session` is how a browser gets its cookie.
        publicPaths: ["/health", "/", "/auth/session"],
        isPublic: auth.isPublic,
        sessions: auth.sessions,
      }),
    );
  }
  const allowedMethods = allowedMethodsOf(app);
  app.notFound((c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0) {
      const list = allowed.join(", ");
      return c.json(
        errorBody("method_not_allowed", `${c.req.method} is not allowed here; use ${list}`),
        405,
        {
          Allow: list,
        },
      );
    }
    return c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path.slice(0, 200)}`), 404);
  });
  app.onError((error, c) => errorResponse(c, error));
  return app;
}
