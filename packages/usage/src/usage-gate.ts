import type { ModelCallGate } from "@dispatch/session-orchestrator";
import type { UsageLedger } from "./usage-ledger.ts";

/** The model call gate of the `usage` extension: each call reserves before it starts and settles after. */
export function usageGate(ledger: () => UsageLedger): ModelCallGate {
  return {
    id: "usage",
    enter: async (call) => {
      const held = await ledger().reserve(call);
      if ("refused" in held) return held;
      return { settle: (outcome) => ledger().settle(held, outcome), groupedSettle: ledger().groupedSettles };
    },
  };
}
