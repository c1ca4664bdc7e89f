import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";

/** The `defaults` config slice: what new conversations get and how turns run. Strict and defaulted. */
export const orchestratorConfigSchema = z
  .object({
    /** Provider a new conversation gets. */
    provider: z.string().min(1).default("scripted"),
    /** Model a new conversation gets. */
    model: z.string().min(1).default("demo"),
    /** Appended to the system prompt of every turn. */
    systemPrompt: z.string().optional(),
    /** Model calls per turn, at least 1. */
    maxSteps: z.number().int().min(1).default(20),
    /** A turn still running after this long fails. */
    turnTimeoutMs: timerDelayMs(1).default(30 * 60 * 1000),
    /** How long shutdown waits for active turns to record `interrupted`. */
    shutdownDeadlineMs: timerDelayMs(0).default(10_000),
    /** Longest a text delta waits before it is written. */
    coalesceMs: timerDelayMs(1).default(50),
    /** Buffered text that is written at once, without waiting for the tick. */
    coalesceBytes: z.number().int().min(1).default(4096),
    /** Events a subscriber may fall behind by before it is dropped. */
    subscriberBuffer: z.number().int().min(1).default(1000),
    /** The same tool call (name and input) this many times in a row gets a tool error; twice as many ends the turn. */
    loopGuard: z
      .object({ repeats: z.number().int().min(2).max(1000).default(3) })
      .strict()
      .prefault({}),
    /**
     * Context compaction for models with a `contextWindow` (providers[].models): a prompt past `at`
     * of the window has its older messages summarised; a compaction that shrinks it by less than
     * `minShrink` ends the turn with `context_overflow`.
     */
    compaction: z
      .object({
        at: z.number().gt(0).max(1).default(0.8),
        minShrink: z.number().gt(0).lt(1).default(0.3),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/** The parsed `defaults` slice. */
export type OrchestratorConfig = z.output<typeof orchestratorConfigSchema>;
