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
  /** Ends the request's connection once it has been idle this many seconds (Bun's `server.timeout`). */
  closeWhenIdle?: (request: Request, seconds: number) => void;
}

/**
 * An over-limit body of at most this declared size is read and dropped after the 413 (a lingering
 * close, as nginx does), so that a client still sending reads the answer instead of failing its write
 * (Node's fetch reports EPIPE and no status at all). Larger or undeclared bodies are not read: the 413
 * goes out with `Connection: close`.
 */
export const lingerMaxBytes = 64 * 1024 * 1024;
/** A lingering connection that sends nothing for this long is closed (Bun checks every few seconds). */
export const lingerIdleS = 5;

/**
 * One middleware for what every request needs around it: a request id (the caller's `X-Request-Id`
 * when it is sane, else a cheap process-unique one) echoed in the response, the body limit (413) for
 * requests that carry a body, the request counter and duration histogram by route pattern, and a log
 * line. One layer instead of four, because each async layer costs about a microsecond and a half
 * per request through Bun.serve (see notes/benchmarks.md), as much as the handler of a cached read.
 */
export function requestEdge(options: RequestEdgeOptions): MiddlewareHandler {
  const { logger, metrics, bodyLimitBytes, closeWhenIdle } = options;
  const tooLarge = (c: Context, headers: Record<string, string>) =>
    c.json(
      errorBody("payload_too_large", `the body is over the limit of ${bodyLimitBytes} bytes`),
      413,
      headers,
    );
  // A chunked body is cut at the limit and its connection closed: its size is unknown, so Bun would
  // otherwise read and drop however much more it is sent to reuse the connection.
  const limitBody = bodyLimit({
    maxSize: bodyLimitBytes,
    onError: (c) => tooLarge(c, { Connection: "close" }),
  });
  /**
   * The 413 for a declared Content-Length over the limit, decided before a byte of the body is read.
   * Up to `lingerMaxBytes`, Bun reads and drops the rest after the answer (the connection stays
   * usable; `lingerIdleS` bounds a client that stalls), so the client finishes its write and reads
   * the 413. Bun has already answered an `Expect: 100-continue` with `100 Continue` by then: it does
   * so for every such request, before any handler runs, and cannot be told not to.
   */
  const refuseDeclared = (c: Context, declared: number): Response => {
    if (declared > lingerMaxBytes || closeWhenIdle === undefined) return tooLarge(c, { Connection: "close" });
    closeWhenIdle(c.req.raw, lingerIdleS);
    return tooLarge(c, {});
  };
  const boot = Date.now().toString(36);
  let sequence = 0;

  return async function requestEdge(c, next) {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const id = given !== undefined && acceptedId.test(given) ? given : `${boot}-${(++sequence).toString(36)}`;
    c.header("X-Request-Id", id);
    const declared = Number(c.req.header("content-length") ?? Number.NaN);
    if (declared > bodyLimitBytes) c.res = refuseDeclared(c, declared);
    else if (c.req.raw.body === null) await next();
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
