import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";

const regexSource = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: "must be a valid regular expression" },
);

/** The usage a scripted step reports instead of its estimate (tests of usage and budgets). */
const scriptedUsage = z
  .object({
    input: z.number().int().min(0),
    output: z.number().int().min(0),
    cached: z.number().int().min(0).optional(),
  })
  .strict();
/** A scripted text step: `text` streamed in `chunks` pieces `delayMs` apart. */
const textStep = z
  .object({
    text: z.string(),
    chunks: z.number().int().min(1).default(1),
    delayMs: timerDelayMs(0).default(0),
    usage: scriptedUsage.optional(),
  })
  .strict();
/** A scripted tool step: the model asks for `tool` with `input`. */
const toolStep = z
  .object({ tool: z.string().min(1), input: z.unknown(), usage: scriptedUsage.optional() })
  .strict();
/** A scripted failure (for tests of failure paths): the call ends with this provider error. */
const errorStep = z
  .object({
    error: z
      .object({
        status: z.number().int().min(400).max(599),
        message: z.string(),
        retryAfterMs: z.number().int().min(0).optional(),
      })
      .strict(),
  })
  .strict();

/** One step of a scripted reply. */
export const scriptStepSchema = z.union([textStep, toolStep, errorStep]);
/** One step of a scripted reply, parsed. */
export type ScriptStep = z.output<typeof scriptStepSchema>;

const reply = z.object({ steps: z.array(scriptStepSchema) }).strict();

/** The script of a `scripted` provider (DESIGN §8). */
export const scriptSchema = z
  .object({
    replies: z.array(reply.extend({ when: regexSource }).strict()).default([]),
    fallback: reply.optional(),
  })
  .strict();
/** A parsed script. */
export type Script = z.output<typeof scriptSchema>;

/** The reply of the default scripted provider. */
export const DEFAULT_SCRIPTED_REPLY = "Hello from the scripted provider.";
