import { limits } from "@dispatch/wire";
import { z } from "zod";

const defaults = { maxMessageBytes: limits.messageTextBytes, busyTimeoutMs: 5000 };

/** The `store` config slice. */
export const storeConfigSchema = z
  .object({
    maxMessageBytes: z.number().int().min(1).default(defaults.maxMessageBytes),
    busyTimeoutMs: z.number().int().min(0).default(defaults.busyTimeoutMs),
  })
  .strict()
  .default(defaults);

/** Parsed `store` config. */
export type StoreConfig = z.output<typeof storeConfigSchema>;
