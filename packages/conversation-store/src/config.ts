import { limits } from "@dispatch/wire";
import { z } from "zod";

const defaults = { maxMessageBytes: limits.messageTextBytes, busyTimeoutMs: 5000, maxConnections: 10 };

/** The `store` config slice. */
export const storeConfigSchema = z
  .object({
    maxMessageBytes: z.number().int().min(1).default(defaults.maxMessageBytes),
    busyTimeoutMs: z.number().int().min(0).default(defaults.busyTimeoutMs),
    /**
     * `postgres://user:password@host:port/database` puts the store on PostgreSQL (several hosts may
     * share it); without it the store is `<dataDir>/dispatch.db` (SQLite).
     */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// (or postgresql://) URL")
      .optional(),
    /** Pooled connections to PostgreSQL (one more listens for the other hosts' notifications). */
    maxConnections: z.number().int().min(1).max(1000).default(defaults.maxConnections),
  })
  .strict()
  .default(defaults);

/** Parsed `store` config. */
export type StoreConfig = z.output<typeof storeConfigSchema>;
