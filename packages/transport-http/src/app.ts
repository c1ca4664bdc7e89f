import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import type { ApiDeps } from "./deps.ts";
import { errorBody, errorResponse } from "./error-response.ts";
import { bearerToken } from "./middleware/auth.ts";
import { observeRequests } from "./middleware/observe.ts";
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

/** Builds the whole HTTP app: middleware in order, the API routes, and JSON errors for everything else. */
export function createApp(deps: ApiDeps, sse: SseHub): Hono {
  const app = new Hono();
  app.use(observeRequests({ logger: deps.logger, registry: deps.metrics }));
  if (deps.config.corsOrigins.length > 0) app.use(cors({ origin: deps.config.corsOrigins }));
  if (deps.config.token !== null) app.use(bearerToken({ token: deps.config.token }));
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
