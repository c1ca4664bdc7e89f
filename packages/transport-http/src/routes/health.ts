import type { HostInfo } from "@dispatch/kernel";
import type { Health } from "@dispatch/wire";
import { Hono } from "hono";

/** `GET /health`: extension states and fault counts; never needs a token. */
export function healthRoutes(host: HostInfo) {
  return new Hono().get("/health", (c) => {
    const status = host.status();
    const degraded = status.extensions.some((e) => e.state === "failed" || e.state === "skipped");
    const body: Health = {
      status: degraded ? "degraded" : "ok",
      version: host.version,
      uptimeS: Math.round((Date.now() - host.startedAt.getTime()) / 1000),
      extensions: status.extensions.map(({ id, state, reason, faults, health }) => ({
        id,
        state,
        ...(reason === undefined ? {} : { reason }),
        faults,
        ...(health === undefined ? {} : { health }),
      })),
      faults: status.faults,
    };
    return c.json(body);
  });
}
