import { clusterRef } from "@dispatch/cluster";
import { conversationStoreRef, storeSchemasPoint } from "@dispatch/conversation-store";
import { Counter, createServiceRef, defineExtension } from "@dispatch/kernel";
import { modelCallGatesPoint } from "@dispatch/session-orchestrator";
import { httpRoutesPoint } from "@dispatch/transport-http";
import { budgetClock } from "./clock.ts";
import { budgetsConfigSchema } from "./config.ts";
import { usageRef } from "./types.ts";
import { usageGate } from "./usage-gate.ts";
import { UsageLedger } from "./usage-ledger.ts";
import { usageOperations, usageRoutes } from "./usage-routes.ts";

/** Links the gate and routes contributed in `register` to the ledger made at activation (not exported). */
const ledgerRef = createServiceRef<UsageLedger>("usage.ledger");

const metricNames = { tokens: "dispatch_tokens_total", refusals: "dispatch_budget_refusals_total" } as const;

/**
 * Usage records and budgets (DESIGN §16) as an extension on public seams: its tables come in through
 * the store's schema point, every model call of every turn passes its gate (the orchestrator's
 * model call gate point), and `GET /usage` is mounted through the routes point.
 */
export const usageExtension = defineExtension({
  manifest: {
    id: "usage",
    version: "0.1.0",
    dependsOn: ["conversation-store"],
    optionalDependsOn: ["cluster"],
    extends: ["conversation-store", "session-orchestrator", "transport-http"],
  },
  provides: [usageRef, ledgerRef],
  consumes: [conversationStoreRef, clusterRef],
  config: { key: "budgets", schema: budgetsConfigSchema },
  register(reg) {
    reg.contribute(storeSchemasPoint, {
      migrations: {
        sqlite: new URL("../drizzle", import.meta.url),
        postgres: new URL("../drizzle-postgres", import.meta.url),
      },
    });
    const ledger = reg.provided(ledgerRef);
    reg.contribute(modelCallGatesPoint, usageGate(ledger));
    reg.contribute(httpRoutesPoint, {
      path: "/usage",
      routes: () => usageRoutes(ledger),
      openapi: usageOperations,
    });
  },
  async activate(ctx) {
    const tokens = new Counter({
      name: metricNames.tokens,
      help: "Tokens of model calls, by provider, model and kind (input, output, cached: the part of input read from the prompt cache)",
      labelNames: ["provider", "model", "kind"] as const,
      registers: [ctx.metrics],
    });
    const refusals = new Counter({
      name: metricNames.refusals,
      help: "Model calls refused by a budget, by budget",
      labelNames: ["budget"] as const,
      registers: [ctx.metrics],
    });
    ctx.onDispose(() => {
      for (const name of Object.values(metricNames)) ctx.metrics.removeSingleMetric(name);
    });
    const ledger = new UsageLedger({
      store: ctx.use(conversationStoreRef),
      config: ctx.config,
      clock: budgetClock(),
      observe: {
        recorded: ({ provider, model, usage }) => {
          tokens.inc({ provider, model, kind: "input" }, usage.inputTokens);
          tokens.inc({ provider, model, kind: "output" }, usage.outputTokens);
          tokens.inc({ provider, model, kind: "cached" }, usage.cachedInputTokens);
        },
        refused: (budget) => refusals.inc({ budget }),
      },
    });
    const dropped = await ledger.dropStaleReservations();
    if (dropped > 0) ctx.logger.warn("reservations of turns that no longer run were dropped", { dropped });
    ctx.bus.subscribe("turn.finished", ({ turnId }) => ledger.forgetTurn(turnId));
    if (ctx.useOptional(clusterRef)?.enabled) {
      // a host that stopped will never settle its calls: what they held goes back to the budgets
      ctx.bus.subscribe("cluster.instance_lost", async ({ instanceId }) => {
        const released = await ledger.releaseInstance(instanceId);
        if (released > 0)
          ctx.logger.warn("reservations of a host that stopped were dropped", { instanceId, released });
      });
    }
    const { perTurnTokens, workspaceDailyTokens, hostDailyTokens, timeZone } = ctx.config;
    ctx.setHealth(() => ({ budgets: { perTurnTokens, workspaceDailyTokens, hostDailyTokens, timeZone } }));
    ctx.provide(ledgerRef, ledger);
    ctx.provide(usageRef, ledger);
  },
});
