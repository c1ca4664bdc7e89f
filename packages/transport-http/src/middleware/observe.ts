import type { Logger } from "@dispatch/kernel";
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, Histogram, type Registry } from "prom-client";

type Env = { Variables: { requestId: string } };

const acceptedId = /^[\w.:-]{1,128}$/;

/** The map's value for `key`, made and stored on first use. */
function cached<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * One middleware for what every request needs around it: a request id (the caller's `X-Request-Id`
 * when it is sane, else a cheap process-unique one) echoed in the response, the request counter and
 * duration histogram by route pattern, and a log line. One layer instead of three, and metric children
 * cached per label set, because this runs on every request and the label lookups dominated its cost.
 */
export function observeRequests(options: { logger: Logger; registry: Registry }): MiddlewareHandler<Env> {
  const { logger, registry } = options;
  const requests = new Counter({
    name: "dispatch_http_requests_total",
    help: "HTTP requests by route pattern, method and status",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "dispatch_http_request_duration_seconds",
    help: "HTTP request duration until the response headers, by route pattern",
    labelNames: ["route", "method"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const counters = new Map<string, ReturnType<typeof requests.labels>>();
  const timers = new Map<string, ReturnType<typeof duration.labels>>();
  const boot = Date.now().toString(36);
  let sequence = 0;

  const record = (c: Context<Env>, seconds: number) => {
    const status = c.res.status;
    // Unmatched paths share one label so random URLs cannot grow the series count.
    const route = status === 404 || status === 405 ? "(unmatched)" : routePath(c, -1);
    const method = c.req.method;
    const timerKey = `${method} ${route}`;
    const countKey = `${timerKey} ${status}`;
    cached(counters, countKey, () => requests.labels(route, method, String(status))).inc();
    cached(timers, timerKey, () => duration.labels(route, method)).observe(seconds);
  };

  return async function observeRequests(c, next) {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const id = given !== undefined && acceptedId.test(given) ? given : `${boot}-${(++sequence).toString(36)}`;
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
    const ms = performance.now() - started;
    record(c, ms / 1000);
    const status = c.res.status;
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
