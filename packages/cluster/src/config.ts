import { z } from "zod";

const defaults = { instanceTimeoutMs: 15_000, heartbeatMs: 3_000 };

/**
 * The `cluster` config slice: how hosts sharing one PostgreSQL database (`store.url`) watch each
 * other. Ignored on SQLite.
 */
export const clusterConfigSchema = z
  .object({
    /** A host silent this long is declared dead; a survivor expires its leases and recovers its work. */
    instanceTimeoutMs: z.number().int().min(200).max(3_600_000).default(defaults.instanceTimeoutMs),
    /** How often each host writes its heartbeat and looks for silent ones. */
    heartbeatMs: z.number().int().min(50).max(600_000).default(defaults.heartbeatMs),
  })
  .strict()
  .refine((c) => c.heartbeatMs * 2 <= c.instanceTimeoutMs, {
    message: "heartbeatMs must be at most half of instanceTimeoutMs, or a live host could be declared dead",
    path: ["heartbeatMs"],
  })
  .default(defaults);

/** The parsed `cluster` config slice. */
export type ClusterConfig = z.output<typeof clusterConfigSchema>;
