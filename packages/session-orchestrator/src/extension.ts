import { clusterRef } from "@dispatch/cluster";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { Counter, defineExtension, Gauge } from "@dispatch/kernel";
import { memoryTelemetryRef } from "@dispatch/mem-telemetry";
import { concurrencyManagerRef } from "@dispatch/provider-concurrency";
import { providersRef } from "@dispatch/providers";
import { orchestratorConfigSchema } from "./config.ts";
import { modelCallGatesPoint } from "./model-call-gate.ts";
import { createModelRunner } from "./model-runner.ts";
import { runScopesPoint } from "./run-scope.ts";
import { toolGatesPoint } from "./tool-gate.ts";
import { TurnOrchestrator } from "./turn-orchestrator.ts";
import { toolsPoint, turnRunnersPoint } from "./turn-runner.ts";
import { type MemorySample, orchestratorRef } from "./types.ts";

/** The Prometheus metrics this extension registers. */
const metricNames = { finished: "dispatch_turns_finished_total", active: "dispatch_active_turns" } as const;

/** The process's own reading, when the mem-telemetry extension is absent. */
function processMemory(): MemorySample {
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed };
}

/**
 * The turn engine as an extension. Critical: without it the host cannot do its job. It offers three
 * extension points, runners, tools, run scopes (where a conversation's turns run, such as a git
 * worktree) and model call gates; its own `model` runner comes in through the first like any other.
 * It depends on `provider-concurrency` (for runners that hold a slot themselves) so that the
 * slot manager outlives every turn at shutdown.
 */
export const sessionOrchestratorExtension = defineExtension({
  manifest: {
    id: "session-orchestrator",
    version: "0.1.0",
    dependsOn: ["conversation-store", "providers", "provider-concurrency"],
    optionalDependsOn: ["mem-telemetry", "cluster"],
    critical: true,
  },
  provides: [orchestratorRef],
  extensionPoints: [turnRunnersPoint, toolsPoint, runScopesPoint, modelCallGatesPoint, toolGatesPoint],
  consumes: [conversationStoreRef, providersRef, concurrencyManagerRef, memoryTelemetryRef, clusterRef],
  config: { key: "defaults", schema: orchestratorConfigSchema },
  register(reg) {
    reg.contribute(turnRunnersPoint, createModelRunner(reg.config));
  },
  async activate(ctx) {
    const store = ctx.use(conversationStoreRef);
    const providers = ctx.use(providersRef);
    const memory = ctx.useOptional(memoryTelemetryRef);
    const finished = new Counter({
      name: metricNames.finished,
      help: "Turns that reached a final status, by status",
      labelNames: ["status"] as const,
      registers: [ctx.metrics],
    });
    const orchestrator = new TurnOrchestrator({
      store,
      providers,
      runners: () => ctx.contributions(turnRunnersPoint).map((c) => c.value),
      gates: () => ctx.contributions(modelCallGatesPoint).map((c) => c.value),
      scopes: () => ctx.contributions(runScopesPoint).map((c) => c.value),
      // Read once: a tool gate stays even if its contributor fails later, and then refuses (fail closed).
      toolGates: ctx.contributions(toolGatesPoint).map((c) => c.value),
      slots: ctx.use(concurrencyManagerRef),
      bus: ctx.bus,
      logger: ctx.logger,
      config: ctx.config,
      sampleMemory: memory === undefined ? processMemory : () => memory.sample(),
      admitTurn: memory === undefined ? undefined : () => memory.admitTurn(),
      onFault: (kind, error) => ctx.reportFault(kind, error),
      onTurnFinished: (status) => finished.inc({ status }),
    });
    // Registered for its collect() only; the registry keeps it.
    new Gauge({
      name: metricNames.active,
      help: "Conversations with an active turn",
      registers: [ctx.metrics],
      collect() {
        this.set(orchestrator.getActiveConversationCount());
      },
    });
    ctx.onDispose(() => {
      ctx.metrics.removeSingleMetric(metricNames.finished);
      ctx.metrics.removeSingleMetric(metricNames.active);
    });
    for (const event of ["workspace.updated", "workspace.starred", "workspace.unstarred"] as const) {
      ctx.bus.subscribe(event, ({ workspace }) => orchestrator.forgetWorkspace(workspace.id));
    }
    ctx.bus.subscribe("workspace.deleted", ({ id }) => orchestrator.forgetWorkspace(id));
    const contributedTools = () => ctx.contributions(toolsPoint);
    const removers = new Map(contributedTools().map((c) => [c.value, orchestrator.tools.register(c.value)]));
    ctx.onDispose(() => {
      for (const remove of removers.values()) remove();
    });
    // a contributor that failed to activate since takes its tools with it
    ctx.onReady(() => {
      const live = new Set(contributedTools().map((c) => c.value));
      for (const [tool, remove] of removers) if (!live.has(tool)) remove();
    });
    const cluster = ctx.useOptional(clusterRef);
    if (cluster?.enabled) {
      // Several hosts share the store: only a dead host's turns are recovered, by a survivor
      // (this one too, at start-up, for hosts that died recently: the cluster says which).
      ctx.bus.subscribe("cluster.instance_lost", async ({ instanceId }) => {
        const recovered = await orchestrator.recoverInstance(instanceId);
        if (recovered > 0)
          ctx.logger.warn("turns of a host that stopped are now interrupted", { instanceId, recovered });
      });
      ctx.bus.subscribe("cluster.fenced", () => orchestrator.cancelAll(ctx.config.shutdownDeadlineMs));
    } else {
      const recovered = await orchestrator.recoverUnfinished();
      if (recovered > 0)
        ctx.logger.warn("turns left unfinished by the last run are now interrupted", { recovered });
    }
    // follow-ups queued before a restart run once everything is up
    ctx.onReady(async () => {
      for (const id of await store.followups.conversationsWithQueued()) await orchestrator.drainFollowups(id);
    });
    ctx.onDispose(async () => {
      // Usually done already: the HTTP transport starts its shutdown with it.
      await orchestrator.interruptAll();
      orchestrator.dispose();
    });
    ctx.setHealth(() => ({
      activeTurns: orchestrator.getActiveConversationCount(),
      subscriptions: orchestrator.stats.subscriptions,
    }));
    ctx.provide(orchestratorRef, orchestrator);
  },
});
