import type { CallUsage } from "@dispatch/session-orchestrator";
import type { Price } from "./config.ts";

/** A call's cost at `price` (per million tokens), or null without a price. */
export function costOf(usage: CallUsage, price: Price | undefined): number | null {
  if (price === undefined) return null;
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const fresh = usage.inputTokens - cached;
  return (
    (fresh * price.input + cached * (price.cachedInput ?? price.input) + usage.outputTokens * price.output) /
    1e6
  );
}
