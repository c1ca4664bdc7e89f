export type { BudgetName } from "./budgets.ts";
export { budgetClock, clockOffsetEnv } from "./clock.ts";
export { type BudgetsConfig, budgetsConfigSchema, type Price } from "./config.ts";
export { dayKey, nextDayStart } from "./day-key.ts";
export { usageExtension } from "./extension.ts";
export { costOf } from "./pricing.ts";
export { type UsageService, usageRef } from "./types.ts";
export { usageGate } from "./usage-gate.ts";
export {
  type RecordedCall,
  type Reservation,
  UsageLedger,
  type UsageLedgerDeps,
} from "./usage-ledger.ts";
export { usageOperations, usageRoutes } from "./usage-routes.ts";
