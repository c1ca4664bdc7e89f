import type { Logger } from "@dispatch/kernel";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import type { ApiDeps } from "./deps.ts";
import { errorBody, errorResponse } from "./error-response.ts";
import { bearerToken } from "./middleware/auth.ts";
import { httpMetrics } from "./middleware/http-metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { conversationRoutes } from "./routes/conversations.ts";
import { healthRoutes } from "./routes/health.ts";
import { providerRoutes } from "./routes/providers.ts";
import { workspaceRoutes } from "./routes/workspaces.ts";
import type { SseHub } from "./sse-hub.ts";

/** The API's routes, chained so that `hono/client` can type every call from `AppType`. */
function apiRoutes(deps: ApiDeps, sse: SseHub) {
  return new Hono()
    .route("/", healthRoutes(deps.host))
    .get("/metrics", async (c) =>
      c.body(await deps.metrics.metrics(), 200, { "Content-Type": deps.metrics.contentType }),
    )
    .get("/openapi.json", (c) => c.json(openApiDocument(deps.host.version)))
    .route("/", workspaceRoutes(deps))
    .route("/", conversationRoutes(deps, sse))
    .route("/", providerRoutes(deps));
}

/** The route tree's type, for `hc<AppType>(url)` from `hono/client`. */
export type AppType = ReturnType<typeof apiRoutes>;

/**
 * Logs each request with its id at debug level (a line per request on stderr would cost more than the
 * request itself), and every 5xx at error level with its stack.
 */
function requestLog(logger: Logger) {
  return async function requestLog(c: Parameters<Parameters<Hono["use"]>[1]>[0], next: () => Promise<void>) {
    const started = performance.now();
    await next();
    const fields = {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path.slice(0, 200),
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (c.res.status >= 500) logger.error("request failed", { ...fields, err: c.error });
    else logger.debug("request", fields);
  };
}

/** Builds the whole HTTP app: middleware in order, the API routes, and JSON errors for everything else. */
export function createApp(deps: ApiDeps, sse: SseHub): Hono {
  const app = new Hono();
  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(requestLog(deps.logger));
  app.use(httpMetrics(deps.metrics));
  if (deps.config.corsOrigins.length > 0) app.use(cors({ origin: deps.config.corsOrigins }));
  app.use(bearerToken({ token: deps.config.token }));
  app.use(
    bodyLimit({
      maxSize: deps.config.bodyLimitBytes,
      onError: (c) =>
        c.json(
          errorBody("payload_too_large", `the body is over the limit of ${deps.config.bodyLimitBytes} bytes`),
          413,
        ),
    }),
  );
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json(
          errorBody("method_not_allowed", `${c.req.method} is not allowed here; use ${methods.join(", ")}`),
          405,
          {
            Allow: methods.join(", "),
          },
        ),
    }),
  );
  app.route("/", apiRoutes(deps, sse));
  app.notFound((c) =>
    c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path.slice(0, 200)}`), 404),
  );
  app.onError((error, c) => errorResponse(c, error));
  return app;
}
