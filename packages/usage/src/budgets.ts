/** The budgets a call can run into, by their config names. */
export type BudgetName = "perTurnTokens" | "workspaceDailyTokens" | "hostDailyTokens";

/** The `usage_daily` scope of the host's daily budget (on Postgres, the cluster's: one row for every host). */
export const hostScope = "host";

/** The `usage_daily` scope of a workspace's daily budget. */
export const workspaceScope = (id: string) => `workspace:${id}`;
