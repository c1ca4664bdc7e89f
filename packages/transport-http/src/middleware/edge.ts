import type { Logger } from "@dispatch/kernel";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { matchedRoutes } from "hono/route";
import { errorBody } from "../error-response.ts";
import type { RequestMetrics } from "../request-metrics.ts";

const acceptedId = /^[\w.:-]{1,128}$/;

/** Options for `requestEdge`. */
export interface RequestEdgeOptions {
  logger: Logger;
  metrics: RequestMetrics;
  bodyLimitBytes: number;
}

/**
 * One middleware for what every request needs around it: a request id (the caller's `X-Request-Id`
 * when it is sane, else a cheap process-unique one) echoed in the response, the body limit (413) for
 * requests that carry a body, the request counter and duration histogram by route pattern, and a log
 * line. One layer instead of four, because each async layer costs about a microsecond and a half
 * per request through Bun.serve (see notes/benchmarks.md), as much as the handler of a cached read.
 */
export function requestEdge(options: RequestEdgeOptions): MiddlewareHandler {
  const { logger, metrics, bodyLimitBytes } = options;
  const limitBody = bodyLimit({
    maxSize: bodyLimitBytes,
    // `Connection: close`: otherwise Bun would read and drop the rest of the body to reuse the connection.
    onError: (c) =>
      c.json(errorBody("payload_too_large", `the body is over the limit of ${bodyLimitBytes} bytes`), 413, {
        Connection: "close",
      }),
  });
  const boot = Date.now().toString(36);
  let sequence = 0;

  return async function requestEdge(c, next) {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const id = given !== undefined && acceptedId.test(given) ? given : `${boot}-${(++sequence).toString(36)}`;
    c.header("X-Request-Id", id);
    if (c.req.raw.body === null) await next();
    else {
      // bodyLimit answers 413 by returning its response, which only Hono's compose would install.
      const refused = await limitBody(c, next);
      if (refused instanceof Response) c.res = refused;
    }
    const ms = performance.now() - started;
    const status = c.res.status;
    const route = routeLabel(c);
    metrics.record(c.req.method, route, status, ms / 1000);
    if (status >= 500) {
      logger.error("request failed", {
        requestId: id,
        method: c.req.method,
        path: c.req.path.slice(0, 200),
        status,
        err: c.error,
      });
    } else {
      // Debug: a line per request on stderr would cost more than the request itself.
      logger.debug("request", {
        requestId: id,
        method: c.req.method,
        path: c.req.path.slice(0, 200),
        status,
        ms,
      });
    }
  };
}

/**
 * The pattern of the endpoint the request matched (`/workspaces/:id`, also when it answered 404 for a
 * missing id), skipping middleware (registered for every method). Paths no endpoint matches share one
 * label, `(unmatched)`, so random URLs cannot grow the series count.
 */
function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route !== undefined && route.method !== "ALL") return route.path;
  }
  return "(unmatched)";
}
