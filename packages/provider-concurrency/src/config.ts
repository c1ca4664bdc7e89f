import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";
import { managerDefaults } from "./manager-options.ts";

const ms = (min: number) => z.number().int().min(min);

/** The `concurrency` config slice. Provider limits come from the providers extension, not from here. */
export const concurrencyConfigSchema = z
  .object({
    agingMs: ms(0).default(managerDefaults.agingMs),
    maxQueue: ms(1).default(managerDefaults.maxQueue),
    maxLeaseMs: ms(1).default(managerDefaults.maxLeaseMs),
    watchdogIntervalMs: timerDelayMs(1).default(managerDefaults.watchdogIntervalMs),
  })
  .strict()
  .default({ ...managerDefaults });

/** The parsed `concurrency` config slice. */
export type ConcurrencyConfig = z.output<typeof concurrencyConfigSchema>;
