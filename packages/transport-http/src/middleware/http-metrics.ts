import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, Histogram, type Registry } from "prom-client";

/** Counts requests by route pattern, method and status, and observes their duration. */
export function httpMetrics(registry: Registry): MiddlewareHandler {
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
  return async function httpMetrics(c, next) {
    const started = performance.now();
    await next();
    // Unmatched paths share one label so random URLs cannot grow the series count.
    const route = c.res.status === 404 || c.res.status === 405 ? "(unmatched)" : routePath(c, -1);
    requests.inc({ route, method: c.req.method, status: String(c.res.status) });
    duration.observe({ route, method: c.req.method }, (performance.now() - started) / 1000);
  };
}
