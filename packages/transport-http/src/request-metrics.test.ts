import { describe, expect, test } from "bun:test";
import { Counter, Histogram, Registry } from "@dispatch/kernel";
import fc from "fast-check";
import { durationBuckets, RequestMetrics } from "./request-metrics.ts";

const request = fc.record({
  method: fc.constantFrom("GET", "PUT", "DELETE"),
  route: fc.constantFrom("/workspaces", "/workspaces/:id/star", "(unmatched)"),
  status: fc.constantFrom(200, 204, 404, 413),
  // Bucket bounds themselves are included: `le` is inclusive.
  seconds: fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constantFrom(...durationBuckets)),
});

type FinishedRequest = typeof request extends fc.Arbitrary<infer R> ? R : never;

/** What prom-client's own Counter and Histogram export for the same requests. */
async function promClientText(requests: FinishedRequest[]): Promise<string> {
  const registry = new Registry();
  const counter = new Counter({
    name: "dispatch_http_requests_total",
    help: "HTTP requests by route pattern, method and status",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: "dispatch_http_request_duration_seconds",
    help: "HTTP request duration until the response headers, by route pattern",
    labelNames: ["route", "method"],
    buckets: [...durationBuckets],
    registers: [registry],
  });
  for (const r of requests) {
    counter.inc({ route: r.route, method: r.method, status: String(r.status) });
    histogram.observe({ route: r.route, method: r.method }, r.seconds);
  }
  return registry.metrics();
}

/** Sorted lines: series order within a family is not part of the format. */
const lines = (text: string) => text.split("\n").filter(Boolean).sort();

describe("RequestMetrics", () => {
  test("exports exactly what prom-client's Counter and Histogram would for the same requests", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { maxLength: 60 }), async (requests) => {
        const registry = new Registry();
        const metrics = new RequestMetrics(registry);
        for (const r of requests) metrics.record(r.method, r.route, r.status, r.seconds);
        expect(lines(await registry.metrics())).toEqual(lines(await promClientText(requests)));
      }),
      { numRuns: 200 },
    );
  });

  test("a scrape does not double-count, and resetMetrics starts from zero", async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    metrics.record("GET", "/workspaces", 200, 0.002);
    await registry.metrics();
    metrics.record("GET", "/workspaces", 200, 0.002);
    const text = await registry.metrics();
    expect(text).toContain('dispatch_http_requests_total{route="/workspaces",method="GET",status="200"} 2');
    expect(text).toContain(
      'dispatch_http_request_duration_seconds_count{route="/workspaces",method="GET"} 2',
    );
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('route="/workspaces"');
  });
});
