import type { HostInfo } from "@dispatch/kernel";
import type { Health, HealthSummary } from "@dispatch/wire";
import { Hono } from "hono";

/**
 * `GET /health`: extension states, their details and fault counts; never needs a token. With a token
 * configured, a caller without it gets only `{status, version}`: the details name the database path,
 * the listen address, providers, memory and active turns.
 */
export function healthRoutes(host: HostInfo) {
  return new Hono().get("/health", (c) => {
    const status = host.status();
    const degraded = status.extensions.some((e) => e.state === "failed" || e.state === "skipped");
    const summary: HealthSummary = { status: degraded ? "degraded" : "ok", version: host.version };
    // Unset when no token is configured: then nothing is withheld.
    if (c.get("authenticated") === false) return c.json(summary);
    const body: Health = {
      ...summary,
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
