import type { MemoryTelemetry } from "@dispatch/mem-telemetry";
import type { MemoryHistory } from "@dispatch/wire";
import { Hono } from "hono";
import { notFound } from "../error-response.ts";

/** `GET /telemetry/memory`: the last hour of memory samples (for the dashboard's host view). */
export function telemetryRoutes(memory: MemoryTelemetry | undefined) {
  return new Hono().get("/telemetry/memory", (c) => {
    if (memory === undefined) throw notFound("memory telemetry is not running (extension mem-telemetry)");
    const body: MemoryHistory = {
      limitBytes: memory.limitBytes(),
      level: memory.level(),
      ...memory.thresholds(),
      samples: memory.history().map((s) => ({
        at: new Date(s.at).toISOString(),
        rssBytes: s.rssBytes,
        heapUsedBytes: s.heapUsedBytes,
      })),
    };
    return c.json(body);
  });
}
