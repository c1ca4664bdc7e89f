import type { ProviderInfo } from "@dispatch/wire";
import { Hono } from "hono";
import type { ApiDeps } from "../deps.ts";

/** Merges configured providers with their live slots and queues; `cooling` while a retry delay runs. */
export function providerInfos(deps: ApiDeps): ProviderInfo[] {
  const slots = new Map(deps.concurrency.snapshot().map((s) => [s.providerId, s]));
  const now = Date.now();
  return deps.providers.list().map((p) => {
    const s = slots.get(p.id);
    const cooling = s?.coolingUntil != null && s.coolingUntil > now;
    const status = p.status === "unavailable" ? "unavailable" : cooling ? "cooling" : "available";
    return {
      id: p.id,
      kind: p.kind,
      status,
      ...(p.reason === undefined ? {} : { reason: p.reason }),
      ...(cooling && s?.coolingUntil ? { coolingUntil: new Date(s.coolingUntil).toISOString() } : {}),
      maxConcurrent: s?.maxConcurrent ?? p.maxConcurrent,
      inFlight: s?.inFlight ?? 0,
      queue: s?.queue ?? [],
    };
  });
}

/** `GET /providers`. */
export function providerRoutes(deps: ApiDeps) {
  return new Hono().get("/providers", (c) => c.json({ providers: providerInfos(deps) }));
}
